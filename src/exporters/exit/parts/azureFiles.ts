// Files of an azure part on disk: which blob names can be files, files-manifest.csv (written and read back as
// streams, one row at a time) and the local checks (size, MD5, SHA-256) that verification and resume share.
import { once } from 'node:events';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { csvRow, readCsvRows } from '../../shared/csvFile';

/** The blobs' folder inside the part folder. */
export const BLOBS_DIR = 'blobs';
export const FILES_MANIFEST = 'files-manifest.csv';
const MANIFEST_HEADER = ['path', 'bytes', 'content_md5', 'last_modified'];
/** Every blob verified, with its local copy's SHA-256 (written during verification, in listing order). */
export const FILES_VERIFIED = 'files-verified.csv';
const VERIFIED_HEADER = ['path', 'bytes', 'sha256', 'content_md5'];

/** One blob of the listing taken at the start of the part, as files-manifest.csv records it. */
export interface ListedBlob {
  /** The blob's full name in the container. */
  name: string;
  bytes: number;
  /** Base64 Content-MD5, when the blob has one. */
  md5?: string;
  /** ISO 8601. */
  lastModified?: string;
}

/**
 * Why a blob name cannot be a file under `blobs/` (undefined when it can): such blobs are refused, never renamed,
 * so that every file's path is its blob's name. A name is refused when a segment is empty (a leading `/`, `//`, a
 * trailing `/`), `.` or `..` (it would leave or alias the folder), longer than 255 bytes, or when it holds NUL, CR
 * or LF (not a file name, or not a line of azcopy's list of files).
 */
export function unsafeBlobName(name: string): string | undefined {
  if (/[\0\r\n]/.test(name)) return 'a NUL or a line break';
  for (const segment of name.split('/')) {
    if (segment === '') return 'an empty path segment (a leading, trailing or double "/")';
    if (segment === '.' || segment === '..') return `a "${segment}" path segment`;
    if (Buffer.byteLength(segment) > 255) return 'a path segment longer than 255 bytes';
  }
  return undefined;
}

/** The local file of a blob (its name checked with `unsafeBlobName` first). */
export function blobFile(dir: string, name: string): string {
  return path.join(dir, BLOBS_DIR, ...name.split('/'));
}

/** Writes a CSV file row by row (under a `.partial` name until `finish`), waiting when the disk is behind. */
class CsvWriter {
  private readonly stream: fs.WriteStream;
  private readonly partial: string;

  constructor(
    readonly file: string,
    header: string[],
  ) {
    this.partial = `${file}.partial`;
    this.stream = fs.createWriteStream(this.partial, { flags: 'w' });
    this.stream.write(csvRow(header));
  }

  protected async row(fields: string[]): Promise<void> {
    if (!this.stream.write(csvRow(fields))) await once(this.stream, 'drain');
  }

  async finish(): Promise<void> {
    this.stream.end();
    await once(this.stream, 'finish');
    await fs.promises.rename(this.partial, this.file);
  }

  async discard(): Promise<void> {
    this.stream.end();
    await once(this.stream, 'close').catch(() => undefined);
    await fs.promises.rm(this.partial, { force: true });
  }
}

/** files-manifest.csv: the listing taken at the start of the part. */
export class ManifestWriter extends CsvWriter {
  constructor(file: string) {
    super(file, MANIFEST_HEADER);
  }

  add(blob: ListedBlob): Promise<void> {
    return this.row([blob.name, String(blob.bytes), blob.md5 ?? '', blob.lastModified ?? '']);
  }
}

/** files-verified.csv: each verified blob's local file, size, SHA-256 and Content-MD5. */
export class VerifiedWriter extends CsvWriter {
  constructor(file: string) {
    super(file, VERIFIED_HEADER);
  }

  add(file: { path: string; bytes: number; sha256?: string; md5?: string }): Promise<void> {
    return this.row([file.path, String(file.bytes), file.sha256 ?? '', file.md5 ?? '']);
  }
}

/** The rows of files-manifest.csv, read as a stream (RFC 4180: quoted fields may hold commas, quotes, line breaks). */
export async function* readManifest(file: string): AsyncGenerator<ListedBlob> {
  for await (const fields of readCsvRows(file)) {
    yield { name: fields[0], bytes: Number(fields[1]), md5: fields[2] || undefined, lastModified: fields[3] || undefined };
  }
}

/** Size and hashes of a local file; undefined when it is not there (or not a file). */
export async function localFile(file: string, withHashes: boolean): Promise<{ bytes: number; md5?: string; sha256?: string } | undefined> {
  let stat: fs.Stats;
  try {
    stat = await fs.promises.stat(file);
  } catch {
    return undefined;
  }
  if (!stat.isFile()) return undefined;
  if (!withHashes) return { bytes: stat.size };
  const md5 = createHash('md5');
  const sha256 = createHash('sha256');
  await pipeline(fs.createReadStream(file, { highWaterMark: 1 << 20 }), async (source: AsyncIterable<Buffer>) => {
    for await (const chunk of source) {
      md5.update(chunk);
      sha256.update(chunk);
    }
  });
  return { bytes: stat.size, md5: md5.digest('base64'), sha256: sha256.digest('hex') };
}
