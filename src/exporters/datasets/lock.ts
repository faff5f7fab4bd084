import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ExitPlanError, errorMessage, systemCode } from '../shared/errors';

/** Held while a run exports, measures or cleans a dataset: `<dataset>/.exit-plan.lock`. */
export const LOCK_FILE = '.exit-plan.lock';
/** A lock from another host is trusted this long (its process cannot be checked from here). */
const FOREIGN_LOCK_MAX_AGE_MS = 24 * 60 * 60 * 1000;
/** An unreadable lock file younger than this is being written by the run that created it. */
const FRESH_LOCK_MS = 10_000;

/** Who holds a dataset's lock. */
export interface LockInfo {
  pid: number;
  host: string;
  /** ISO time the lock was taken. */
  since: string;
}

/** The run that holds this is the only one that changes the dataset. */
export interface DatasetLock {
  readonly info: LockInfo;
  release(): Promise<void>;
}

/**
 * Takes the dataset's lock (a file created exclusively, holding pid, host and time), or returns who holds it.
 * A lock whose process is gone (same host) or that is over a day old (another host) is stale and taken over.
 */
export async function acquireLock(dir: string, now: Date = new Date()): Promise<{ lock: DatasetLock } | { heldBy: LockInfo }> {
  const file = path.join(dir, LOCK_FILE);
  const info: LockInfo = { pid: process.pid, host: os.hostname(), since: now.toISOString() };
  const text = `${JSON.stringify(info)}\n`;
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      await fs.promises.writeFile(file, text, { flag: 'wx' });
      return { lock: { info, release: () => release(file, text) } };
    } catch (err) {
      if (systemCode(err) !== 'EEXIST') {
        throw new ExitPlanError(`Cannot lock ${dir} (${LOCK_FILE}): ${errorMessage(err)}.`, systemCode(err), { cause: err });
      }
    }
    const held = await readLockFile(file);
    if (held === undefined) continue; // released meanwhile
    if (held.info && isLive(held.info)) return { heldBy: held.info };
    // Unreadable and brand new: another run is between creating the file and writing it.
    if (!held.info && Date.now() - held.mtimeMs < FRESH_LOCK_MS) return { heldBy: { pid: 0, host: os.hostname(), since: new Date(held.mtimeMs).toISOString() } };
    // Stale: move it aside under a unique name, and only remove it if it is still the stale one.
    const aside = `${file}.stale-${process.pid}-${Date.now()}`;
    try {
      await fs.promises.rename(file, aside);
    } catch {
      continue;
    }
    const moved = await fs.promises.readFile(aside, 'utf8').catch(() => '');
    if (moved === held.text) {
      await fs.promises.rm(aside, { force: true });
    } else {
      // Someone took the lock between our read and our rename: put theirs back (never over a new one).
      await fs.promises.link(aside, file).catch(() => undefined);
      await fs.promises.rm(aside, { force: true });
    }
  }
  const held = await readLockFile(file);
  if (held?.info) return { heldBy: held.info };
  throw new ExitPlanError(`Cannot lock ${dir}: ${LOCK_FILE} keeps changing; another run may be starting.`);
}

/** Who holds the dataset's lock right now, or undefined (no lock, or a stale one). */
export async function lockHolder(dir: string): Promise<LockInfo | undefined> {
  const held = await readLockFile(path.join(dir, LOCK_FILE)).catch(() => undefined);
  return held?.info && isLive(held.info) ? held.info : undefined;
}

async function release(file: string, text: string): Promise<void> {
  // Only our own lock: never one a later run took over.
  const current = await fs.promises.readFile(file, 'utf8').catch(() => undefined);
  if (current === text) await fs.promises.rm(file, { force: true });
}

async function readLockFile(file: string): Promise<{ text: string; mtimeMs: number; info?: LockInfo } | undefined> {
  let text: string;
  let mtimeMs: number;
  try {
    [text, { mtimeMs }] = await Promise.all([fs.promises.readFile(file, 'utf8'), fs.promises.stat(file)]);
  } catch (err) {
    if (systemCode(err) === 'ENOENT') return undefined;
    throw err;
  }
  try {
    const v = JSON.parse(text) as Partial<LockInfo>;
    if (typeof v.pid === 'number' && typeof v.host === 'string' && typeof v.since === 'string') return { text, mtimeMs, info: { pid: v.pid, host: v.host, since: v.since } };
  } catch {
    // Half-written (see FRESH_LOCK_MS) or not ours.
  }
  return { text, mtimeMs };
}

function isLive(info: LockInfo): boolean {
  if (info.host !== os.hostname()) {
    const since = Date.parse(info.since);
    return Number.isFinite(since) && Date.now() - since < FOREIGN_LOCK_MAX_AGE_MS;
  }
  try {
    process.kill(info.pid, 0);
    return true;
  } catch (err) {
    return systemCode(err) === 'EPERM';
  }
}
