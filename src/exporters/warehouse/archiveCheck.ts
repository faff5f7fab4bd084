import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { finished } from 'node:stream/promises';
import * as zlib from 'node:zlib';
import yauzl from 'yauzl';
import { crc32 } from '../shared/crc32';
import { ExitPlanError, errorMessage } from '../shared/errors';
import { METHOD_DEFLATE } from '../shared/zip/format';
import type { WrittenEntry, ZipWriter } from '../shared/zip/writer';
import { CsvRowScanner } from './csvRows';
import type { Manifest } from './model';
import { openFile } from './verify';

/** What an entry must read back as: for a CSV file the values the manifest gives it, for the archive's own files their text's. */
export interface ExpectedEntry {
  bytes: number;
  sha256: string;
  /** CSV files: rows after the header line. */
  rows?: number;
}

const READ_CHUNK = 256 * 1024;
/** An entry (with its header and data descriptor) this small is read in one go and inflated at once. */
const SMALL_ENTRY = 256 * 1024;
/** Small entries one after another are read together, up to this many bytes. */
const READ_WINDOW = 1 << 20;
/** Entries written and not yet checked, at most: the export waits (room()) rather than let them pile up. */
const MAX_PENDING = 256;

/**
 * Checks a warehouse archive while it is being written: each entry, as soon as its last byte is in the file,
 * is read back from the file (its local header, data, data descriptor), inflated, and its size, CRC-32,
 * SHA-256 and rows compared with what was written, which is what the manifest says, while the next entries
 * are exported. `finish` then checks that manifest.json as read back is the manifest whose files were all
 * read back, and that the finished archive's central directory (read by yauzl, as a reader would) records
 * every entry as checked. The same checks as verifyArchive after the fact, overlapped with the export.
 */
export class ArchiveCheck {
  private readonly expected = new Map<string, ExpectedEntry>();
  /** CSV files read back as the manifest says. */
  private readonly verified = new Set<string>();
  /** Every entry checked, in archive order, for the central directory check (compact: there can be many). */
  private readonly checked = new EntryList();
  /** Entries written and not checked yet, in order; one loop checks them. */
  private readonly pending: WrittenEntry[] = [];
  private running: Promise<void> | undefined;
  /** Resolved when fewer than MAX_PENDING entries wait. */
  private roomWaiters: (() => void)[] = [];
  private handle: Promise<fs.promises.FileHandle> | undefined;
  private firstError: unknown;
  /** Milliseconds during which some entry was being checked. */
  busyMs = 0;
  bytes = 0;
  rows = 0;

  constructor(
    private readonly file: string,
    private readonly zip: ZipWriter,
    private readonly signal: AbortSignal,
    private readonly onBytes: (bytes: number) => void = () => undefined,
  ) {}

  /** What an entry must read back as; told before the entry ends. */
  expect(name: string, entry: ExpectedEntry): void {
    this.expected.set(name, entry);
  }

  /** Waits while too many entries wait to be checked (many small parts are written faster than they are read back). */
  async room(): Promise<void> {
    while (this.pending.length >= MAX_PENDING && this.running && this.firstError === undefined && !this.signal.aborted) {
      await new Promise<void>((resolve) => this.roomWaiters.push(resolve));
    }
  }

  /** Queues the check of an entry just written (the ZipWriter's onEntryWritten). */
  add(entry: WrittenEntry): void {
    this.pending.push(entry);
    this.running ??= this.drain().finally(() => (this.running = undefined));
  }

  /**
   * Waits for the entries still being checked, then checks manifest.json and the finished archive's central
   * directory. Throws the first problem found.
   */
  async finish(manifest: Manifest): Promise<{ entries: number; files: number; rows: number; bytes: number }> {
    try {
      while (this.running) await this.running;
      if (this.firstError !== undefined) throw this.firstError;
      if (this.expected.size > 0) throw this.fail([...this.expected.keys()][0], 'was never written');
      let files = 0;
      for (const table of manifest.tables) {
        for (const file of table.files) {
          files++;
          if (!this.verified.has(file.name)) throw this.fail(file.name, 'is listed in the manifest but was not read back from the archive');
        }
      }
      if (files !== this.verified.size) throw this.fail('manifest.json', 'does not list every CSV file of the archive');
      await this.checkDirectory();
      return { entries: this.checked.count, files, rows: this.rows, bytes: this.bytes };
    } finally {
      await this.close();
    }
  }

  async close(): Promise<void> {
    const handle = this.handle;
    this.handle = undefined;
    if (handle) await (await handle.catch(() => undefined))?.close().catch(() => undefined);
  }

