import { createHash } from 'node:crypto';
import { once } from 'node:events';
import * as fs from 'node:fs';
import { PassThrough, Readable } from 'node:stream';
import * as zlib from 'node:zlib';
import yauzl from 'yauzl';
import { crc32 } from '../shared/crc32';
import { ExitPlanError, throwIfAborted } from '../shared/errors';
import { CsvRowScanner } from './csvRows';
import type { Manifest } from './model';

export interface VerifyOptions {
  signal?: AbortSignal;
  /** Called with the number of uncompressed bytes read, as they are read. */
  onBytes?: (bytes: number) => void;
}

export interface VerifyResult {
  entries: number;
  files: number;
  rows: number;
  bytes: number;
}

const REQUIRED = ['manifest.json', 'schema.sql', 'README.txt'];
const INFLATE_CHUNK = 256 * 1024;

/** An archive that is not a local file (e.g. a blob read by ranges). */
export interface ZipSource {
  label: string;
  open(): Promise<yauzl.ZipFile>;
}

/**
 * Reads a warehouse archive back: the central directory, every entry's size and CRC-32, and every CSV
 * file's SHA-256 and row count against manifest.json. Throws an ExitPlanError naming the first problem.
 */
export async function verifyArchive(source: string | ZipSource, options: VerifyOptions = {}): Promise<VerifyResult> {
  const file = typeof source === 'string' ? source : source.label;
  const open = typeof source === 'string' ? () => openFile(source) : source.open;
  const openZip = () =>
    open().catch((err: unknown) => {
      throw new ExitPlanError(`The archive ${file} cannot be read as a zip (${(err as Error).message}).`, 'EVERIFY', { cause: err });
    });
  // Two passes over the central directory, holding one entry at a time (an archive can have hundreds of
  // thousands): the first finds manifest.json (written last), the second checks every entry against it.
  const opened: yauzl.ZipFile[] = [];
  try {
    const zip = await openZip();
    opened.push(zip);
    const names = new Set<string>();
    let manifestEntry: yauzl.Entry | undefined;
    for await (const entry of entriesOf(zip)) {
      names.add(entry.fileName);
      if (entry.fileName === 'manifest.json') manifestEntry ??= entry;
    }
    for (const required of REQUIRED) {
      if (!names.has(required)) throw new ExitPlanError(`The archive ${file} has no ${required}.`, 'EVERIFY');
    }
    const manifest = JSON.parse((await readEntry(zip, manifestEntry!, options)).text!) as Manifest;
    const expected = new Map(manifest.tables.flatMap((t) => t.files.map((f) => [f.name, f] as const)));
    let entries = 0;
    let rows = 0;
    let bytes = 0;
    const again = await openZip();
    opened.push(again);
    for await (const entry of entriesOf(again)) {
      throwIfAborted(options.signal);
      entries++;
      if (entry.fileName === 'manifest.json') continue;
      const want = expected.get(entry.fileName);
      const got = await readEntry(again, entry, options, want !== undefined);
      bytes += got.bytes;
      if (!want) continue;
      if (got.bytes !== want.bytes) throw mismatch(file, entry.fileName, `${got.bytes} bytes, the manifest says ${want.bytes}`);
      if (got.sha256 !== want.sha256) throw mismatch(file, entry.fileName, 'its SHA-256 differs from the manifest');
      if (got.rows !== want.rows) throw mismatch(file, entry.fileName, `${got.rows} rows, the manifest says ${want.rows}`);
      rows += got.rows!;
      expected.delete(entry.fileName);
    }
    if (expected.size > 0) throw mismatch(file, [...expected.keys()][0], 'it is listed in the manifest but missing from the archive');
    return { entries, files: names.size - REQUIRED.length, rows, bytes };
  } finally {
    for (const zip of opened) zip.close();
  }
}

/** The entries of a zip opened with lazyEntries, one at a time, in central directory order. */
async function* entriesOf(zip: yauzl.ZipFile): AsyncGenerator<yauzl.Entry> {
  for (;;) {
    const next = new Promise<yauzl.Entry | undefined>((resolve, reject) => {
      const settle = (fn: () => void) => () => {
        zip.off('entry', onEntry).off('end', onEnd).off('error', onError);
        fn();
      };
      const onEntry = (entry: yauzl.Entry) => settle(() => resolve(entry))();
      const onEnd = settle(() => resolve(undefined));
      const onError = (err: Error) => settle(() => reject(err))();
      zip.on('entry', onEntry).on('end', onEnd).on('error', onError);
    });
    zip.readEntry();
    const entry = await next;
    if (!entry) return;
    yield entry;
  }
}

const WINDOW = 1 << 20;

/** The bytes from start to end of an open file, in chunks of INFLATE_CHUNK, by positional reads. */
async function* readRange(handle: fs.promises.FileHandle, start: number, end: number): AsyncGenerator<Buffer> {
  for (let position = start; position < end;) {
    const chunk = Buffer.allocUnsafe(Math.min(INFLATE_CHUNK, end - position));
    const { bytesRead } = await handle.read(chunk, 0, chunk.length, position);
    if (bytesRead === 0) return;
    position += bytesRead;
    yield chunk.subarray(0, bytesRead);
  }
}

/** A local archive read through ReadAheadReader (lazy entries, sizes validated). */
export async function openFile(file: string): Promise<yauzl.ZipFile> {
  const handle = await fs.promises.open(file, 'r');
  try {
    const { size } = await handle.stat();
    return await yauzl.fromRandomAccessReaderPromise(new ReadAheadReader(handle, size), size, {
      lazyEntries: true,
      validateEntrySizes: true,
      autoClose: false,
    });
  } catch (err) {
    await handle.close().catch(() => undefined);
    throw err;
  }
}

