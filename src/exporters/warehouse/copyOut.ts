import type { Client } from 'pg';

/**
 * Rows of a `COPY … TO STDOUT`, gathered contiguously: `data` holds whole rows (and, when a row is larger than
 * the batch, the start of one), `ends[i]` is the offset just past row i. Valid until the next batch is asked for.
 */
export interface CopyBatch {
  data: Buffer;
  rows: number;
  ends: Uint32Array;
}

const COPY_DATA = 0x64; // d
const COPY_OUT_RESPONSE = 0x48; // H
// May come between CopyData messages (protocol, "COPY Operations").
const NOTICE = 0x4e; // N
const PARAMETER_STATUS = 0x53; // S
const NOTIFICATION = 0x41; // A

const BATCH_SIZE = 256 * 1024;

interface PgConnection {
  stream: NodeJS.ReadableStream & {
    read(): Buffer | null;
    listeners(event: 'data'): ((chunk: Buffer) => void)[];
    removeListener(event: string, listener: (...args: unknown[]) => void): unknown;
    pause(): unknown;
    resume(): unknown;
  };
  query(text: string): void;
}

/**
 * `COPY … TO STDOUT` read straight from the connection's socket, as pg-copy-streams does (the connection's
 * parser is set aside until CopyDone), but without a stream or a buffer per row: PostgreSQL sends each row in
 * one CopyData message (protocol, "COPY Operations"), so the rows are counted by their messages and their
 * bytes copied once into a reused batch. An error (or any other message) hands the rest back to pg, which
 * reports it through `handleError`.
 */
export class CopyOutReader implements AsyncIterable<CopyBatch> {
  /** The server's row count (CommandComplete), once the query is complete. */
  rowCount = 0;
  private connection: PgConnection | undefined;
  private pgDataHandler: ((chunk: Buffer) => void) | undefined;
  /** Socket data not parsed yet. */
  private chunk: Buffer | undefined;
  private at = 0;
  /** A message header split across socket reads. */
  private header = Buffer.alloc(5);
  private headerFill = 0;
  private code = 0;
  /** Bytes of the current message still to come. */
  private remaining = 0;
  private inMessage = false;
  private done = false;
  private failure: unknown;
  private wake: (() => void) | undefined;
  private readonly batch = Buffer.allocUnsafe(BATCH_SIZE);
  private ends: Uint32Array = new Uint32Array(4096);
  private readonly onReadable = () => this.notify();
  // Declared before `complete`, whose initializer sets it (fields are defined in order).
  private settle!: { resolve: () => void; reject: (err: unknown) => void };
  private readonly complete = new Promise<void>((resolve, reject) => {
    this.settle = { resolve, reject };
  });

  constructor(private readonly text: string) {
    this.complete.catch(() => undefined);
  }

  /** Runs the COPY on `client` (pg calls submit). */
  static start(client: Client, text: string): CopyOutReader {
    const reader = new CopyOutReader(text);
    void client.query(reader as never);
    return reader;
  }

  submit(connection: PgConnection): void {
    this.connection = connection;
    const stream = connection.stream;
    const handlers = stream.listeners('data');
    if (handlers.length !== 1) throw new Error('Unexpected pg connection state for COPY.');
    this.pgDataHandler = handlers[0];
    stream.removeListener('data', this.pgDataHandler as (...args: unknown[]) => void);
    stream.pause();
    stream.on('readable', this.onReadable);
    connection.query(this.text);
    this.notify();
  }

  handleError(err: unknown): void {
    this.failure ??= err;
    this.settle.reject(err);
    this.notify();
  }

  handleCommandComplete(msg: { text?: string }): void {
    const match = /COPY (\d+)/.exec(msg?.text ?? '');
    if (match) this.rowCount = Number(match[1]);
  }

  handleReadyForQuery(): void {
    this.settle.resolve();
  }

  /** Waits until the server has ended the query (rowCount is then known); rejects with its error. */
  finished(): Promise<void> {
    return this.complete;
  }

