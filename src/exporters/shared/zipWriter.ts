import { once } from 'node:events';
import { PassThrough, type Writable } from 'node:stream';
import archiver from 'archiver';

/**
 * A streaming zip: entries are written one after another straight into its outputs; nothing is held whole
 * in memory. `failed` rejects with the first error from the archive or an output (e.g. a full disk).
 */
export class ZipWriter {
  private readonly archive: archiver.Archiver;
  readonly failed: Promise<never>;

  /** Every byte goes to each of `outs` (a local file, an upload, or both), at the pace of the slowest. */
  constructor(outs: Writable[], level = 6) {
    // 256 KiB zlib chunks: fewer, larger hand-offs between the deflate thread and the stream.
    this.archive = archiver('zip', { zlib: { level, chunkSize: 256 * 1024 }, store: level === 0 });
    this.failed = new Promise<never>((_, reject) => {
      this.archive.on('error', reject);
      this.archive.on('warning', reject);
      for (const out of outs) out.on('error', reject);
    });
    this.failed.catch(() => undefined);
    for (const out of outs) this.archive.pipe(out);
  }

  /** A writable for the next entry; end it to close the entry. Entries are stored in the order opened. */
  entry(name: string, date: Date): PassThrough {
    const body = new PassThrough({ highWaterMark: 1 << 20 });
    this.archive.append(body, { name, date });
    return body;
  }

  text(name: string, content: string, date: Date): void {
    this.archive.append(Buffer.from(content, 'utf8'), { name, date });
  }

  /** Writes the central directory and waits until `out` has everything. */
  async finish(): Promise<number> {
    await Promise.race([this.archive.finalize(), this.failed]);
    return this.archive.pointer();
  }

  abort(): void {
    this.archive.abort();
  }
}

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
