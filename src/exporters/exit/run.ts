// An exit run: every part of the plan, one after another, into one dated folder under `out`; resumed when the
// newest folder is unfinished; the report and the manifest when every part has been run; then `keep`.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CancelledError, ExitPlanError, errorMessage, isCancelled, throwIfAborted } from '../shared/errors';
import { localTime, utcStamp } from '../shared/format';
import { withLock } from '../shared/lock';
import { maskSecrets } from '../shared/mask';
import type { OperationOptions } from '../shared/operation';
import { runPart } from './parts';
import { buildManifest, maskDeep, reportText, type FailedPartRecord } from './report';
import { writeFileAtomic } from '../shared/partialFile';
import { listRuns, readPartRecord } from './runs';
import {
  RUN_FILES,
  type ExitPlan,
  type ExitRunResult,
  type PartKind,
  type PartProgress,
  type PartRecord,
  type PartResolvers,
  type RunPartResult,
} from './types';

/** The lock file of the runs under `out`: one run at a time. */
export const RUN_LOCK_FILE = '.exit-plan.lock';

/** What an exit run reports while it runs. */
export interface ExitProgress {
  /** 1-based number of the part among those this invocation runs. */
  partIndex: number;
  partCount: number;
  name: string;
  kind: PartKind;
  /** The part's own progress, when it has said something. */
  part?: PartProgress;
  /** `report`: writing the report and the manifest (after the last part). */
  phase: 'part' | 'report';
}

/** `Part 2/5 datalake (azure) — 1,200/5,000 blobs, 1.2 GB` or `Writing the exit report…`. */
export function describeExitProgress(p: ExitProgress): string {
  if (p.phase === 'report') return 'Writing the exit report…';
  const head = `Part ${p.partIndex}/${p.partCount} ${p.name} (${p.kind})`;
  return p.part?.text ? `${head} — ${p.part.text}` : `${head}…`;
}

/** Share of the run done (0..1): each part an equal share, split by its own fraction when known. */
export function exitProgressFraction(p: ExitProgress): number {
  if (p.phase === 'report' || p.partCount === 0) return 1;
  const inPart = Math.min(1, Math.max(0, p.part?.fraction ?? 0));
  return Math.min(1, (p.partIndex - 1 + inPart) / p.partCount);
}

export interface ExitRunOptions extends OperationOptions<ExitProgress> {
  /** How the parts reach connections and secrets (CLI: the environment; VS Code: saved connections). */
  resolvers: PartResolvers;
  /** Start a new run folder even when the newest one is unfinished. */
  fresh?: boolean;
  /** Run only these parts (by name); the run is complete once every part of the plan has been run in its folder. */
  only?: string[];
  /** The clock (tests). */
  now?: () => Date;
}

/**
 * Runs the plan: one run at a time per `out`; the newest run folder is resumed when it is unfinished (and `fresh`
 * is not set). A failing part is a result (its sentence, masked); a cancel stops after the current part gives up
 * and throws CancelledError, leaving the run resumable. Throws ExitPlanError only when no run could be made
 * (another run holds the lock, `only` names an unknown part, `out` cannot be written).
 */
export async function runExitPlan(plan: ExitPlan, options: ExitRunOptions): Promise<ExitRunResult> {
  const now = options.now ?? (() => new Date());
  const names = new Set(plan.parts.map((p) => p.name));
  const only = options.only?.map((n) => n.trim()).filter((n) => n !== '');
  for (const name of only ?? []) {
    if (!names.has(name))
      throw new ExitPlanError(`The plan ${plan.file} has no part named "${name}" (its parts: ${[...names].join(', ')}).`, 'USAGE');
  }
  throwIfAborted(options.signal);
  try {
    await fs.promises.mkdir(plan.out, { recursive: true });
  } catch (err) {
    throw new ExitPlanError(`Cannot make the exit runs folder ${plan.out}: ${errorMessage(err)}.`, undefined, { cause: err });
  }
  const locked = await withLock(path.join(plan.out, RUN_LOCK_FILE), `the exit runs in ${plan.out}`, () =>
    runLocked(plan, { ...options, only, now }),
  );
  if ('heldBy' in locked) {
    const by = locked.heldBy;
    throw new ExitPlanError(
      `Another exit run (process ${by.pid} on ${by.host}, since ${localTime(new Date(by.since))}) is writing to ${plan.out}: ` +
        'wait for it to end, or cancel it.',
      'BUSY',
    );
  }
  return locked.value;
}

