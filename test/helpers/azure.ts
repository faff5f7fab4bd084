// One Azurite for the whole mocha run, and the real azcopy on a PATH of its own.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { azcopyPath, startAzurite, type RunningAzurite } from '../../scripts/lib/azurite';
import { tempDir } from './archive';

let running: Promise<RunningAzurite> | undefined;

export function azurite(): Promise<RunningAzurite> {
  running ??= startAzurite();
  return running;
}

export async function stopAzurite(): Promise<void> {
  if (running) await (await running).stop();
  running = undefined;
}

/** Environment in which `azcopy` is the real azcopy, with its logs and plans in a folder we can read. */
export function azcopyEnv(): { env: NodeJS.ProcessEnv; logs: string } {
  const bin = tempDir('exit-plan-bin-');
  fs.symlinkSync(azcopyPath(), path.join(bin, 'azcopy'));
  const logs = tempDir('exit-plan-azcopy-logs-');
  return {
    env: {
      ...process.env,
      PATH: `${bin}:${process.env.PATH}`,
      AZCOPY_LOG_LOCATION: logs,
      AZCOPY_JOB_PLAN_LOCATION: logs,
      AZCOPY_DISABLE_SYSLOG: 'true',
    },
    logs,
  };
}
