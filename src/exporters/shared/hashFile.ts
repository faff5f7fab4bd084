// The SHA-256 of a file, streamed: backups' sidecars, the exit parts' records, the rclone listing's record.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { throwIfAborted } from './errors';

/** SHA-256 and size of a file, read in 1 MB chunks; `onBytes` sees the running count. */
export async function hashFile(
  file: string,
  options: { signal?: AbortSignal; onBytes?: (bytes: number) => void } = {},
): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  const stream = fs.createReadStream(file, { highWaterMark: 1 << 20 });
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      throwIfAborted(options.signal);
      hash.update(chunk);
      bytes += chunk.length;
      options.onBytes?.(bytes);
    }
  } finally {
    stream.destroy();
  }
  return { sha256: hash.digest('hex'), bytes };
}
