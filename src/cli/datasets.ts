// `exit-plan datasets …`: scheduled exports in export_manager folders. The commands, flags and help; what they do is
// in run/datasets.ts, loaded when one of them runs.
import { InvalidArgumentError, type Command } from 'commander';
import { DEFAULT_SHRINK_ALERT, parseShare } from '../exporters/datasets/config';

const run = () => import('./run/datasets.js');

function shareOption(value: string): number {
  const share = parseShare(value);
  if (share === undefined) throw new InvalidArgumentError('expected a share from 0 to 1 (e.g. 0.2) or a percentage (e.g. 20%).');
  return share;
}

export function addDatasetsCommands(program: Command): void {
  const cmd = program
    .command('datasets')
    .description('Scheduled exports in export_manager folders (config.toml, metrics.csv, data/, incomplete/, log/).');

  cmd
    .command('init')
    .description('Make a dataset folder with a commented config.toml (nothing that exists is overwritten).')
    .argument('<dir>', 'the dataset folder (created if missing)')
    .option('--git', 'also make it a git repository; parcels and metrics.csv are then committed after each change')
    .action(async (dir: string, opts: { git?: boolean }) => (await run()).init(dir, opts));

  cmd
    .command('process')
    .description(
      'For each dataset: ingest, export if due, record metrics, commit (git = true), remove old parcels (keep). Exit 2 if any failed.',
    )
    .argument('<dirs...>', 'datasets, or folders that hold datasets')
    .action(async (dirs: string[]) => (await run()).processAll(dirs));

  cmd
    .command('export')
    .description('Export one dataset now, whatever its schedule (then metrics, git and clean as process does). Exit 2 if it failed.')
    .argument('<dir>', 'the dataset folder')
    .action(async (dir: string) => (await run()).exportNow(dir));

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
        `for datasets without shrink_alert in config.toml (default ${DEFAULT_SHRINK_ALERT}; 1 turns it off)`,
      shareOption,
    )
    .action(async (dirs: string[], opts: { json?: boolean; shrinkAlert?: number }) => (await run()).report(dirs, opts));
}
