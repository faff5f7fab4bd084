import * as zlib from 'node:zlib';
import { crc32 } from '../crc32';

/**
 * Raw data per block: large enough that its set-up (a zlib stream, its 32 KiB dictionary, the hand-off to the pool:
 * measured, 256 KiB blocks cost the main thread 6 times as much) costs little, small enough
 * to keep few in memory.
 */
export const DEFAULT_BLOCK_SIZE = 1024 * 1024;
/** Deflate looks back at most 32 KiB: each block is primed with the end of the one before. */
const DICTIONARY_SIZE = 32 * 1024;
/** An entry this small is deflated at once on the main thread: a trip to the pool would cost more. */
const SMALL_ENTRY = 16 * 1024;

/**
 * Deflates blocks on libuv's thread pool, at most `threads` at once across every entry: one core each.
 * Node.js runs each `zlib.deflateRaw` call on a pool thread; the pool has 4 threads unless UV_THREADPOOL_SIZE
 * says more (the CLI sets it from the number of cores), so more than that many at once would only queue.
 */
export class DeflatePool {
  private running = 0;
  private readonly queue: (() => void)[] = [];
  /** Block buffers no longer needed, reused rather than left to the garbage collector. */
  private readonly spare: Buffer[] = [];

  constructor(
    readonly threads: number,
    readonly level: number,
    readonly blockSize = DEFAULT_BLOCK_SIZE,
  ) {}

  /**
   * One block as part of a longer deflate stream, as pigz cuts it: primed with the previous block's last
   * 32 KiB, and ended by a sync flush (an empty stored block, so the next block starts on a byte boundary) or,
   * for the last block, by the final block. Concatenated in order, the outputs are one valid deflate stream.
   */
  async deflate(block: Buffer, dictionary: Buffer | undefined, last: boolean, expected: number, started?: () => void): Promise<Buffer> {
    if (this.running >= this.threads) await new Promise<void>((resolve) => this.queue.push(resolve));
    this.running++;
    try {
      return await new Promise<Buffer>((resolve, reject) => {
        zlib.deflateRaw(
          block,
          {
            level: this.level,
            ...(dictionary ? { dictionary } : {}),
            finishFlush: last ? zlib.constants.Z_FINISH : zlib.constants.Z_SYNC_FLUSH,
            // Room for the output as large as expected (the block before's, and a margin): one pass on the pool
            // thread, and no larger buffer than needed left for the garbage collector. More output takes more passes.
            chunkSize: Math.min(block.length + (block.length >> 6) + 1024, Math.max(16 * 1024, expected + (expected >> 3) + 4096)),
          },
          (err, out) => (err ? reject(err) : resolve(out)),
        );
        // zlib has copied the dictionary by now.
        started?.();
      });
    } finally {
      this.running--;
      this.queue.shift()?.();
    }
  }

  /** A block buffer: a spare one when there is one. */
  take(): Buffer {
    return this.spare.pop() ?? Buffer.allocUnsafe(this.blockSize);
  }

  /** Gives back a block buffer nothing reads any more. */
  give(block: Buffer): void {
    if (this.spare.length < this.threads + 2) this.spare.push(block);
  }
}

/**
 * One entry's data, cut into blocks deflated in parallel on the pool and handed to `emit` in order; CRC-32
 * and size over the raw data. At most `threads + 1` blocks of the entry are in flight: `write` waits when
 * more would be, so memory stays bounded whatever the entry's size.
 */
export class EntryCompressor {
  crc32 = 0;
  size = 0;
  /** Taken from the pool at the first byte (an entry may be one short row). */
  private block: Buffer | undefined;
  private fill = 0;
  /** The block submitted last: the next one's dictionary, and its buffer to give back when done. */
  private previous: { buffer: Buffer; data: Buffer; job: Promise<unknown> } | undefined;
  private readonly inFlight: Promise<Buffer>[] = [];
  /** Compressed size of the last block deflated: the next one's likely size. */
  private lastOut = Number.MAX_SAFE_INTEGER;

  constructor(
    private readonly pool: DeflatePool,
    private readonly emit: (compressed: Buffer) => Promise<void>,
  ) {}

  async write(data: Buffer): Promise<void> {
    this.crc32 = crc32(data, this.crc32);
    this.size += data.length;
    if (this.pool.level === 0) return this.emit(data); // stored: the data as it is
    let offset = 0;
    while (offset < data.length) {
      this.block ??= this.pool.take();
      const n = data.copy(this.block, this.fill, offset);
      this.fill += n;
      offset += n;
      if (this.fill === this.block.length) await this.submit(false);
    }
  }

  /** Deflates what is left as the last block and waits until every block is emitted. */
  async end(): Promise<void> {
    if (this.pool.level === 0) return;
    if (!this.previous && this.fill <= SMALL_ENTRY) {
      // The whole entry in one small block.
      const raw = this.block ? this.block.subarray(0, this.fill) : Buffer.alloc(0);
      // An output buffer the size of the data (zlib's default is 16 KiB, for an entry of a few bytes).
      const compressed = zlib.deflateRawSync(raw, { level: this.pool.level, chunkSize: Math.max(64, raw.length + (raw.length >> 3) + 64) });
      if (this.block) this.pool.give(this.block);
      this.block = undefined;
      await this.emit(compressed);
      return;
    }
    await this.submit(true);
    while (this.inFlight.length > 0) await this.emitNext();
  }

  private async submit(last: boolean): Promise<void> {
    const { pool, previous } = this;
    const block = (this.block ??= pool.take());
    const raw = block.subarray(0, this.fill);
    let started!: () => void;
    const dictionaryCopied = new Promise<void>((resolve) => (started = resolve));
    const dictionary = previous?.data.subarray(Math.max(0, previous.data.length - DICTIONARY_SIZE));
    const job = pool.deflate(raw, dictionary, last, Math.round((this.lastOut * raw.length) / this.pool.blockSize), started);
    job.catch(() => undefined); // awaited in order by emitNext; a failure there is the one reported
    this.inFlight.push(job);
    // The previous block's buffer is reused once it is deflated and this block has its dictionary.
    if (previous)
      void Promise.all([previous.job, dictionaryCopied]).then(
        () => pool.give(previous.buffer),
        () => undefined,
      );
    if (last)
      void job.then(
        () => pool.give(block),
        () => undefined,
      );
    this.previous = last ? undefined : { buffer: block, data: raw, job };
    this.block = undefined;
    this.fill = 0;
    while (this.inFlight.length > this.pool.threads) await this.emitNext();
  }

  private async emitNext(): Promise<void> {
    const compressed = await this.inFlight.shift()!;
    this.lastOut = compressed.length;
    await this.emit(compressed);
  }
}
