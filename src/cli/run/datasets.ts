import * as path from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
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

function shareOption(value: string): number {
  const share = datasets.parseShare(value);
  if (share === undefined) throw new InvalidArgumentError('expected a share from 0 to 1 (e.g. 0.2) or a percentage (e.g. 20%).');
  return share;
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

/** `exit-plan datasets …`: a thin layer over src/exporters/datasets. */
export function addDatasetsCommands(program: Command): void {
  const cmd = program
    .command('datasets')
    .description('Scheduled exports in export_manager folders (config.toml, metrics.csv, data/, incomplete/, log/).');

  cmd
    .command('init')
    .description('Make a dataset folder with a commented config.toml (nothing that exists is overwritten).')
    .argument('<dir>', 'the dataset folder (created if missing)')
    .option('--git', 'also make it a git repository; parcels and metrics.csv are then committed after each change')
    .action(async (dir: string, opts: { git?: boolean }) => {
      const result = await datasets.initDataset(dir, { git: opts.git });
      const names = result.created.filter((f) => f !== result.dir).map((f) => path.relative(result.dir, f) + (path.extname(f) ? '' : '/'));
      const made = names.length > 0 ? `made ${names.join(', ')}` : 'everything was there already';
      process.stdout.write(
        `${printable(
          `${result.dir}: ${made}${result.committed ? ', committed' : ''}. ` +
            `Edit ${datasets.datasetPaths(result.dir).config} to set cmd and interval.`,
        )}\n`,
      );
    });

  cmd
    .command('process')
    .description(
      'For each dataset: ingest, export if due, record metrics, commit (git = true), remove old parcels (keep). Exit 2 if any failed.',
    )
    .argument('<dirs...>', 'datasets, or folders that hold datasets')
    .action(async (dirs: string[]) => {
      const { datasets: found, problems } = await datasets.findDatasets(dirs);
      for (const p of problems) process.stderr.write(`${printable(p.message)}\n`);
      const results = await withCancelOnSignals((signal) => datasets.processDatasets(found, { signal, onProgress: progressPrinter() }));
      results.forEach(printResult);
      if (problems.length > 0 || results.some((r) => !r.ok)) exitWith(EXIT_DATASET_FAILED);
    });

  cmd
    .command('export')
    .description('Export one dataset now, whatever its schedule (then metrics, git and clean as process does). Exit 2 if it failed.')
    .argument('<dir>', 'the dataset folder')
    .action(async (dir: string) => {
      const result = await withCancelOnSignals((signal) => datasets.exportDataset(dir, { signal, onProgress: progressPrinter() }));
      if (result.outcome === 'busy') throw new ExitPlanError(`${result.name} is ${result.message.replace(/^skipped: /, 'busy: ')}`);
      printResult(result);
      if (!result.ok) exitWith(EXIT_DATASET_FAILED);
    });

  cmd
    .command('report')
    .description(
      'Warnings (no complete parcel, overdue, failing, gone, metrics missing, shrank), newest successes, ' +
        'metrics now and 7 and 180 days before.',
    )
    .argument('<dirs...>', 'datasets, or folders that hold datasets')
    .option('--json', 'print the report as JSON')
    .option(
      '--shrink-alert <share>',
      'alert when bytes, files or a metric drops by more than this share against the previous success, ' +
        `for datasets without shrink_alert in config.toml (default ${datasets.DEFAULT_SHRINK_ALERT}; 1 turns it off)`,
      shareOption,
    )
    .action(async (dirs: string[], opts: { json?: boolean; shrinkAlert?: number }) => {
      const { datasets: found, problems } = await datasets.findDatasets(dirs);
      for (const p of problems) process.stderr.write(`${printable(p.message)}\n`);
      const report = await datasets.buildReport(found, { shrinkAlert: opts.shrinkAlert });
      process.stdout.write(
        opts.json ? `${jsonText({ ...report, problems: problems.map((p) => p.message) })}\n` : datasets.formatReport(report),
      );
      if (problems.length > 0) exitWith(1);
    });
}
