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

/** What a CSV file must read back as: the values the manifest gives it. */
export interface ExpectedFile {
  bytes: number;
  sha256: string;
  rows: number;
}

const READ_CHUNK = 1 << 20;

/**
 * Checks a warehouse archive while it is being written: each entry, as soon as its last byte is in the file,
 * is read back from the file, inflated, and its size, CRC-32, SHA-256 and rows compared with what was written
 * and what the manifest says, while the next entries are exported. `finish` then checks manifest.json against
 * every file read back, and the finished archive's central directory (read by yauzl, as a reader would) against
 * every entry checked. The same checks as verifyArchive after the fact, overlapped with the export.
 */
export class ArchiveCheck {
  private readonly expected = new Map<string, ExpectedFile>();
  /** Each CSV file as read back, for the manifest check. */
  private readonly readBack = new Map<string, ExpectedFile>();
  /** Every entry checked, in archive order, for the central directory check. */
  private readonly checked: WrittenEntry[] = [];
  private manifestText: string | undefined;
  private queue: Promise<void> = Promise.resolve();
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

  /** What a CSV file must read back as; told before its entry ends. */
  expect(name: string, file: ExpectedFile): void {
    this.expected.set(name, file);
  }

  /** Queues the check of an entry just written (the ZipWriter's onEntryWritten). */
  add(entry: WrittenEntry): void {
    this.queue = this.queue.then(async () => {
      if (this.firstError !== undefined || this.signal.aborted) return;
      try {
        await Promise.race([this.zip.flushedTo(entry.end), this.zip.failed]);
        const started = performance.now();
        await this.checkEntry(entry);
        this.busyMs += performance.now() - started;
      } catch (err) {
        this.firstError ??= err;
      }
    });
  }

  /**
   * Waits for the entries still being checked, then checks manifest.json against the files read back and the
   * finished archive's central directory against the entries checked. Throws the first problem found.
   */
  async finish(manifest: Manifest): Promise<{ entries: number; files: number; rows: number; bytes: number }> {
    await this.queue;
    try {
      if (this.firstError !== undefined) throw this.firstError;
      this.checkManifest(manifest);
      await this.checkDirectory();
      return { entries: this.checked.length, files: this.readBack.size, rows: this.rows, bytes: this.bytes };
    } finally {
      await this.close();
    }
  }

  async close(): Promise<void> {
    const handle = this.handle;
    this.handle = undefined;
    if (handle) await (await handle.catch(() => undefined))?.close().catch(() => undefined);
  }

  private fail(entry: string, what: string): ExitPlanError {
    return new ExitPlanError(`The archive ${this.file} failed verification: ${entry} ${what}.`, 'EVERIFY');
  }

