// `exit-plan plan init`, `exit-plan run`, `exit-plan status`: exit plans and runs. The commands, flags and help; what
// they do is in run/exit.ts, loaded when one of them runs.
import type { Command } from 'commander';
import { DEFAULT_PLAN_FILE } from '../exporters/exit/plan';

const run = () => import('./run/exit.js');

export function addExitCommands(program: Command): void {
  const plan = program.command('plan').description('The exit plan file (exit-plan.toml): what an exit run takes out.');
  plan
    .command('init')
    .description('Write a commented exit plan with one part of every kind, never over an existing file.')
    .argument('[file]', 'the plan file', DEFAULT_PLAN_FILE)
    .action(async (file: string) => (await run()).initPlan(file));

  program
    .command('run')
    .description(
      'Run the exit plan: every part into one dated folder under out, verified, with EXIT-REPORT.md and exit-manifest.json; ' +
        'an unfinished run is continued. Exit 2 if a part failed, 130 when cancelled.',
    )
    .argument('[file]', 'the plan file', DEFAULT_PLAN_FILE)
    .option('--new', 'start a new run even when the newest run is unfinished')
    .option('--only <names>', 'run only these parts (comma-separated names)')
    .option('--json', 'print the result as JSON')
    .option('--quiet', 'no progress on stderr')
    .action(async (file: string, opts: { new?: boolean; only?: string; json?: boolean; quiet?: boolean }) =>
      (await run()).runPlan(file, opts),
    );

  program
    .command('status')
    .description(
      'Per part of the plan, its newest verified copy and its age. Exit 0 when every part has one younger than max_age, 2 otherwise.',
    )
    .argument('[file]', 'the plan file', DEFAULT_PLAN_FILE)
    .option('--json', 'print the status as JSON')
    .action(async (file: string, opts: { json?: boolean }) => (await run()).status(file, opts));
}
