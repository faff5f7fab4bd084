// `exit-plan datasets …` as it runs: a thin layer over src/exporters/datasets. The commands, flags and help are in ../datasets.ts.
import * as path from 'node:path';
import { ExitPlanError } from '../../exporters/shared/errors';
import { jsonText, printable } from '../../exporters/shared/format';
import * as datasets from '../../exporters/datasets';
import { withCancelOnSignals } from './common';

/** Exit code of `process` and `export` when a dataset failed (as export_manager's `process`). */
const EXIT_DATASET_FAILED = 2;

/** Ends the command with `code`; `main` in src/cli.ts returns it when the command did not throw. */
function exitWith(code: number): void {
  process.exitCode = code;
}

/** Progress lines on stderr, only on a terminal (cron mail gets results and failures, not chatter). */
function progressPrinter(): (p: datasets.DatasetProgress) => void {
  if (!process.stderr.isTTY) return () => undefined;
  return (p) => {
    if (p.phase !== 'done') process.stderr.write(`${printable(datasets.describeDatasetProgress(p))}…\n`);
  };
}

/** One line per dataset: results on stdout, failures on stderr. */
function printResult(r: datasets.DatasetRunResult): void {
  const line = `${printable(`${r.name}: ${r.message}`)}\n`;
  if (r.ok) process.stdout.write(line);
  else process.stderr.write(line);
  for (const w of r.warnings) process.stderr.write(`${printable(`${r.name}: warning: ${w}`)}\n`);
}

/** `datasets init DIR [--git]` */
export async function init(dir: string, opts: { git?: boolean }): Promise<void> {
  const result = await datasets.initDataset(dir, { git: opts.git });
  const names = result.created.filter((f) => f !== result.dir).map((f) => path.relative(result.dir, f) + (path.extname(f) ? '' : '/'));
  const made = names.length > 0 ? `made ${names.join(', ')}` : 'everything was there already';
  process.stdout.write(
    `${printable(
      `${result.dir}: ${made}${result.committed ? ', committed' : ''}. ` +
        `Edit ${datasets.datasetPaths(result.dir).config} to set cmd and interval.`,
    )}\n`,
  );
}

/** `datasets process DIRS…` */
export async function processAll(dirs: string[]): Promise<void> {
  const { datasets: found, problems } = await datasets.findDatasets(dirs);
  for (const p of problems) process.stderr.write(`${printable(p.message)}\n`);
  const results = await withCancelOnSignals((signal) => datasets.processDatasets(found, { signal, onProgress: progressPrinter() }));
  results.forEach(printResult);
  if (problems.length > 0 || results.some((r) => !r.ok)) exitWith(EXIT_DATASET_FAILED);
}

/** `datasets export DIR` */
export async function exportNow(dir: string): Promise<void> {
  const result = await withCancelOnSignals((signal) => datasets.exportDataset(dir, { signal, onProgress: progressPrinter() }));
  if (result.outcome === 'busy') throw new ExitPlanError(`${result.name} is ${result.message.replace(/^skipped: /, 'busy: ')}`);
  printResult(result);
  if (!result.ok) exitWith(EXIT_DATASET_FAILED);
}

/** `datasets report DIRS… [--json] [--shrink-alert SHARE]` */
export async function report(dirs: string[], opts: { json?: boolean; shrinkAlert?: number }): Promise<void> {
  const { datasets: found, problems } = await datasets.findDatasets(dirs);
  for (const p of problems) process.stderr.write(`${printable(p.message)}\n`);
  const built = await datasets.buildReport(found, { shrinkAlert: opts.shrinkAlert });
  process.stdout.write(opts.json ? `${jsonText({ ...built, problems: problems.map((p) => p.message) })}\n` : datasets.formatReport(built));
  if (problems.length > 0) exitWith(1);
}
