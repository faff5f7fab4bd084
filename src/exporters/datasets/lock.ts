import * as path from 'node:path';
import { lockHolder as lockFileHolder, withLock, type LockInfo } from '../shared/lock';

export type { LockInfo } from '../shared/lock';

/** Held while a run exports, measures or cleans a dataset: `<dataset>/.exit-plan.lock`. */
export const LOCK_FILE = '.exit-plan.lock';

/**
 * Runs `work` holding the dataset's lock, the only run that changes the dataset meanwhile; returns who holds
 * it instead, without running `work`, when another live run does (see shared/lock: a lock whose process is
 * gone, was reused or ran before a reboot, or from another host and over a day old, is stale and taken over).
 */
export function withDatasetLock<T>(dir: string, work: () => Promise<T>): Promise<{ value: T } | { heldBy: LockInfo }> {
  return withLock(path.join(dir, LOCK_FILE), `${dir} (${LOCK_FILE})`, work);
}

/** Who holds the dataset's lock right now, or undefined (no lock, or a stale one). */
export function lockHolder(dir: string): Promise<LockInfo | undefined> {
  return lockFileHolder(path.join(dir, LOCK_FILE));
}
