// The verification that runs while the archive is written: each entry read back from the file as soon as it is
// there. It must pass a sound archive and name the entry and the problem when anything differs.
import * as assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import { ZipWriter } from '../src/exporters/shared/zip/writer';
import { ArchiveCheck, type ExpectedEntry } from '../src/exporters/warehouse/archiveCheck';
import type { Manifest } from '../src/exporters/warehouse/model';
import { tempDir } from './helpers/archive';

/** A CSV file of `rows` rows (after its header) with quotes and line breaks in quoted values. */
function csv(rows: number, seed: string): Buffer {
  const line = (i: number) =>
    `${i},"${seed} ${createHash('md5').update(`${seed}${i}`).digest('hex')}, with ""quotes""\nand a line break"\n`;
  return Buffer.from(`id,text\n${Array.from({ length: rows }, (_, i) => line(i)).join('')}`);
}

interface Options {
  /** Changes the bytes on their way to the file (as a failing disk or a bug would). */
  damage?: (chunk: Buffer, offset: number) => Buffer;
  /** Changes what an entry is expected to be. */
  expect?: (name: string, expected: ExpectedEntry) => ExpectedEntry;
  /** The files the manifest lists. */
  listed?: string[];
}

async function writeAndCheck(dir: string, options: Options = {}) {
  const file = path.join(dir, 'a.zip');
  const fd = fs.openSync(file, 'w');
  let offset = 0;
  const out = new Writable({
    highWaterMark: 64 * 1024,
    write(chunk: Buffer, _encoding, callback) {
      const bytes = options.damage ? options.damage(Buffer.from(chunk), offset) : chunk;
      fs.writeSync(fd, bytes, 0, bytes.length, offset);
      offset += chunk.length;
      callback();
    },
    final(callback) {
      fs.closeSync(fd);
      callback();
    },
  });
  const signal = new AbortController().signal;
  const checks: ArchiveCheck[] = [];
  const zip = new ZipWriter([out], { threads: 2, blockSize: 16 * 1024, onEntryWritten: (entry) => checks[0].add(entry) });
  const check = new ArchiveCheck(file, zip, signal);
  checks.push(check);
  const files: [string, Buffer, number][] = [
    ['a.csv', csv(10, 'a'), 10],
    ['b.csv', csv(3000, 'b'), 3000],
    ['c.csv', csv(0, 'c'), 0],
  ];
  for (const [name, data, rows] of files) {
    const expected = { bytes: data.length, sha256: createHash('sha256').update(data).digest('hex'), rows };
    check.expect(name, options.expect ? options.expect(name, expected) : expected);
    const entry = zip.entry(name, new Date());
    await entry.write(data);
    await entry.end();
  }
  await zip.finish();
  const listed = options.listed ?? files.map(([name]) => name);
  const manifest = { tables: [{ files: listed.map((name) => ({ name })) }] } as unknown as Manifest;
  return check.finish(manifest);
}

describe('archive check while writing', function () {
  this.timeout(60_000);
  let dir: string;
  beforeEach(() => (dir = tempDir('exit-plan-check-')));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('passes a sound archive, every file read back with its rows', async () => {
    assert.deepEqual(await writeAndCheck(dir), {
      entries: 3,
      files: 3,
      rows: 3010,
      bytes: csv(10, 'a').length + csv(3000, 'b').length + 8,
    });
  });

  it('names the entry whose bytes changed on their way to the disk', async () => {
    let flipped = false;
    const damage = (chunk: Buffer, offset: number) => {
      // One byte inside b.csv's compressed data (a.csv's entry is well under 2,000 bytes, b.csv's over 50,000).
      if (!flipped && offset > 2_000 && chunk.length > 100) {
        chunk[chunk.length >> 1] ^= 0xff;
        flipped = true;
      }
      return chunk;
    };
    await assert.rejects(
      writeAndCheck(dir, { damage }),
      /failed verification: b\.csv (cannot be read back|has a wrong CRC-32|has \d+ bytes)/,
    );
  });

  it('names a file whose rows, size or SHA-256 differ from the manifest', async () => {
    await assert.rejects(
      writeAndCheck(dir, { expect: (name, e) => (name === 'b.csv' ? { ...e, rows: 2999 } : e) }),
      /b\.csv has 3000 rows, the manifest says 2999\./,
    );
    await assert.rejects(
      writeAndCheck(dir, { expect: (name, e) => (name === 'a.csv' ? { ...e, sha256: '0'.repeat(64) } : e) }),
      /a\.csv has a SHA-256 that differs from the manifest\./,
    );
  });

  it('refuses a manifest that lists a file not in the archive, or leaves one out', async () => {
    await assert.rejects(
      writeAndCheck(dir, { listed: ['a.csv', 'b.csv', 'c.csv', 'd.csv'] }),
      /d\.csv is listed in the manifest but was not read back/,
    );
    await assert.rejects(writeAndCheck(dir, { listed: ['a.csv', 'b.csv'] }), /manifest\.json does not list every CSV file/);
  });
});
