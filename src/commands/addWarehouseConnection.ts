import * as vscode from 'vscode';
import { CancelledError, SSL_MODES, connect, describeConnection, errorMessage, throwIfAborted, type SslMode } from '../exporters';
import type { WarehouseProfile } from '../services/connectionStore';
import type { CommandContext } from './context';
import { runOperation } from './runOperation';

const TITLE = 'Add Warehouse Connection';
const STEPS = 7;

const SSL_DESCRIPTIONS: Record<SslMode, string> = {
  disable: 'Never use TLS',
  allow: 'Use TLS when the server offers it',
  prefer: 'Use TLS when the server offers it (default)',
  require: 'Always use TLS; the certificate is not checked',
  'verify-ca': 'Always use TLS; the certificate must come from a trusted CA',
  'verify-full': 'Always use TLS; the certificate must also match the host name',
};

function ask(step: number, options: vscode.InputBoxOptions): Thenable<string | undefined> {
  return vscode.window.showInputBox({ title: `${TITLE} (${step}/${STEPS})`, ignoreFocusOut: true, ...options });
}

const required = (what: string) => (value: string) => (value.trim() === '' ? `Enter ${what}.` : undefined);

function parsePort(value: string): number | undefined {
  const port = Number(value.trim());
  return /^\d+$/.test(value.trim()) && port >= 1 && port <= 65535 ? port : undefined;
}

/** Asks for a connection step by step, tests it, and saves the profile (settings) and password (SecretStorage). */
export async function addWarehouseConnection(ctx: CommandContext): Promise<void> {
  const taken = new Set(ctx.connections.list().map((p) => p.name));
  const name = await ask(1, {
    prompt: 'A name for this connection, shown in the Warehouse view',
    placeHolder: 'analytics',
    validateInput: (v) => required('a name')(v) ?? (taken.has(v.trim()) ? `There is already a connection named "${v.trim()}".` : undefined),
  });
  if (name === undefined) return;
  const host = await ask(2, {
    prompt: 'Host name or IP address of the PostgreSQL server',
    value: 'localhost',
    validateInput: required('a host'),
  });
  if (host === undefined) return;
  const port = await ask(3, {
    prompt: 'Port',
    value: '5432',
    validateInput: (v) => (parsePort(v) ? undefined : 'Enter a port number from 1 to 65535.'),
  });
  if (port === undefined) return;
  const database = await ask(4, { prompt: 'Database name', placeHolder: 'warehouse', validateInput: required('a database name') });
  if (database === undefined) return;
  const user = await ask(5, { prompt: 'User name', placeHolder: 'postgres', validateInput: required('a user name') });
  if (user === undefined) return;
  const sslmode = await vscode.window.showQuickPick(
    // `prefer` first, so Enter takes the default.
    ['prefer', ...SSL_MODES.filter((m) => m !== 'prefer')].map((mode) => ({ label: mode, description: SSL_DESCRIPTIONS[mode as SslMode] })),
    { title: `${TITLE} (6/${STEPS})`, placeHolder: 'TLS (sslmode)', ignoreFocusOut: true },
  );
  if (sslmode === undefined) return;
  const password = await ask(7, {
    prompt: `Password for ${user.trim()}: kept in VS Code's secret storage, never in settings. Leave empty if the server asks for none.`,
    password: true,
  });
  if (password === undefined) return;

  const profile: WarehouseProfile = {
    name: name.trim(),
    host: host.trim(),
    port: parsePort(port)!,
    database: database.trim(),
    user: user.trim(),
    sslmode: sslmode.label as SslMode,
  };
  const connected = await testConnection(ctx, profile, password || undefined);
  if (connected === undefined) return;
  await ctx.connections.add(profile, password || undefined);
  ctx.log.info(`Saved warehouse connection "${profile.name}" (${describeConnection(profile)})`);
  if (connected)
    void vscode.window.showInformationMessage(`Connected to ${describeConnection(profile)} and saved it as "${profile.name}".`);
}

/** True when the connection works; false to save anyway; undefined when the user gives up. */
async function testConnection(ctx: CommandContext, profile: WarehouseProfile, password: string | undefined): Promise<boolean | undefined> {
  const target = describeConnection(profile);
  try {
    await runOperation(ctx, `connecting to ${target}…`, async (op) => {
      const client = await connect({ ...profile, password });
      await client.end();
      throwIfAborted(op.signal, 'Test connection cancelled; nothing was saved.');
    });
    return true;
  } catch (err) {
    if (err instanceof CancelledError) throw err;
    ctx.log.warn(`Test connection to ${target} failed: ${errorMessage(err)}`);
    const save = 'Save Anyway';
    const choice = await vscode.window.showWarningMessage(
      `Cannot connect to ${target}.`,
      { modal: true, detail: `${errorMessage(err)}\n\nSave the connection anyway?` },
      save,
    );
    return choice === save ? false : undefined;
  }
}