/**
 * Serves yauzl's small reads (central directory records, local headers, small entries) from two 1 MiB windows
 * read ahead, one following the central directory and one the entries: with many small entries, two or three
 * reads from disk for each, one after the other, were most of the time. Larger ranges are streamed from the file.
 */
class ReadAheadReader extends yauzl.RandomAccessReader {
  private windows: { start: number; data: Buffer }[] = [];

  constructor(
    private readonly handle: fs.promises.FileHandle,
    private readonly size: number,
  ) {
    super();
  }

  read(buffer: Buffer, offset: number, length: number, position: number, callback: (err: Error | null, bytesRead?: number) => void): void {
    this.slice(position, position + length).then(
      (data) => callback(null, data.copy(buffer, offset)),
      (err: Error) => callback(err),
    );
  }

  _readStreamForRange(start: number, end: number): Readable {
    // Positional reads of the shared handle, never handle.createReadStream: an fs stream closes its file when it
    // is destroyed (whatever autoClose says), and the next entry's read would fail with EBADF ("file closed").
    if (end - start > WINDOW) return Readable.from(readRange(this.handle, start, end), { objectMode: false });
    const out = new PassThrough();
    this.slice(start, end).then(
      (data) => out.end(data),
      (err: Error) => out.destroy(err),
    );
    return out;
  }

  close(callback: (err: Error | null) => void): void {
    this.handle.close().then(() => callback(null), callback);
  }

  /** The bytes from start to end (fewer at the end of the file). */
  private async slice(start: number, end: number): Promise<Buffer> {
    let window = this.windows.find((w) => start >= w.start && end <= w.start + w.data.length);
    if (!window) {
      const data = Buffer.allocUnsafe(Math.max(0, Math.min(Math.max(WINDOW, end - start), this.size - start)));
      const { bytesRead } = await this.handle.read(data, 0, data.length, start);
      window = { start, data: data.subarray(0, bytesRead) };
    }
    // Most recently used first; the third is dropped.
    this.windows = [window, ...this.windows.filter((w) => w !== window)].slice(0, 2);
    return window.data.subarray(start - window.start, Math.min(end, window.start + window.data.length) - window.start);
  }
}

function mismatch(file: string, entry: string, what: string): ExitPlanError {
  return new ExitPlanError(`The archive ${file} failed verification: ${entry} has ${what}.`, 'EVERIFY');
}

async function readEntry(
  zip: yauzl.ZipFile,
  entry: yauzl.Entry,
  options: VerifyOptions,
  csv = false,
): Promise<{ bytes: number; sha256: string; rows?: number; text?: string }> {
  // Raw bytes, inflated here with 256 KiB chunks: several times faster than the 16 KiB default. An entry that
  // small is inflated at once, in this thread: with many small entries (--max-rows-per-file 1), a 256 KiB
  // buffer and several round trips to zlib's thread pool for each were most of the time and memory.
  const deflated = entry.compressionMethod === 8;
  const raw = await new Promise<Readable>((resolve, reject) =>
    zip.openReadStream(entry, deflated ? { decompress: false } : {}, (err, s) => (err ? reject(err) : resolve(s!))),
  );
  const small = deflated && entry.compressedSize <= INFLATE_CHUNK && entry.uncompressedSize <= INFLATE_CHUNK;
  const stream = deflated && !small ? raw.pipe(zlib.createInflateRaw({ chunkSize: INFLATE_CHUNK })) : raw;
  raw.on('error', (err) => stream.destroy(err));
  const chunks = small ? inflateAtOnce(raw) : (stream as AsyncIterable<Buffer>);
  const hash = createHash('sha256');
  const scanner = csv ? new CsvRowScanner() : undefined;
  const keep: Buffer[] | undefined = entry.fileName === 'manifest.json' ? [] : undefined;
  let crc = 0;
  let bytes = 0;
  let lines = 0;
  try {
    for await (const chunk of chunks) {
      crc = crc32(chunk, crc);
      hash.update(chunk);
      bytes += chunk.length;
      if (scanner) lines += scanner.scan(chunk).rows;
      keep?.push(chunk);
      options.onBytes?.(chunk.length);
      if (options.signal?.aborted) {
        stream.destroy();
        await once(stream, 'close').catch(() => undefined);
        throwIfAborted(options.signal);
      }
    }
  } catch (err) {
    if (err instanceof ExitPlanError) throw err;
    throw new ExitPlanError(`The archive failed verification: ${entry.fileName} cannot be read (${(err as Error).message}).`, 'EVERIFY', {
      cause: err,
    });
  }
  if (bytes !== entry.uncompressedSize) {
    throw new ExitPlanError(
      `The archive failed verification: ${entry.fileName} has ${bytes} bytes, the central directory says ${entry.uncompressedSize}.`,
      'EVERIFY',
    );
  }
  if (crc >>> 0 !== entry.crc32) {
    throw new ExitPlanError(`The archive failed verification: ${entry.fileName} has a wrong CRC-32.`, 'EVERIFY');
  }
  return {
    bytes,
    sha256: hash.digest('hex'),
    // The first line of each CSV file is its header.
    rows: scanner ? Math.max(0, lines - 1) : undefined,
    text: keep ? Buffer.concat(keep).toString('utf8') : undefined,
  };
}

/** A small deflated entry, read whole and inflated in one call (at most INFLATE_CHUNK + 1 bytes come out). */
async function* inflateAtOnce(raw: Readable): AsyncGenerator<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of raw as AsyncIterable<Buffer>) parts.push(part);
  yield zlib.inflateRawSync(Buffer.concat(parts), { maxOutputLength: INFLATE_CHUNK + 1 });
}
