// One lock file implementation for datasets (`<dataset>/.exit-plan.lock`) and backup folders
// (`<dir>/.exit-plan-backups.lock`): a file created exclusively, naming the process that holds it.
import * as fs from 'node:fs';
import * as os from 'node:os';
import { ExitPlanError, errorMessage, systemCode } from './errors';

/** A lock from another host is trusted this long (its process cannot be checked from here). */
const FOREIGN_LOCK_MAX_AGE_MS = 24 * 60 * 60 * 1000;
/** An unreadable lock file younger than this is being written by the run that created it. */
const FRESH_LOCK_MS = 10_000;

/** Who holds a lock. */
export interface LockInfo {
  pid: number;
  host: string;
  /** ISO time the lock was taken. */
  since: string;
  /** Linux: /proc/sys/kernel/random/boot_id when it was taken (a lock from before a reboot is stale). */
  bootId?: string;
  /** Linux: the holder's start time, in clock ticks since boot (/proc/<pid>/stat field 22), so a reused pid is not the holder. */
  startTicks?: number;
}

/** A lock this process holds. */
export interface HeldLock {
  readonly info: LockInfo;
  /** Removes the lock file, only if it is still ours. */
  release(): Promise<void>;
}

/** This machine's boot id, or undefined where there is none (not Linux). */
export function bootId(): string | undefined {
  try {
    return fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

/** When a process started, in clock ticks since boot (field 22 of /proc/<pid>/stat), or undefined. */
export function processStartTicks(pid: number): number | undefined {
  let stat: string;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // `pid (comm) state ppid …`: comm may hold spaces and parentheses, so count fields after the last `)`.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[22 - 3]);
  return Number.isSafeInteger(ticks) ? ticks : undefined;
}

/** Is there a process with this pid on this machine (ours or another user's)? */
export function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return systemCode(err) === 'EPERM';
  }
}

/** The lock record of this process, now. */
export function ownLockInfo(now: Date = new Date()): LockInfo {
  const info: LockInfo = { pid: process.pid, host: os.hostname(), since: now.toISOString() };
  const boot = bootId();
  const start = processStartTicks(process.pid);
  if (boot) info.bootId = boot;
  if (start !== undefined) info.startTicks = start;
  return info;
}

/**
 * Is the process that took this lock still running? On another host: for a day. Here: its pid exists,
 * the machine has not rebooted since (boot id), and the process with that pid is the same one (start time).
 */
export function isLive(info: LockInfo): boolean {
  if (info.host !== os.hostname()) {
    const since = Date.parse(info.since);
    return Number.isFinite(since) && Date.now() - since < FOREIGN_LOCK_MAX_AGE_MS;
  }
  const boot = bootId();
  if (info.bootId && boot && info.bootId !== boot) return false;
  if (!processExists(info.pid)) return false;
  if (info.startTicks !== undefined) {
    const start = processStartTicks(info.pid);
    if (start !== undefined && start !== info.startTicks) return false; // the pid was reused
  }
  return true;
}

/**
 * Takes the lock `file` (created exclusively, holding pid, host, time, boot id and start time), or returns
 * who holds it. A stale lock (its process is gone, is another process with the same pid, or ran before a
 * reboot; or from another host and over a day old) is moved aside, checked to be the same stale one, and
 * taken over; a lock taken by someone else meanwhile is put back.
 */
async function acquireLock(file: string, what: string, now: Date = new Date()): Promise<{ lock: HeldLock } | { heldBy: LockInfo }> {
  const info = ownLockInfo(now);
  const text = `${JSON.stringify(info)}\n`;
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      await fs.promises.writeFile(file, text, { flag: 'wx' });
      return { lock: { info, release: () => release(file, text) } };
    } catch (err) {
      if (systemCode(err) !== 'EEXIST') {
        throw new ExitPlanError(`Cannot lock ${what}: ${errorMessage(err)}.`, systemCode(err), { cause: err });
      }
    }
    const held = await readLockFile(file);
    if (held === undefined) continue; // released meanwhile
    if (held.info && isLive(held.info)) return { heldBy: held.info };
    // Unreadable and brand new: another run is between creating the file and writing it.
    if (!held.info && Date.now() - held.mtimeMs < FRESH_LOCK_MS)
      return { heldBy: { pid: 0, host: os.hostname(), since: new Date(held.mtimeMs).toISOString() } };
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
  throw new ExitPlanError(`Cannot lock ${what}: the lock file ${file} keeps changing; another run may be starting.`);
}

/**
 * Runs `work` holding the lock `file` (see acquireLock), releasing it however `work` ends. Returns who holds
 * the lock, without running `work`, when another live process does.
 */
export async function withLock<T>(
  file: string,
  what: string,
  work: (lock: HeldLock) => Promise<T>,
): Promise<{ value: T } | { heldBy: LockInfo }> {
  const locked = await acquireLock(file, what);
  if ('heldBy' in locked) return locked;
  try {
    return { value: await work(locked.lock) };
  } finally {
    await locked.lock.release();
  }
}

/** Who holds the lock `file` right now, or undefined (no lock, or a stale one). */
export async function lockHolder(file: string): Promise<LockInfo | undefined> {
  const held = await readLockFile(file).catch(() => undefined);
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
  const info = parseLockInfo(text);
  return info ? { text, mtimeMs, info } : { text, mtimeMs };
}

/**
 * A lock record (or a partial file's owner record) as written by ownLockInfo, or undefined if it is not one
 * (half-written, or not ours).
 */
export function parseLockInfo(text: string): LockInfo | undefined {
  try {
    const v = JSON.parse(text) as Partial<LockInfo> & { at?: unknown };
    // `at`: backup folder locks of earlier versions.
    const since = typeof v.since === 'string' ? v.since : typeof v.at === 'string' ? v.at : undefined;
    if (typeof v.pid === 'number' && typeof v.host === 'string' && since !== undefined) {
      const info: LockInfo = { pid: v.pid, host: v.host, since };
      if (typeof v.bootId === 'string') info.bootId = v.bootId;
      if (typeof v.startTicks === 'number') info.startTicks = v.startTicks;
      return info;
    }
  } catch {
    // Half-written (see FRESH_LOCK_MS) or not ours.
  }
  return undefined;
}
