// The integration suite's entry inside the real extension host (code-server's `payload`, or
// @vscode/test-electron's extensionTestsPath): runs mocha over suite/*.test.js with the real `vscode` API.
// The outer runner reads the reporter's lines from EXIT_PLAN_VSCODE_OUTPUT as they come and the
// result from EXIT_PLAN_VSCODE_RESULT; without them (test-electron) mocha prints to the console.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { format } from 'node:util';
import Mocha from 'mocha';
import { stopAzurite } from '../helpers/azure';
import { stopPostgres } from '../helpers/postgres';

export interface SuiteResult {
  passes: number;
  failures: number;
  pending: number;
  failed: string[];
}

export async function run(): Promise<void> {
  const outputFile = process.env.EXIT_PLAN_VSCODE_OUTPUT;
  const resultFile = process.env.EXIT_PLAN_VSCODE_RESULT;
  if (outputFile) {
    Mocha.reporters.Base.consoleLog = (...args: unknown[]) => fs.appendFileSync(outputFile, `${format(...args)}\n`);
  }
  const mocha = new Mocha({ ui: 'bdd', reporter: 'spec', color: false, timeout: 120_000, slow: 5_000 });
  const dir = path.join(__dirname, 'suite');
  const grep = process.env.EXIT_PLAN_VSCODE_GREP;
  if (grep) mocha.grep(grep);
  for (const file of fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.test.js'))
    .sort())
    mocha.addFile(path.join(dir, file));

  const result: SuiteResult = { passes: 0, failures: 0, pending: 0, failed: [] };
  try {
    await new Promise<void>((resolve) => {
      const runner = mocha.run(() => resolve());
      runner.on('fail', (test) => result.failed.push(test.fullTitle()));
      runner.on('end', () => {
        result.passes = runner.stats?.passes ?? 0;
        result.failures = runner.stats?.failures ?? 0;
        result.pending = runner.stats?.pending ?? 0;
      });
    });
  } catch (err) {
    result.failures += 1;
    result.failed.push(`loading the suite: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  } finally {
    await Promise.allSettled([stopPostgres(), stopAzurite()]);
  }
  if (resultFile) fs.writeFileSync(resultFile, JSON.stringify(result, null, 2));
  if (result.failures > 0) throw new Error(`${result.failures} integration test(s) failed: ${result.failed.join('; ')}`);
}
