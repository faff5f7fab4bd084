// Real Azure Blob Storage emulator (Azurite, from npm) on a free loopback port and a temp folder.
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { EMULATOR_ACCOUNT, EMULATOR_KEY } from '../../src/exporters/azure/connection';
import { freePort } from './freePort';

export interface RunningAzurite {
  endpoint: string;
  connectionString: string;
  stop(): Promise<void>;
}

export async function startAzurite(): Promise<RunningAzurite> {
  const port = await freePort();
  const location = fs.mkdtempSync(path.join(os.tmpdir(), 'exit-plan-azurite-'));
  const bin = require.resolve('azurite/dist/src/blob/main.js');
  const child: ChildProcess = spawn(
    process.execPath,
    [
      bin,
      '--blobHost',
      '127.0.0.1',
      '--blobPort',
      String(port),
      '--location',
      location,
      '--silent',
      '--skipApiVersionCheck',
      '--disableTelemetry',
      '--loose',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const endpoint = `http://127.0.0.1:${port}/${EMULATOR_ACCOUNT}`;
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`Azurite exited: ${output}`);
    try {
      const res = await fetch(`${endpoint}?comp=list`);
      if (res.status > 0) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`Azurite did not start: ${output}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    endpoint,
    connectionString: `DefaultEndpointsProtocol=http;AccountName=${EMULATOR_ACCOUNT};AccountKey=${EMULATOR_KEY};BlobEndpoint=${endpoint};`,
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await new Promise((r) => child.once('exit', r));
      }
      fs.rmSync(location, { recursive: true, force: true });
    },
  };
}

/** The real azcopy from @azure-tools/azcopy-linux, made executable (npm ships it without its run bit). */
export function azcopyPath(): string {
  const bin = path.join(path.dirname(require.resolve('@azure-tools/azcopy-linux/package.json')), 'dist/bin/azcopy_linux_amd64');
  fs.chmodSync(bin, 0o755);
  return bin;
}