  private async checkEntry(entry: WrittenEntry): Promise<void> {
    const handle = await (this.handle ??= fs.promises.open(this.file, 'r'));
    // The local header and the data descriptor, as written.
    const header = await readExactly(handle, entry.offset, 30 + Buffer.byteLength(entry.name));
    if (header.readUInt32LE(0) !== 0x04034b50 || header.readUInt16LE(8) !== entry.method || header.toString('utf8', 30) !== entry.name) {
      throw this.fail(entry.name, 'has a damaged local header');
    }
    const descriptorAt = entry.dataOffset + entry.compressedSize;
    const descriptor = await readExactly(handle, descriptorAt, entry.end - descriptorAt);
    const zip64 = descriptor.length === 24;
    if (
      descriptor.readUInt32LE(0) !== 0x08074b50 ||
      descriptor.readUInt32LE(4) !== entry.crc32 ||
      (zip64 ? Number(descriptor.readBigUInt64LE(8)) : descriptor.readUInt32LE(8)) !== entry.compressedSize ||
      (zip64 ? Number(descriptor.readBigUInt64LE(16)) : descriptor.readUInt32LE(12)) !== entry.size
    ) {
      throw this.fail(entry.name, 'has a damaged data descriptor');
    }
    // The data, inflated from the file.
    const want = this.expected.get(entry.name);
    const csv = want !== undefined;
    const hash = createHash('sha256');
    const scanner = csv ? new CsvRowScanner() : undefined;
    const keep: Buffer[] | undefined = entry.name === 'manifest.json' ? [] : undefined;
    let crc = 0;
    let bytes = 0;
    let lines = 0;
    const take = (chunk: Buffer) => {
      crc = crc32(chunk, crc);
      hash.update(chunk);
      bytes += chunk.length;
      if (scanner) lines += scanner.scan(chunk).rows;
      keep?.push(chunk);
      this.onBytes(chunk.length);
    };
    // One read buffer, refilled once the inflater has consumed it; its output is taken as it comes.
    const inflater = entry.method === METHOD_DEFLATE ? zlib.createInflateRaw({ chunkSize: 256 * 1024 }) : undefined;
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
        if (!inflater) take(Buffer.from(chunk));
        else await new Promise<void>((resolve, reject) => inflater.write(chunk, (err) => (err ? reject(err) : resolve())));
      }
      inflater?.end();
      await done;
    } catch (err) {
      inflater?.destroy();
      if (this.signal.aborted) throw this.signal.reason;
      throw this.fail(entry.name, `cannot be read back (${errorMessage(err).replace(/\.$/, '')})`);
    }
    if (inflater && inflater.bytesWritten !== entry.compressedSize) {
      throw this.fail(entry.name, 'has data after the end of its deflate stream');
    }
    if (bytes !== entry.size) throw this.fail(entry.name, `has ${bytes} bytes, ${entry.size} were written`);
    if (crc >>> 0 !== entry.crc32) throw this.fail(entry.name, 'has a wrong CRC-32');
    this.bytes += bytes;
    this.checked.push(entry);
    if (keep) this.manifestText = Buffer.concat(keep).toString('utf8');
    if (!want) return;
    const sha256 = hash.digest('hex');
    // The first line of each CSV file is its header.
    const rows = Math.max(0, lines - 1);
    if (bytes !== want.bytes) throw this.fail(entry.name, `has ${bytes} bytes, the manifest says ${want.bytes}`);
    if (sha256 !== want.sha256) throw this.fail(entry.name, 'has a SHA-256 that differs from the manifest');
    if (rows !== want.rows) throw this.fail(entry.name, `has ${rows} rows, the manifest says ${want.rows}`);
    this.rows += rows;
    this.readBack.set(entry.name, { bytes, sha256, rows });
    this.expected.delete(entry.name);
  }

  /** manifest.json as read back from the archive lists exactly the files read back, with their sizes, hashes and rows. */
  private checkManifest(manifest: Manifest): void {
    if (this.manifestText === undefined) throw this.fail('manifest.json', 'is missing');
    let read: Manifest;
    try {
      read = JSON.parse(this.manifestText) as Manifest;
    } catch {
      throw this.fail('manifest.json', 'is not valid JSON');
    }
    if (JSON.stringify(read) !== JSON.stringify(manifest)) throw this.fail('manifest.json', 'differs from the manifest written');
    let files = 0;
    for (const table of read.tables) {
      for (const file of table.files) {
        files++;
        const got = this.readBack.get(file.name);
        if (!got) throw this.fail(file.name, 'is listed in the manifest but missing from the archive');
        if (got.bytes !== file.bytes || got.sha256 !== file.sha256 || got.rows !== file.rows) {
          throw this.fail(file.name, 'differs from its line in the manifest');
        }
      }
    }
    if (files !== this.readBack.size) throw this.fail('manifest.json', 'does not list every CSV file of the archive');
  }

  /** The finished archive's central directory, read as a zip reader reads it, names every entry checked, as written. */
  private async checkDirectory(): Promise<void> {
    let zip: yauzl.ZipFile;
    try {
      zip = await yauzl.openPromise(this.file, { lazyEntries: true, autoClose: false, validateEntrySizes: true });
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
        const want = this.checked[index++];
        if (
          !want ||
          entry.fileName !== want.name ||
          entry.crc32 !== want.crc32 ||
          entry.compressedSize !== want.compressedSize ||
          entry.uncompressedSize !== want.size ||
          entry.relativeOffsetOfLocalHeader !== want.offset ||
          entry.compressionMethod !== want.method
        ) {
          throw this.fail(entry.fileName, 'does not match its central directory record');
        }
      }
      if (index !== this.checked.length) throw this.fail(this.checked[index].name, 'is missing from the central directory');
    } finally {
      zip.close();
    }
  }
}

async function readExactly(handle: fs.promises.FileHandle, position: number, length: number): Promise<Buffer> {
  const buffer = Buffer.alloc(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await handle.read(buffer, done, length - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return buffer.subarray(0, done);
}
