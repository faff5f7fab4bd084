import type { Command } from 'commander';
import { exit, formatBytes, jsonText, plural, printable } from '../../exporters';
import { ProgressLine, withCancelOnSignals } from './common';

/** Exit code of `run` when a part failed, and of `status` when the plan is not ready. */
const EXIT_NOT_ALL_VERIFIED = 2;

/** `exit-plan plan init`, `exit-plan run`, `exit-plan status`: a thin layer over src/exporters/exit. */
export function addExitCommands(program: Command): void {
  const plan = program.command('plan').description('The exit plan file (exit-plan.toml): what an exit run takes out.');
  plan
    .command('init')
    .description('Write a commented exit plan with one part of every kind, never over an existing file.')
    .argument('[file]', 'the plan file', exit.DEFAULT_PLAN_FILE)
    .action(async (file: string) => {
      const written = await exit.initPlan(file);
      process.stdout.write(`${printable(`${written}: written. Edit its parts, then run "exit-plan run ${file}".`)}\n`);
    });

  program
    .command('run')
    .description(
      'Run the exit plan: every part into one dated folder under out, verified, with EXIT-REPORT.md and exit-manifest.json; ' +
        'an unfinished run is continued. Exit 2 if a part failed, 130 when cancelled.',
    )
    .argument('[file]', 'the plan file', exit.DEFAULT_PLAN_FILE)
    .option('--new', 'start a new run even when the newest run is unfinished')
    .option('--only <names>', 'run only these parts (comma-separated names)')
    .option('--json', 'print the result as JSON')
    .option('--quiet', 'no progress on stderr')
    .action(async (file: string, opts: { new?: boolean; only?: string; json?: boolean; quiet?: boolean }) => {
      const parsed = await exit.readPlan(file);
      const printer = new ProgressLine(!opts.quiet);
      let result: exit.ExitRunResult;
      try {
        result = await withCancelOnSignals((signal) =>
          exit.runExitPlan(parsed, {
            signal,
            resolvers: exit.envResolvers(),
            fresh: opts.new,
            only: opts.only?.split(','),
            onProgress: (p) => printer.line(`${p.phase}:${p.partIndex}`, exit.describeExitProgress(p)),
          }),
        );
      } finally {
        printer.end();
      }
      const shown = result.parts.filter((p) => p.status !== 'skipped');
      if (opts.json) {
        process.stdout.write(
          `${jsonText({
            folder: result.folder,
            complete: result.complete,
            parts: shown.map((p) => ({
              name: p.name,
              kind: p.kind,
              status: p.status,
              files: p.files,
              bytes: p.bytes,
              ...(p.error !== undefined ? { error: p.error } : {}),
            })),
          })}\n`,
        );
      } else {
        for (const p of shown) {
          if (p.status === 'verified') {
            const how = p.kept ? 'verified earlier in this run' : 'verified';
            process.stdout.write(`${printable(`${p.name} (${p.kind}): ${how}, ${plural(p.files, 'file')}, ${formatBytes(p.bytes)}`)}\n`);
          } else {
            process.stderr.write(`${printable(`${p.name} (${p.kind}): failed: ${p.error ?? ''}`)}\n`);
          }
        }
        const state = result.complete
          ? `complete, ${exit.RUN_FILES.report} written`
          : 'unfinished (parts not run yet): run the plan again to continue it';
        process.stdout.write(`${printable(`${result.folder}: ${state}.`)}\n`);
        for (const removed of result.removedRuns) process.stdout.write(`${printable(`Removed the old run ${removed} (keep).`)}\n`);
      }
      if (!result.ok) process.exitCode = EXIT_NOT_ALL_VERIFIED;
    });

  program
    .command('status')
    .description(
      'Per part of the plan, its newest verified copy and its age. Exit 0 when every part has one younger than max_age, 2 otherwise.',
    )
    .argument('[file]', 'the plan file', exit.DEFAULT_PLAN_FILE)
    .option('--json', 'print the status as JSON')
    .action(async (file: string, opts: { json?: boolean }) => {
      const parsed = await exit.readPlan(file);
      const status = await exit.exitStatus(parsed);
      if (opts.json) {
        process.stdout.write(
          `${jsonText({
            ready: status.ready,
            parts: status.parts.map((p) => ({ name: p.name, kind: p.kind, lastVerified: p.lastVerified ?? null, bytes: p.bytes ?? null })),
          })}\n`,
        );
      } else {
        for (const p of status.parts) process.stdout.write(`${printable(exit.describePartStatus(p, parsed.maxAge))}\n`);
        process.stdout.write(
          status.ready
            ? 'Ready: every part has a verified copy' + (parsed.maxAge ? ` younger than ${parsed.maxAge.text}.\n` : '.\n')
            : 'Not ready: a part has no verified copy' + (parsed.maxAge ? ` younger than ${parsed.maxAge.text}.\n` : '.\n'),
        );
      }
      if (!status.ready) process.exitCode = EXIT_NOT_ALL_VERIFIED;
    });
}
