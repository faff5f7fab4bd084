import * as vscode from 'vscode';
import { CancelledError, SSL_MODES, connectionFromUrl, describeConnection, errorMessage, type SslMode } from '../exporters';
import type { WarehouseProfile } from '../services/connectionStore';
import type { CommandContext } from './context';
import { runOperation } from './runOperation';
import { probeConnection } from './warehouseConnection';
import { runWizard, type WizardStep } from './wizard';

const ADD_TITLE = 'Add Warehouse Connection';

export const SSL_DESCRIPTIONS: Record<SslMode, string> = {
  disable: 'Never use TLS',
  allow: 'Plain connection; TLS only if the server requires it',
  prefer: 'TLS when the server offers it, else plain (default)',
  require: 'Always use TLS; the certificate is not checked',
  'verify-ca': 'Always use TLS; the certificate must come from a trusted CA',
  'verify-full': 'Always use TLS; the certificate must also match the host name',
};

/** The answers of the Add and Edit wizards. */
export interface ConnectionAnswers {
  mode: 'add' | 'edit';
  name: string;
  host: string;
  port: string;
  user: string;
  database: string;
  sslmode: SslMode;
  /** Add only: Edit keeps the saved password (Update Warehouse Password changes it). */
  password: string;
  /** A postgres:// URL was pasted into the host box: it gave the port, user and database, whose steps are skipped. */
  fromUrl?: boolean;
}

const isUrl = (value: string) => /^postgres(ql)?:\/\//i.test(value.trim());

/** The sentence saying what is wrong with a pasted URL (never its value: it may hold the password), or undefined. */
function urlProblem(value: string): string | undefined {
  try {
    connectionFromUrl(value.trim(), {});
    return undefined;
  } catch (err) {
    return errorMessage(err);
  }
}

const required = (what: string) => (value: string) => (value.trim() === '' ? `Enter ${what}.` : undefined);

export function parsePort(value: string): number | undefined {
  const port = Number(value.trim());
  return /^\d+$/.test(value.trim()) && port >= 1 && port <= 65535 ? port : undefined;
}

/**
 * The steps of Add Warehouse Connection (7) and Edit Warehouse Connection (5: the name cannot change, since
 * backup targets and exit plans refer to it, and the password has its own command).
 */
export function connectionSteps(taken: Set<string>): WizardStep<ConnectionAnswers>[] {
  return [
    {
      kind: 'input',
      title: 'Name',
      when: (s) => s.mode === 'add',
      prompt: 'A name for this connection, shown in the Warehouse view (backup targets and exit plans refer to it)',
      placeholder: 'analytics',
      value: (s) => s.name,
      validate: (v) => required('a name')(v) ?? (taken.has(v.trim()) ? `There is already a connection named "${v.trim()}".` : undefined),
      apply: (v, s) => (s.name = v.trim()),
    },
    {
      kind: 'input',
      title: 'Host',
      prompt: (s) =>
        s.mode === 'edit'
          ? `Host name or IP address of the PostgreSQL server, or a postgres:// URL (the name "${s.name}" stays: backup targets and exit plans use it)`
          : 'Host name or IP address of the PostgreSQL server, or paste a postgres://user@host:port/database URL to fill in the rest',
      value: (s) => s.host || 'localhost',
      validate: (v) => required('a host')(v) ?? (isUrl(v) ? urlProblem(v) : undefined),
      apply: (v, s) => {
        s.fromUrl = isUrl(v);
        if (!s.fromUrl) {
          s.host = v.trim();
          return;
        }
        const url = connectionFromUrl(v.trim(), {});
        Object.assign(s, { host: url.host, port: String(url.port), user: url.user, database: url.database });
        if (url.sslmode) s.sslmode = url.sslmode;
        if (url.password !== undefined && s.mode === 'add') s.password = url.password;
      },
    },
    {
      kind: 'input',
      title: 'Port',
      when: (s) => !s.fromUrl,
      prompt: 'Port of the PostgreSQL server (5432 unless it was changed)',
      value: (s) => s.port || '5432',
      validate: (v) => (parsePort(v) ? undefined : 'Enter a port number from 1 to 65535.'),
      apply: (v, s) => (s.port = String(parsePort(v))),
    },
    {
      kind: 'input',
      title: 'User',
      when: (s) => !s.fromUrl,
      prompt: 'User name to log in as (a read-only user is enough to export)',
      placeholder: 'postgres',
      value: (s) => s.user,
      validate: required('a user name'),
      apply: (v, s) => {
        // The database defaults to the user's name, as PostgreSQL's own clients do, until one is typed.
        if (s.database === '' || s.database === s.user) s.database = v.trim();
        s.user = v.trim();
      },
    },
    {
      kind: 'input',
      title: 'Database',
      when: (s) => !s.fromUrl,
      prompt: 'Database name (PostgreSQL clients default to the user name)',
      placeholder: 'warehouse',
      value: (s) => s.database,
      validate: required('a database name'),
      apply: (v, s) => (s.database = v.trim()),
    },
    {
      kind: 'pick',
      title: 'TLS',
      placeholder: 'TLS (sslmode)',
      items: () => SSL_MODES.map((mode) => ({ id: mode, label: mode, description: SSL_DESCRIPTIONS[mode] })),
      selected: (s) => [s.sslmode],
      apply: (picked, s) => (s.sslmode = picked[0].id as SslMode),
    },
    {
      kind: 'input',
      title: 'Password',
      when: (s) => s.mode === 'add',
      prompt: (s) =>
        `Password for ${s.user}: kept in VS Code's secret storage, never in settings. Leave empty if the server asks for none.`,
      password: true,
      value: (s) => s.password,
      apply: (v, s) => (s.password = v),
    },
  ];
}