async function runLocked(plan: ExitPlan, options: ExitRunOptions & { now: () => Date }): Promise<ExitRunResult> {
  const log = (line: string) => options.log?.(maskSecrets(line));
  const { folder, resuming } = await runFolder(plan, options);
  log(`${resuming ? 'Resuming' : 'Starting'} the exit run ${folder}.`);

  const wanted = plan.parts.filter((p) => !options.only || options.only.includes(p.name));
  const records = new Map<string, PartRecord>();
  const failures = new Map<string, FailedPartRecord>();
  const results: RunPartResult[] = [];

  for (const [i, part] of wanted.entries()) {
    throwIfAborted(options.signal);
    const dir = path.join(folder, part.name);
    const progress = (p?: PartProgress) =>
      options.onProgress?.({ partIndex: i + 1, partCount: wanted.length, name: part.name, kind: part.kind, part: p, phase: 'part' });
    progress();
    const kept = resuming ? await readPartRecord(dir, part) : undefined;
    if (kept) {
      records.set(part.name, kept);
      results.push({ name: part.name, kind: part.kind, status: 'verified', files: kept.fileCount, bytes: kept.bytes, kept: true });
      log(`${part.name}: verified in an earlier attempt of this run, kept.`);
      continue;
    }
    const startedAt = now(options);
    try {
      // The azure and rclone parts reuse files already copied; every other kind starts again in an empty folder.
      await fs.promises.rm(path.join(dir, RUN_FILES.part), { force: true });
      if (part.kind !== 'azure' && part.kind !== 'rclone') await fs.promises.rm(dir, { recursive: true, force: true });
      await fs.promises.mkdir(dir, { recursive: true });
      const outcome = await runPart(part, {
        dir,
        resuming,
        planDir: path.dirname(plan.file),
        resolvers: options.resolvers,
        now: options.now,
        signal: options.signal,
        onProgress: progress,
        log: (line) => log(`${part.name}: ${line}`),
      });
      // A part that returned after a cancel may not have finished what it claims.
      throwIfAborted(options.signal);
      const finishedAt = now(options);
      const record: PartRecord = maskDeep({
        format: 1,
        name: part.name,
        kind: part.kind,
        status: 'verified',
        ...outcome,
        fileCount: outcome.totals?.files ?? outcome.files.length,
        bytes: outcome.totals?.bytes ?? outcome.files.reduce((n, f) => n + f.bytes, 0),
        startedAt: startedAt.toISOString(),
        finishedAt: finishedAt.toISOString(),
        durationMs: finishedAt.getTime() - startedAt.getTime(),
      });
      await writeFileAtomic(path.join(dir, RUN_FILES.part), `${JSON.stringify(record, null, 2)}\n`);
      records.set(part.name, record);
      results.push({ name: part.name, kind: part.kind, status: 'verified', files: record.fileCount, bytes: record.bytes });
      log(`${part.name}: verified, ${record.fileCount} files, ${record.bytes} bytes.`);
    } catch (err) {
      if (isCancelled(err) || options.signal?.aborted) {
        log(`${part.name}: cancelled; the run ${folder} stays unfinished and is resumed by the next run.`);
        throw isCancelled(err) ? err : new CancelledError();
      }
      const finishedAt = now(options);
      const error = maskSecrets(oneSentence(errorMessage(err)));
      failures.set(part.name, {
        name: part.name,
        kind: part.kind,
        status: 'failed',
        error,
        startedAt: startedAt.toISOString(),
        finishedAt: finishedAt.toISOString(),
        durationMs: finishedAt.getTime() - startedAt.getTime(),
      });
      results.push({ name: part.name, kind: part.kind, status: 'failed', files: 0, bytes: 0, error });
      log(`${part.name}: failed: ${error}`);
    }
  }

  // Parts not run now: complete only if an earlier attempt of this run verified them.
  for (const part of plan.parts) {
    if (wanted.includes(part)) continue;
    const kept = await readPartRecord(path.join(folder, part.name), part);
    if (kept) {
      records.set(part.name, kept);
      results.push({ name: part.name, kind: part.kind, status: 'verified', files: kept.fileCount, bytes: kept.bytes, kept: true });
    } else {
      results.push({ name: part.name, kind: part.kind, status: 'skipped', files: 0, bytes: 0 });
    }
  }
  results.sort((a, b) => plan.parts.findIndex((p) => p.name === a.name) - plan.parts.findIndex((p) => p.name === b.name));

  const complete = plan.parts.every((p) => records.has(p.name) || failures.has(p.name));
  const ok = results.every((r) => r.status !== 'failed');
  const result: ExitRunResult = { folder, complete, parts: results, ok, removedRuns: [] };
  if (!complete) {
    log(`The run ${folder} is unfinished (parts not run yet); running the plan again continues it.`);
    return result;
  }
  throwIfAborted(options.signal);
  options.onProgress?.({ partIndex: wanted.length, partCount: wanted.length, name: '', kind: plan.parts[0].kind, phase: 'report' });
  const manifest = buildManifest({
    plan: plan.file,
    folder,
    startedAt: await runStartedAt(folder, now(options)),
    finishedAt: now(options),
    parts: plan.parts.map((p) => (records.get(p.name) ?? failures.get(p.name))!),
    notIncluded: plan.notIncluded,
  });
  // The report first, the manifest last: its presence marks the run complete.
  await writeFileAtomic(path.join(folder, RUN_FILES.report), reportText(manifest));
  await writeFileAtomic(path.join(folder, RUN_FILES.manifest), `${JSON.stringify(manifest, null, 2)}\n`);
  log(`The exit run ${folder} is complete${manifest.ok ? ', every part verified' : ''}.`);
  if (manifest.ok && plan.keep !== undefined) result.removedRuns = await removeOldRuns(plan.out, plan.keep, folder, log);
  return result;
}

