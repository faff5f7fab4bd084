// `npm run test:electron`: the same integration suite under VS Code desktop, for machines that can download
// it (this project's cannot: there, use `npm run test:vscode`). Mocha prints to VS Code's console output.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runTests } from '@vscode/test-electron';

const ROOT = path.resolve(__dirname, '../../..');

async function main(): Promise<void> {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'exit-plan-electron-'));
  const workspace = path.join(base, 'workspace');
  // A user data dir of its own, named to the suite, which checks that no secret lands in its files.
  const userData = path.join(base, 'user-data');
  fs.mkdirSync(workspace);
  fs.mkdirSync(userData);
  try {
    await runTests({
      extensionDevelopmentPath: ROOT,
      extensionTestsPath: path.join(__dirname, 'index.js'),
      extensionTestsEnv: { EXIT_PLAN_VSCODE_USER_DATA: userData },
      launchArgs: [workspace, '--user-data-dir', userData, '--disable-extensions', '--disable-workspace-trust'],
    });
  } finally {
    fs.rmSync(base, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    const message = err instanceof Error ? err.message : String(err);
    const offline = /ENOTFOUND|ECONNREFUSED|EAI_AGAIN|ETIMEDOUT/.test(message);
    process.stderr.write(
      offline
        ? `VS Code desktop could not be downloaded (${message}); on a machine without that access run \`npm run test:vscode\` ` +
            `(code-server) instead.\n`
        : `The integration suite failed under VS Code desktop: ${message}\n`,
    );
    process.exit(1);
  },
);
