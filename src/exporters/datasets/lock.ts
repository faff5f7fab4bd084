import * as path from 'node:path';
import { acquireLock as acquireLockFile, lockHolder as lockFileHolder, type HeldLock, type LockInfo } from '../shared/lock';

export type { LockInfo } from '../shared/lock';

/** Held while a run exports, measures or cleans a dataset: `<dataset>/.exit-plan.lock`. */
export const LOCK_FILE = '.exit-plan.lock';

/** The run that holds this is the only one that changes the dataset. */
export type DatasetLock = HeldLock;

/**
 * Takes the dataset's lock, or returns who holds it (see shared/lock: a lock whose process is gone, was
 * reused or ran before a reboot, or from another host and over a day old, is stale and taken over).
 */
export function acquireLock(dir: string, now: Date = new Date()): Promise<{ lock: DatasetLock } | { heldBy: LockInfo }> {
  return acquireLockFile(path.join(dir, LOCK_FILE), `${dir} (${LOCK_FILE})`, now);
}

/** Who holds the dataset's lock right now, or undefined (no lock, or a stale one). */
export function lockHolder(dir: string): Promise<LockInfo | undefined> {
  return lockFileHolder(path.join(dir, LOCK_FILE));
}
