import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Writable } from 'node:stream';
import { DeflatePool, EntryCompressor } from './parallelDeflate';
import {
  METHOD_DEFLATE,
  METHOD_STORE,
  centralRecord,
  dataDescriptor,
  dosDateTime,
  endRecords,
  localHeader,
  type ZipEntryRecord,
} from './format';

export interface ZipWriterOptions {
  /** zlib level 0 (store) … 9; default 6. */
  level?: number;
  /** Blocks deflated at once (default 1). */
  threads?: number;
  /** Raw bytes per deflate block (tests use small ones). */
  blockSize?: number;
  /** Zip64 records for every entry and the end, whatever the sizes (tests). */
  forceZip64?: boolean;
  /**
   * A folder on the archive's disk where an entry written while another one is being placed keeps its
   * compressed data until its turn (`--jobs`); without one, such an entry waits for its turn.
   */
  spoolDir?: string;
  /** Told when an entry's last byte has been handed to the outputs, with where its bytes are. */
  onEntryWritten?: (entry: WrittenEntry) => void;
}

/** An entry's place in the archive, once written. */
export interface WrittenEntry {
  name: string;
  method: number;
  crc32: number;
  size: number;
  compressedSize: number;
  /** Offset of the local header. */
  offset: number;
  /** Offset of the first byte of the (compressed) data. */
  dataOffset: number;
  /** Offset just after the entry's data descriptor. */
  end: number;
}

/** A writable part of the archive: write the entry's data in order, then end it. */
export interface ZipEntryWriter {
  write(data: Buffer): Promise<void>;
  /** Waits until the data is compressed and handed on (to the archive, or to the entry's spool until its turn). */
  end(): Promise<void>;
}

class Deferred<T = void> {
  resolve!: (value: T) => void;
  reject!: (err: unknown) => void;
  readonly promise = new Promise<T>((resolve, reject) => {
    this.resolve = resolve;
    this.reject = reject;
  });
  constructor() {
    this.promise.catch(() => undefined);
  }
}

/** An entry's compressed data kept in a temporary file until the entry's turn to be written. */
class Spool {
  private size = 0;

  private constructor(
    private readonly handle: fs.promises.FileHandle,
    private readonly file: string,
    private readonly unlinked: boolean,
  ) {}

  static async open(dir: string): Promise<Spool> {
    const file = path.join(dir, `.exit-plan-spool-${process.pid}-${randomBytes(6).toString('hex')}`);
    const handle = await fs.promises.open(file, 'wx+', 0o600);
    // Gone from the folder at once where the system allows it (not Windows): nothing is left if the process dies.
    const unlinked = await fs.promises.unlink(file).then(
      () => true,
      () => false,
    );
    return new Spool(handle, file, unlinked);
  }

  async write(data: Buffer): Promise<void> {
    let done = 0;
    while (done < data.length) done += (await this.handle.write(data, done, data.length - done, this.size + done)).bytesWritten;
    this.size += data.length;
  }

  /** Hands everything written so far to `out`, in 1 MiB reads. */
  async drainTo(out: (chunk: Buffer) => Promise<void>): Promise<void> {
    for (let position = 0; position < this.size;) {
      const chunk = Buffer.allocUnsafe(Math.min(1 << 20, this.size - position));
      const { bytesRead } = await this.handle.read(chunk, 0, chunk.length, position);
      if (bytesRead === 0) throw new Error('A temporary file of the export ended early.');
      position += bytesRead;
      await out(chunk.subarray(0, bytesRead));
    }
  }

  async close(): Promise<void> {
    await this.handle.close().catch(() => undefined);
    if (!this.unlinked) await fs.promises.rm(this.file, { force: true });
  }
}