  /** Stops reading: the connection is closed by the caller (a cancel), which ends the COPY. */
  destroy(err: unknown): void {
    this.failure ??= err;
    this.settle.reject(err);
    this.notify();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<CopyBatch> {
    for (;;) {
      if (this.failure !== undefined) throw this.failure;
      const batch = this.fill();
      if (batch) {
        yield batch;
        continue;
      }
      if (this.done) return;
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  /** Parses what the socket has into the batch; undefined when there is nothing yet (or any more). */
  private fill(): CopyBatch | undefined {
    let size = 0;
    let rows = 0;
    while (!this.done && this.failure === undefined) {
      if (!this.chunk || this.at >= this.chunk.length) {
        this.chunk = (this.connection?.stream.read() as Buffer | null) ?? undefined;
        this.at = 0;
        if (!this.chunk) break;
      }
      const chunk = this.chunk;
      if (!this.inMessage) {
        // The header: a code and a length that counts itself.
        const whole = this.headerFill === 0 && chunk.length - this.at >= 5;
        if (whole) {
          this.code = chunk[this.at];
          this.remaining = chunk.readUInt32BE(this.at + 1) - 4;
          this.at += 5;
        } else {
          const n = Math.min(5 - this.headerFill, chunk.length - this.at);
          chunk.copy(this.header, this.headerFill, this.at, this.at + n);
          this.headerFill += n;
          this.at += n;
          if (this.headerFill < 5) continue;
          this.headerFill = 0;
          this.code = this.header[0];
          this.remaining = this.header.readUInt32BE(1) - 4;
        }
        if (this.code !== COPY_DATA && !isInterspersed(this.code)) {
          // CopyDone, an error, or anything else ends copy-out mode: pg reads from its start.
          if (whole) this.at -= 5;
          else {
            this.chunk = Buffer.concat([this.header, chunk.subarray(this.at)]);
            this.at = 0;
          }
          this.detach();
          break;
        }
        this.inMessage = true;
      }
      const n = Math.min(this.remaining, chunk.length - this.at);
      if (this.code === COPY_DATA) {
        if (size + n > BATCH_SIZE && size > 0 && rows > 0) {
          // The row does not fit: this batch ends before it.
          this.inMessage = this.remaining > 0;
          return this.batchOf(size, rows);
        }
        const take = Math.min(n, BATCH_SIZE - size);
        chunk.copy(this.batch, size, this.at, this.at + take);
        size += take;
        this.at += take;
        this.remaining -= take;
        if (this.remaining === 0) {
          if (rows === this.ends.length) this.ends = growTo(this.ends, rows * 2);
          this.ends[rows++] = size;
        }
        if (size === BATCH_SIZE) {
          this.inMessage = this.remaining > 0;
          return this.batchOf(size, rows);
        }
      } else {
        this.at += n;
        this.remaining -= n;
      }
      this.inMessage = this.remaining > 0;
    }
    return size > 0 ? this.batchOf(size, rows) : undefined;
  }

  private batchOf(size: number, rows: number): CopyBatch {
    return { data: this.batch.subarray(0, size), rows, ends: this.ends };
  }

  /** Gives the connection back to pg, with the data not read yet (from CopyDone on). */
  private detach(): void {
    this.done = true;
    const connection = this.connection!;
    const stream = connection.stream;
    stream.removeListener('readable', this.onReadable as (...args: unknown[]) => void);
    const rest = this.chunk ? this.chunk.subarray(this.at) : Buffer.alloc(0);
    this.chunk = undefined;
    stream.on('data', this.pgDataHandler!);
    this.pgDataHandler!(rest);
    // As pg-copy-streams: resume on the next tick, after pg's handler has seen what was read.
    process.nextTick(() => stream.resume());
  }
}

function isInterspersed(code: number): boolean {
  return code === COPY_OUT_RESPONSE || code === NOTICE || code === PARAMETER_STATUS || code === NOTIFICATION;
}

/** A copy of `ends` with room for `length` row ends (batches keep their ends in a growing Uint32Array). */
export function growTo(ends: Uint32Array, length: number): Uint32Array {
  const bigger = new Uint32Array(length);
  bigger.set(ends);
  return bigger;
}
