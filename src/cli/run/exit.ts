// `exit-plan plan init`, `exit-plan run`, `exit-plan status` as they run: a thin layer over src/exporters/exit.
// The commands, flags and help are in ../exit.ts. `run` imports the runners of every kind of part (PostgreSQL,
// Azure, backups, datasets) when it runs; `plan init` and `status` read the plan and the runs' records only.
import { initPlan as writePlanTemplate, readPlan } from '../../exporters/exit/plan';
import { describePartStatus, exitStatus } from '../../exporters/exit/status';
import { RUN_FILES, type ExitRunResult } from '../../exporters/exit/types';
import { formatBytes, jsonText, plural, printable } from '../../exporters/shared/format';
import { ProgressLine, withCancelOnSignals } from './common';

/** Exit code of `run` when a part failed, and of `status` when the plan is not ready. */
const EXIT_NOT_ALL_VERIFIED = 2;

/** `plan init [FILE]` */
export async function initPlan(file: string): Promise<void> {
  const written = await writePlanTemplate(file);
  process.stdout.write(`${printable(`${written}: written. Edit its parts, then run "exit-plan run ${file}".`)}\n`);
}

/** `run [FILE]` */
export async function runPlan(file: string, opts: { new?: boolean; only?: string; json?: boolean; quiet?: boolean }): Promise<void> {
  const parsed = await readPlan(file);
  const { describeExitProgress, runExitPlan } = await import('../../exporters/exit/run.js');
  const { envResolvers } = await import('../../exporters/exit/resolvers.js');
  const printer = new ProgressLine(!opts.quiet);
  let result: ExitRunResult;
  try {
    result = await withCancelOnSignals((signal) =>
      runExitPlan(parsed, {
        signal,
        resolvers: envResolvers(),
        fresh: opts.new,
        only: opts.only?.split(','),
        onProgress: (p) => printer.line(`${p.phase}:${p.partIndex}`, describeExitProgress(p)),
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
      ? `complete, ${RUN_FILES.report} written`
      : 'unfinished (parts not run yet): run the plan again to continue it';
    process.stdout.write(`${printable(`${result.folder}: ${state}.`)}\n`);
    for (const removed of result.removedRuns) process.stdout.write(`${printable(`Removed the old run ${removed} (keep).`)}\n`);
  }
  if (!result.ok) process.exitCode = EXIT_NOT_ALL_VERIFIED;
}

/** `status [FILE]` */
export async function status(file: string, opts: { json?: boolean }): Promise<void> {
  const parsed = await readPlan(file);
  const status = await exitStatus(parsed);
  if (opts.json) {
    process.stdout.write(
      `${jsonText({
        ready: status.ready,
        parts: status.parts.map((p) => ({ name: p.name, kind: p.kind, lastVerified: p.lastVerified ?? null, bytes: p.bytes ?? null })),
      })}\n`,
    );
  } else {
    for (const p of status.parts) process.stdout.write(`${printable(describePartStatus(p, parsed.maxAge))}\n`);
    process.stdout.write(
      status.ready
        ? 'Ready: every part has a verified copy' + (parsed.maxAge ? ` younger than ${parsed.maxAge.text}.\n` : '.\n')
        : 'Not ready: a part has no verified copy' + (parsed.maxAge ? ` younger than ${parsed.maxAge.text}.\n` : '.\n'),
    );
  }
  if (!status.ready) process.exitCode = EXIT_NOT_ALL_VERIFIED;
}