class Entry implements ZipEntryWriter {
  readonly record: ZipEntryRecord;
  readonly compressor: EntryCompressor;
  /** Its local header is written and its data goes straight to the outputs. */
  head = false;
  ended = false;
  spool: Spool | undefined;
  readonly promoted = new Deferred();
  readonly completed = new Deferred();
  /** Emits, the promotion to head and the completion of this entry, one after the other. */
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly zip: ZipWriter,
    readonly name: string,
    date: Date,
    pool: DeflatePool,
  ) {
    this.record = {
      name: Buffer.from(name, 'utf8'),
      method: pool.level === 0 ? METHOD_STORE : METHOD_DEFLATE,
      ...dosDateTime(date),
      crc32: 0,
      compressedSize: 0,
      size: 0,
      offset: 0,
    };
    this.compressor = new EntryCompressor(pool, (compressed) => this.emit(compressed));
  }

  /** Runs `step` after every step queued before it; a failure fails the archive. */
  serial(step: () => Promise<void>): Promise<void> {
    const next = this.chain.then(step);
    this.chain = next.catch(() => undefined);
    return next;
  }

  write(data: Buffer): Promise<void> {
    return this.compressor.write(data);
  }

  async end(): Promise<void> {
    await this.compressor.end();
    this.record.crc32 = this.compressor.crc32 >>> 0;
    this.record.size = this.compressor.size;
    await this.serial(async () => {
      this.ended = true;
      if (this.head) await this.zip.complete(this);
    });
  }

  private async emit(compressed: Buffer): Promise<void> {
    // Without a spool, an entry waits for its turn (outside the chain, which its promotion needs).
    if (!this.head && !this.zip.canSpool) await this.promoted.promise;
    await this.serial(async () => {
      this.record.compressedSize += compressed.length;
      if (this.head) await this.zip.out(compressed);
      else await (this.spool ??= await this.zip.openSpool()).write(compressed);
    });
  }
}

/**
 * A streaming zip written straight into its outputs (a local file, an upload, or both), nothing held whole
 * in memory. Each entry's data is deflated in blocks on several threads at once (pigz's scheme), and
 * several entries can be written at once (one per `--jobs` connection): the first opened goes straight into
 * the archive, the others into temporary files beside it until their turn, so the archive stays one entry
 * after another. `failed` rejects with the first error from an output (e.g. a full disk) or a step.
 */
export class ZipWriter {
  /** Bytes handed to the outputs so far: the offset of the next record. */
  private offset = 0;
  /** Bytes the first output has taken (its write callbacks), e.g. bytes in the file. */
  private flushed = 0;
  private flushWaiters: { at: number; resolve: () => void }[] = [];
  private readonly pool: DeflatePool;
  /** Entries in archive order not yet complete; the first is being written. */
  private readonly queue: Entry[] = [];
  private readonly spools = new Set<Spool>();
  /** Central directory records, gathered in chunks of about 64 KiB. */
  private readonly directory: Buffer[] = [];
  private pendingRecords: Buffer[] = [];
  private pendingSize = 0;
  private entries = 0;
  private finished = false;
  private readonly failure = new Deferred<never>();
  readonly failed: Promise<never> = this.failure.promise;

  constructor(
    private readonly outs: Writable[],
    private readonly options: ZipWriterOptions = {},
  ) {
    this.pool = new DeflatePool(Math.max(1, options.threads ?? 1), options.level ?? 6, options.blockSize);
    for (const out of outs) out.on('error', (err) => this.fail(err));
  }

  get canSpool(): boolean {
    return this.options.spoolDir !== undefined;
  }

  /** Opens the next entry; entries are stored in the order opened. */
  entry(name: string, date: Date): ZipEntryWriter {
    if (this.finished) throw new Error('The zip is already finished.');
    const entry = new Entry(this, name, date, this.pool);
    this.queue.push(entry);
    this.entries++;
    if (this.queue.length === 1) this.promote(entry);
    return entry;
  }

  /** A whole entry from text (the archive's own files). */
  async text(name: string, content: string, date: Date): Promise<void> {
    const entry = this.entry(name, date);
    await entry.write(Buffer.from(content, 'utf8'));
    await entry.end();
  }

  /** Waits until the first output has taken every byte up to `offset` (so that they can be read back from it). */
  flushedTo(offset: number): Promise<void> {
    if (this.flushed >= offset) return Promise.resolve();
    return new Promise((resolve) => this.flushWaiters.push({ at: offset, resolve }));
  }