export function profileOf(s: ConnectionAnswers): WarehouseProfile {
  return { name: s.name, host: s.host, port: parsePort(s.port)!, database: s.database, user: s.user, sslmode: s.sslmode };
}

/**
 * Runs the wizard, tests the connection, and returns the profile to save with the server's version (undefined
 * when it failed and the user saves anyway), or undefined when the user left. When the test fails the modal's
 * default is Edit Connection (back into the wizard, every value kept), then Save Anyway; Cancel saves nothing.
 */
export async function connectionWizard(
  ctx: CommandContext,
  title: string,
  state: ConnectionAnswers,
  password: () => Promise<string | undefined>,
): Promise<{ profile: WarehouseProfile; serverVersion: string | undefined; error?: unknown } | undefined> {
  const taken = new Set(ctx.connections.list().map((p) => p.name));
  const steps = connectionSteps(taken);
  for (;;) {
    const answers = await runWizard(title, steps, state);
    if (!answers) return undefined;
    const profile = profileOf(answers);
    const target = describeConnection(profile);
    try {
      const serverVersion = await runOperation(ctx, `connecting to ${target}…`, async (op) =>
        probeConnection({ ...profile, password: (await password()) || undefined }, op.signal),
      );
      return { profile, serverVersion };
    } catch (err) {
      if (err instanceof CancelledError || err instanceof vscode.CancellationError) throw err;
      ctx.log.warn(`Test connection to ${target} failed: ${errorMessage(err)}`);
      const edit = 'Edit Connection';
      const save = 'Save Anyway';
      const choice = await vscode.window.showWarningMessage(
        `Cannot connect to ${target}.`,
        { modal: true, detail: `${errorMessage(err)}\n\nEdit the connection, or save it as it is?` },
        edit,
        save,
      );
      if (choice === save) return { profile, serverVersion: undefined, error: err };
      if (choice !== edit) return undefined;
    }
  }
}

/** Asks for a connection step by step (Back keeps values), tests it, and saves the profile (settings) and password (SecretStorage). */
export async function addWarehouseConnection(ctx: CommandContext): Promise<void> {
  const state: ConnectionAnswers = { mode: 'add', name: '', host: '', port: '', user: '', database: '', sslmode: 'prefer', password: '' };
  const result = await connectionWizard(ctx, ADD_TITLE, state, async () => state.password);
  if (!result) return;
  const { profile, serverVersion, error } = result;
  await ctx.connections.add(profile, state.password || undefined);
  ctx.log.info(`Saved warehouse connection "${profile.name}" (${describeConnection(profile)})`);
  if (error !== undefined) ctx.warehouseTree.noteFailed(profile, error);
  await ctx.warehouseTree.reveal(profile, serverVersion);
  if (serverVersion !== undefined)
    void vscode.window.showInformationMessage(`Connected to ${describeConnection(profile)} and saved it as "${profile.name}".`);
}
