// `npm run test:electron`: the same integration suite under VS Code desktop, for machines that can download
// it (this project's cannot: there, use `npm run test:vscode`).
import * as path from 'node:path';
import { runTests } from '@vscode/test-electron';

const ROOT = path.resolve(__dirname, '../../..');

runTests({
  extensionDevelopmentPath: ROOT,
  extensionTestsPath: path.join(__dirname, 'index.js'),
  launchArgs: ['--disable-extensions', '--disable-workspace-trust'],
}).then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`The integration suite failed under VS Code desktop: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
