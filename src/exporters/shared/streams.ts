import { once } from 'node:events';
import type { Writable } from 'node:stream';

/** Writes with backpressure: waits for 'drain' when the stream's buffer is full. */
export async function writeChunk(stream: Writable, chunk: Buffer, signal: AbortSignal): Promise<void> {
  if (!stream.write(chunk)) await once(stream, 'drain', { signal });
}

/** Ends a stream and waits until it has flushed. */
export async function endStream(stream: Writable, signal: AbortSignal): Promise<void> {
  const done = once(stream, 'finish', { signal });
  stream.end();
  await done;
}
