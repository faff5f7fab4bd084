import { once } from 'node:events';
import { PassThrough, type Writable } from 'node:stream';
import archiver from 'archiver';

/**
 * A streaming zip: entries are written one after another straight into its outputs; nothing is held whole
 * in memory. `failed` rejects with the first error from the archive or an output (e.g. a full disk).
 */
export class ZipWriter {
  /**
   * Entries handed to archiver and not yet written out, at most: archiver writes one entry at a time, and each
   * one waiting holds its stream, buffered data and listeners until its turn. Without a bound, many small
   * entries (`--max-rows-per-file 1`) all wait at once and memory grows with their number.
   */
  static readonly MAX_PENDING = 16;
  /** Dropped once finished: it keeps a record of every entry for the central directory. */
  private archive: archiver.Archiver | undefined;
  private pendingEntries = 0;
  readonly failed: Promise<never>;

  /** Every byte goes to each of `outs` (a local file, an upload, or both), at the pace of the slowest. */
  constructor(outs: Writable[], level = 6) {
    // 256 KiB zlib chunks: fewer, larger hand-offs between the deflate thread and the stream.
    const archive = archiver('zip', { zlib: { level, chunkSize: 256 * 1024 }, store: level === 0 });
    this.archive = archive;
    // Made elsewhere: a closure made here and kept by `failed` (which never settles when all goes well) would
    // keep this scope, and the archive with it, alive.
    this.failed = firstError(archive, outs);
    coalesceCentralDirectory(archive);
    archive.setMaxListeners(0); // writers waiting for room, one per job
    archive.on('entry', () => this.pendingEntries--);
    for (const out of outs) archive.pipe(out);
  }

  /** Entries opened and not yet written out (at most MAX_PENDING). */
  get pending(): number {
    return this.pendingEntries;
  }

  /**
   * A writable for the next entry, once fewer than MAX_PENDING entries wait; end it to close the entry.
   * Entries are stored in the order opened. Never await it while holding another entry open: that one has
   * to be ended to be written out.
   */
  async entry(name: string, date: Date, signal: AbortSignal): Promise<PassThrough> {
    while (this.pendingEntries >= ZipWriter.MAX_PENDING) await once(this.open(), 'entry', { signal });
    this.pendingEntries++;
    const body = new PassThrough({ highWaterMark: 1 << 20 });
    this.open().append(body, { name, date });
    return body;
  }

  text(name: string, content: string, date: Date): void {
    this.pendingEntries++;
    this.open().append(Buffer.from(content, 'utf8'), { name, date });
  }

  /** Writes the central directory and waits until `out` has everything. */
  async finish(): Promise<number> {
    const archive = this.open();
    await Promise.race([archive.finalize(), this.failed]);
    this.archive = undefined;
    return archive.pointer();
  }

  abort(): void {
    this.archive?.abort();
  }

  private open(): archiver.Archiver {
    if (!this.archive) throw new Error('The zip is already finished.');
    return this.archive;
  }
}

/** Rejects with the first error from the archive or an output. */
function firstError(archive: archiver.Archiver, outs: Writable[]): Promise<never> {
  const failed = new Promise<never>((_, reject) => {
    archive.on('error', reject);
    archive.on('warning', reject);
    for (const out of outs) out.on('error', reject);
  });
  failed.catch(ignore);
  return failed;
}

function ignore(): void {}

/** The part of archiver's zip engine (compress-commons' ZipArchiveOutputStream) that writes the central directory. */
interface ZipEngine {
  _entries: unknown[];
  _writeCentralFileHeader(entry: unknown): void;
  write(chunk: Buffer | string): boolean;
}

const CENTRAL_DIRECTORY_CHUNK = 64 * 1024;

/**
 * compress-commons writes each central directory record as about 19 buffers of 2 to 4 bytes, for every entry at
 * once when the archive is finalized: with 70,000 entries that is over a million buffered writes, hundreds of
 * MB. Here each record is gathered and the records go out in 64 KiB writes, the same bytes in the same order.
 */
function coalesceCentralDirectory(archive: archiver.Archiver): void {
  const engine = (archive as unknown as { _module?: { engine?: Partial<ZipEngine> } })._module?.engine;
  if (!engine || typeof engine._writeCentralFileHeader !== 'function' || !Array.isArray(engine._entries)) return;
  const writeRecord = engine._writeCentralFileHeader;
  let batch: Buffer[] = [];
  let size = 0;
  engine._writeCentralFileHeader = function (this: ZipEngine, entry: unknown) {
    const write = this.write;
    this.write = (chunk: Buffer | string) => {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk; // names are written as strings
      batch.push(bytes);
      size += bytes.length;
      return true;
    };
    try {
      writeRecord.call(this, entry);
    } finally {
      this.write = write;
    }
    // The end record that follows needs the whole directory written (its size comes from the bytes written).
    if (size >= CENTRAL_DIRECTORY_CHUNK || entry === this._entries[this._entries.length - 1]) {
      const chunk = Buffer.concat(batch, size);
      batch = [];
      size = 0;
      this.write(chunk);
    }
  };
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