  /** Writes the central directory and the end records, ends the outputs and waits until they have everything. */
  async finish(): Promise<number> {
    const last = this.queue[this.queue.length - 1];
    if (last) await Promise.race([last.completed.promise, this.failed]);
    this.finished = true;
    this.flushRecords();
    const directoryOffset = this.offset;
    for (const chunk of this.directory) await this.out(chunk);
    this.directory.length = 0;
    await this.out(endRecords(this.entries, directoryOffset, this.offset - directoryOffset, this.options.forceZip64));
    await Promise.race([
      Promise.all(
        this.outs.map(async (out) => {
          const done = once(out, 'finish');
          out.end();
          await done;
        }),
      ),
      this.failed,
    ]);
    return this.offset;
  }

  /** Stops: entries waiting fail, temporary files are removed. The outputs are their owners' to discard. */
  abort(): void {
    this.fail(new Error('The archive was abandoned.'));
  }

  /** Writes to every output, at the pace of the slowest. */
  async out(chunk: Buffer): Promise<void> {
    this.offset += chunk.length;
    const waits: Promise<unknown>[] = [];
    this.outs.forEach((out, i) => {
      const ok = out.write(chunk, i === 0 ? (err) => !err && this.tookBytes(chunk.length) : undefined);
      if (!ok) waits.push(once(out, 'drain'));
    });
    if (waits.length > 0) await Promise.race([Promise.all(waits), this.failed]);
  }

  async openSpool(): Promise<Spool> {
    const spool = await Spool.open(this.options.spoolDir!);
    this.spools.add(spool);
    return spool;
  }

  /** The entry's turn: its local header, what it spooled, and from now on its data straight to the outputs. */
  private promote(entry: Entry): void {
    entry
      .serial(async () => {
        entry.record.offset = this.offset;
        await this.out(localHeader(entry.record));
        if (entry.spool) {
          await entry.spool.drainTo((chunk) => this.out(chunk));
          await entry.spool.close();
          this.spools.delete(entry.spool);
          entry.spool = undefined;
        }
        entry.head = true;
        entry.promoted.resolve();
        if (entry.ended) await this.complete(entry);
      })
      .catch((err: unknown) => this.fail(err));
  }

  /** The entry's data descriptor and central directory record; then the next entry's turn. */
  async complete(entry: Entry): Promise<void> {
    const { record } = entry;
    await this.out(dataDescriptor(record, this.options.forceZip64));
    this.addRecord(centralRecord(record, this.options.forceZip64));
    const dataOffset = record.offset + 30 + record.name.length;
    this.options.onEntryWritten?.({
      name: entry.name,
      method: record.method,
      crc32: record.crc32,
      size: record.size,
      compressedSize: record.compressedSize,
      offset: record.offset,
      dataOffset,
      end: this.offset,
    });
    this.queue.shift();
    entry.completed.resolve();
    const next = this.queue[0];
    if (next) this.promote(next);
  }

  private addRecord(record: Buffer): void {
    this.pendingRecords.push(record);
    this.pendingSize += record.length;
    if (this.pendingSize >= 64 * 1024) this.flushRecords();
  }

  private flushRecords(): void {
    if (this.pendingRecords.length === 0) return;
    this.directory.push(Buffer.concat(this.pendingRecords, this.pendingSize));
    this.pendingRecords = [];
    this.pendingSize = 0;
  }

  private tookBytes(n: number): void {
    this.flushed += n;
    if (this.flushWaiters.length === 0) return;
    const ready = this.flushWaiters.filter((w) => w.at <= this.flushed);
    this.flushWaiters = this.flushWaiters.filter((w) => w.at > this.flushed);
    for (const w of ready) w.resolve();
  }

  private fail(err: unknown): void {
    this.failure.reject(err);
    for (const entry of this.queue) {
      entry.promoted.reject(err);
      entry.completed.reject(err);
    }
    for (const spool of this.spools) void spool.close();
    this.spools.clear();
  }
}