  private async drain(): Promise<void> {
    try {
      while (this.pending.length > 0) {
        // A run of small entries one after another, read together; or one entry.
        let count = 1;
        const first = this.pending[0];
        if (first.end - first.offset <= SMALL_ENTRY) {
          while (
            count < this.pending.length &&
            this.pending[count].offset === this.pending[count - 1].end &&
            this.pending[count].end - first.offset <= READ_WINDOW
          ) {
            count++;
          }
        }
        const run = this.pending.slice(0, count);
        const last = run[run.length - 1];
        if (this.firstError === undefined && !this.signal.aborted) {
          try {
            await Promise.race([this.zip.flushedTo(last.end), this.zip.failed]);
            const started = performance.now();
            const handle = await (this.handle ??= fs.promises.open(this.file, 'r'));
            const window =
              last.end - first.offset <= READ_WINDOW ? await readExactly(handle, first.offset, last.end - first.offset) : undefined;
            for (const entry of run)
              await this.checkEntry(entry, window && window.subarray(entry.offset - first.offset, entry.end - first.offset));
            this.busyMs += performance.now() - started;
          } catch (err) {
            this.firstError ??= err;
          }
        }
        this.pending.splice(0, count);
        if (this.pending.length < MAX_PENDING) for (const wake of this.roomWaiters.splice(0)) wake();
      }
    } finally {
      for (const wake of this.roomWaiters.splice(0)) wake();
    }
  }

  private fail(entry: string, what: string): ExitPlanError {
    return new ExitPlanError(`The archive ${this.file} failed verification: ${entry} ${what}.`, 'EVERIFY');
  }

  /** Checks one entry: from `whole` (its bytes, header to data descriptor) when given, else read from the file. */
  private async checkEntry(entry: WrittenEntry, whole?: Buffer): Promise<void> {
    const handle = await (this.handle ??= fs.promises.open(this.file, 'r'));
    const headerLength = 30 + Buffer.byteLength(entry.name);
    const descriptorAt = entry.dataOffset + entry.compressedSize;
    const header = whole ? whole.subarray(0, headerLength) : await readExactly(handle, entry.offset, headerLength);
    const descriptor = whole
      ? whole.subarray(descriptorAt - entry.offset)
      : await readExactly(handle, descriptorAt, entry.end - descriptorAt);
    if (
      header.length !== headerLength ||
      header.readUInt32LE(0) !== 0x04034b50 ||
      header.readUInt16LE(8) !== entry.method ||
      header.toString('utf8', 30) !== entry.name
    ) {
      throw this.fail(entry.name, 'has a damaged local header');
    }
    const zip64 = descriptor.length === 24;
    if (
      (descriptor.length !== 16 && !zip64) ||
      descriptor.readUInt32LE(0) !== 0x08074b50 ||
      descriptor.readUInt32LE(4) !== entry.crc32 ||
      (zip64 ? Number(descriptor.readBigUInt64LE(8)) : descriptor.readUInt32LE(8)) !== entry.compressedSize ||
      (zip64 ? Number(descriptor.readBigUInt64LE(16)) : descriptor.readUInt32LE(12)) !== entry.size
    ) {
      throw this.fail(entry.name, 'has a damaged data descriptor');
    }

    const want = this.expected.get(entry.name);
    const hash = createHash('sha256');
    const scanner = want?.rows !== undefined ? new CsvRowScanner() : undefined;
    let crc = 0;
    let bytes = 0;
    let lines = 0;
    const take = (chunk: Buffer) => {
      crc = crc32(chunk, crc);
      hash.update(chunk);
      bytes += chunk.length;
      if (scanner) lines += scanner.scan(chunk).rows;
      this.onBytes(chunk.length);
    };
    try {
      if (whole) {
        const data = whole.subarray(headerLength, descriptorAt - entry.offset);
        take(
          entry.method === METHOD_DEFLATE
            ? zlib.inflateRawSync(data, { maxOutputLength: entry.size + 1, chunkSize: Math.max(64, entry.size + 1) })
            : data,
        );
      } else {
        await this.inflateFrom(handle, entry, descriptorAt, take);
      }
    } catch (err) {
      if (this.signal.aborted) throw this.signal.reason;
      if (err instanceof ExitPlanError) throw err;
      throw this.fail(entry.name, `cannot be read back (${errorMessage(err).replace(/\.$/, '')})`);
    }
    if (bytes !== entry.size) throw this.fail(entry.name, `has ${bytes} bytes, ${entry.size} were written`);
    if (crc >>> 0 !== entry.crc32) throw this.fail(entry.name, 'has a wrong CRC-32');
    this.bytes += bytes;
    this.checked.push(entry);
    if (!want) return;
    this.expected.delete(entry.name);
    const sha256 = hash.digest('hex');
    // The first line of each CSV file is its header.
    const rows = Math.max(0, lines - 1);
    if (bytes !== want.bytes) throw this.fail(entry.name, `has ${bytes} bytes, the manifest says ${want.bytes}`);
    if (sha256 !== want.sha256) throw this.fail(entry.name, 'has a SHA-256 that differs from the manifest');
    if (want.rows === undefined) return;
    if (rows !== want.rows) throw this.fail(entry.name, `has ${rows} rows, the manifest says ${want.rows}`);
    this.rows += rows;
    this.verified.add(entry.name);
  }

