import * as fs from 'node:fs';
import * as path from 'node:path';
import { withLock } from '../shared/lock';

export const LOCK_FILE = '.exit-plan-backups.lock';

/**
 * Runs `work` holding `<dir>/.exit-plan-backups.lock` (shared/lock: pid, host, boot id and start time, so a
 * lock of a process that is gone, was reused or ran before a reboot is taken over), so that two VS Code
 * windows with the same schedule make one backup, not two. Returns undefined, without running `work`, when
 * another live process holds the lock.
 */
export async function withFolderLock<T>(dir: string, work: () => Promise<T>): Promise<{ value: T } | undefined> {
  await fs.promises.mkdir(dir, { recursive: true });
  const outcome = await withLock(path.join(dir, LOCK_FILE), `the backup folder ${dir} (${LOCK_FILE})`, work);
  return 'value' in outcome ? outcome : undefined;
}