function now(options: { now: () => Date }): Date {
  return options.now();
}

/** One line: the first sentence-ish line of an error, ending in a full stop. */
function oneSentence(text: string): string {
  const line = text.trim().split(/\r?\n/)[0] || 'The part failed.';
  return /[.!?…]$/.test(line) ? line : `${line}.`;
}

/** The folder this invocation writes into: the newest run when unfinished (unless fresh), else a new one. */
async function runFolder(plan: ExitPlan, options: ExitRunOptions & { now: () => Date }): Promise<{ folder: string; resuming: boolean }> {
  const runs = await listRuns(plan.out);
  const newest = runs[runs.length - 1];
  if (newest && !newest.complete && !options.fresh) return { folder: newest.folder, resuming: true };
  // A new folder, named for now; a later second when one of that name exists (two runs within a second).
  let at = options.now().getTime();
  for (let attempt = 0; ; attempt++) {
    const folder = path.join(plan.out, `${RUN_FILES.prefix}${utcStamp(new Date(at))}`);
    try {
      await fs.promises.mkdir(folder);
      if (newest && folder <= newest.folder) {
        // The clock went back: a new run must sort after the others.
        await fs.promises.rmdir(folder);
        at = (newest.startedAt.getTime() ?? at) + 1000;
        continue;
      }
      return { folder, resuming: false };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 100)
        throw new ExitPlanError(`Cannot make the run folder ${folder}: ${errorMessage(err)}.`, undefined, { cause: err });
      at += 1000;
    }
  }
}

/** When a run was started: from its folder's name. */
async function runStartedAt(folder: string, fallback: Date): Promise<Date> {
  const runs = await listRuns(path.dirname(folder));
  return runs.find((r) => r.folder === folder)?.startedAt ?? fallback;
}

/** `keep`: complete runs beyond it are removed, oldest first; never `current` (the newest), never an unfinished one. */
async function removeOldRuns(out: string, keep: number, current: string, log: (line: string) => void): Promise<string[]> {
  const complete = (await listRuns(out)).filter((r) => r.complete);
  const removable = complete.filter((r) => r.folder !== current);
  const excess = complete.length - keep;
  const removed: string[] = [];
  for (const run of removable.slice(0, Math.max(0, excess))) {
    // Renamed first: a half-removed run is then no run at all, never a complete one missing files.
    const aside = path.join(out, `.removing-${run.name}`);
    await fs.promises.rename(run.folder, aside);
    await fs.promises.rm(aside, { recursive: true, force: true });
    removed.push(run.folder);
    log(`Removed the old exit run ${run.folder} (keep = ${keep}).`);
  }
  return removed;
}