  /** Streams a large entry's data from the file through one inflater, one read buffer refilled once consumed. */
  private async inflateFrom(
    handle: fs.promises.FileHandle,
    entry: WrittenEntry,
    descriptorAt: number,
    take: (chunk: Buffer) => void,
  ): Promise<void> {
    const inflater = entry.method === METHOD_DEFLATE ? zlib.createInflateRaw({ chunkSize: READ_CHUNK }) : undefined;
    try {
      inflater?.on('data', take);
      const done = inflater && finished(inflater);
      done?.catch(() => undefined);
      const buffer = Buffer.allocUnsafe(READ_CHUNK);
      for (let position = entry.dataOffset; position < descriptorAt;) {
        if (this.signal.aborted) throw this.signal.reason;
        const { bytesRead } = await handle.read(buffer, 0, Math.min(READ_CHUNK, descriptorAt - position), position);
        if (bytesRead === 0) throw new Error('the file ends early');
        position += bytesRead;
        const chunk = buffer.subarray(0, bytesRead);
        if (!inflater) take(chunk);
        else await new Promise<void>((resolve, reject) => inflater.write(chunk, (err) => (err ? reject(err) : resolve())));
      }
      inflater?.end();
      await done;
    } finally {
      inflater?.destroy();
    }
    if (inflater && inflater.bytesWritten !== entry.compressedSize)
      throw this.fail(entry.name, 'has data after the end of its deflate stream');
  }

  /** The finished archive's central directory, read as a zip reader reads it, records every entry checked, as written. */
  private async checkDirectory(): Promise<void> {
    let zip: yauzl.ZipFile;
    try {
      // Through read-ahead windows: yauzl alone reads each record of the directory with its own read.
      zip = await openFile(this.file);
    } catch (err) {
      throw new ExitPlanError(`The archive ${this.file} cannot be read as a zip (${errorMessage(err)}).`, 'EVERIFY', { cause: err });
    }
    try {
      let index = 0;
      for (;;) {
        const entry = await new Promise<yauzl.Entry | undefined>((resolve, reject) => {
          zip
            .once('entry', resolve)
            .once('end', () => resolve(undefined))
            .once('error', reject);
          zip.readEntry();
        }).finally(() => zip.removeAllListeners('entry').removeAllListeners('end').removeAllListeners('error'));
        if (!entry) break;
        const matches =
          index < this.checked.count &&
          this.checked.matches(index, [
            entry.fileName,
            entry.crc32,
            entry.compressedSize,
            entry.uncompressedSize,
            entry.relativeOffsetOfLocalHeader,
            entry.compressionMethod,
          ]);
        index++;
        if (!matches) throw this.fail(entry.fileName, 'does not match its central directory record');
      }
      if (index !== this.checked.count) throw this.fail(this.checked.name(index), 'is missing from the central directory');
    } finally {
      zip.close();
    }
  }
}

async function readExactly(handle: fs.promises.FileHandle, position: number, length: number): Promise<Buffer> {
  const buffer = Buffer.allocUnsafe(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await handle.read(buffer, done, length - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return buffer.subarray(0, done);
}

/** Entries as checked, a name and five numbers each (CRC-32, compressed size, size, offset, method). */
class EntryList {
  private names: string[] = [];
  private numbers = new Float64Array(5 * 1024);
  count = 0;

  push(entry: WrittenEntry): void {
    if (5 * (this.count + 1) > this.numbers.length) {
      const bigger = new Float64Array(this.numbers.length * 2);
      bigger.set(this.numbers);
      this.numbers = bigger;
    }
    this.names.push(entry.name);
    this.numbers.set([entry.crc32, entry.compressedSize, entry.size, entry.offset, entry.method], 5 * this.count);
    this.count++;
  }

  name(index: number): string {
    return this.names[index];
  }

  matches(index: number, [name, ...values]: [string, number, number, number, number, number]): boolean {
    return this.names[index] === name && values.every((v, i) => this.numbers[5 * index + i] === v);
  }
}
