// `npm run test:vscode`: the integration suite inside the real extension host of code-server (VS Code
// 1.100.3), opened in headless Chromium. Exits with the suite's result and prints mocha's report.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { launchChromium } from '../../scripts/vscode/chromium';
import { CODE_SERVER_VERSION, startCodeServer } from '../../scripts/vscode/codeServer';
import type { SuiteResult } from './index';

const ROOT = path.resolve(__dirname, '../../..');
const TIMEOUT_MS = Number(process.env.EXIT_PLAN_VSCODE_TIMEOUT_MS ?? 30 * 60_000);

async function main(): Promise<number> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'exit-plan-vscode-'));
  const workspace = path.join(work, 'workspace');
  fs.mkdirSync(workspace);
  const outputFile = path.join(work, 'mocha.txt');
  const resultFile = path.join(work, 'result.json');
  fs.writeFileSync(outputFile, '');
  const server = await startCodeServer({
    folder: workspace,
    env: { EXIT_PLAN_VSCODE_OUTPUT: outputFile, EXIT_PLAN_VSCODE_RESULT: resultFile },
  });
  const browser = await launchChromium();
  let printed = 0;
  const flush = () => {
    const text = fs.readFileSync(outputFile, 'utf8');
    if (text.length > printed) process.stdout.write(text.slice(printed));
    printed = text.length;
  };
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const pageErrors: string[] = [];
    page.on('pageerror', (err) => pageErrors.push(err.message));
    process.stdout.write(`Running the integration suite in code-server ${CODE_SERVER_VERSION} on ${server.origin}\n`);
    await page.goto(server.url({ extensionDevelopmentPath: ROOT, extensionTestsPath: path.join(__dirname, 'index.js') }));
    const deadline = Date.now() + TIMEOUT_MS;
    while (!fs.existsSync(resultFile)) {
      flush();
      if (server.exited()) throw new Error(`code-server stopped before the suite finished:\n${server.output().slice(-4000)}`);
      if (Date.now() > deadline) {
        fs.mkdirSync(path.join(ROOT, 'test-results'), { recursive: true });
        await page.screenshot({ path: path.join(ROOT, 'test-results', 'vscode-timeout.png') });
        throw new Error(
          `The suite did not finish within ${TIMEOUT_MS / 60_000} minutes (screenshot: test-results/vscode-timeout.png). code-server ` +
            `said:\n${server.output().slice(-4000)}`,
        );
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    flush();
    const result = JSON.parse(fs.readFileSync(resultFile, 'utf8')) as SuiteResult;
    if (result.passes + result.failures === 0) {
      process.stdout.write(`No test ran. Page errors: ${pageErrors.join('\n') || 'none'}\n`);
      return 1;
    }
    return result.failures > 0 ? 1 : 0;
  } finally {
    await browser.close().catch(() => undefined);
    await server.stop();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
