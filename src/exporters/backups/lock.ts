import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { systemCode } from '../shared/errors';

export const LOCK_FILE = '.exit-plan-backups.lock';
/** A lock older than this is taken over (its holder surely died without cleaning up). */
const STALE_MS = 24 * 3_600_000;

interface LockInfo {
  pid: number;
  host: string;
  at: string;
}

function isStale(info: LockInfo | undefined): boolean {
  if (!info || typeof info.pid !== 'number' || typeof info.at !== 'string') return true;
  if (Date.now() - Date.parse(info.at) > STALE_MS) return true;
  if (info.host !== os.hostname()) return false;
  try {
    process.kill(info.pid, 0);
    return false;
  } catch (err) {
    return systemCode(err) === 'ESRCH';
  }
}

/**
 * Runs `work` holding `<dir>/.exit-plan-backups.lock` (created exclusively), so that two VS Code windows
 * with the same schedule make one backup, not two. Returns undefined, without running `work`, when
 * another live process holds the lock.
 */
export async function withFolderLock<T>(dir: string, work: () => Promise<T>): Promise<{ value: T } | undefined> {
  await fs.promises.mkdir(dir, { recursive: true });
  const file = path.join(dir, LOCK_FILE);
  const mine: LockInfo = { pid: process.pid, host: os.hostname(), at: new Date().toISOString() };
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await fs.promises.writeFile(file, JSON.stringify(mine), { flag: 'wx' });
    } catch (err) {
      if (systemCode(err) !== 'EEXIST') throw err;
      let info: LockInfo | undefined;
      try {
        info = JSON.parse(await fs.promises.readFile(file, 'utf8')) as LockInfo;
      } catch {
        // Being written right now, or garbage: only garbage once it is a minute old.
        const st = await fs.promises.stat(file).catch(() => undefined);
        if (st && Date.now() - st.mtimeMs < 60_000) return undefined;
        info = undefined;
      }
      if (!isStale(info)) return undefined;
      await fs.promises.rm(file, { force: true });
      continue;
    }
    try {
      return { value: await work() };
    } finally {
      await fs.promises.rm(file, { force: true });
    }
  }
  return undefined;
}
