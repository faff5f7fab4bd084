// The zip writer with parallel deflate: what it writes is read back byte for byte by unzip, bsdtar, Python's
// zipfile and yauzl, for entries of every size around the block boundaries, stored entries, Zip64 records,
// more than 65,535 entries, entries written at once (spooled until their turn), and failures.
import * as assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import * as zlib from 'node:zlib';
import yauzl from 'yauzl';
import { ZipWriter } from '../src/exporters/shared/zip/writer';
import { tempDir } from './helpers/archive';

const BLOCK = 64 * 1024;

/** Text that compresses (CSV-like lines), with random bytes mixed in so that blocks differ. */
function sample(size: number, seed: number): Buffer {
  const lines: string[] = [];
  let length = 0;
  for (let i = 0; length < size; i++) {
    const line = `${seed},${i},${createHash('md5')
      .update(`${seed}-${i % 997}`)
      .digest('hex')},"a ""quoted"" value, with a comma"\n`;
    lines.push(line);
    length += line.length;
  }
  const text = Buffer.from(lines.join('')).subarray(0, size);
  if (size > 100) randomBytes(50).copy(text, Math.floor(size / 2));
  return text;
}

async function writeZip(file: string, entries: [string, Buffer][], options: ConstructorParameters<typeof ZipWriter>[1]): Promise<number> {
  const out = fs.createWriteStream(file);
  const zip = new ZipWriter([out], { blockSize: BLOCK, ...options });
  for (const [name, data] of entries) {
    const entry = zip.entry(name, new Date(2026, 10, 30, 12, 34, 56));
    // In uneven pieces, as COPY hands them over.
    for (let at = 0; at < data.length;) {
      const n = Math.min(data.length - at, 1 + ((at * 7919) % 40_000));
      await entry.write(data.subarray(at, at + n));
      at += n;
    }
    await entry.end();
  }
  return zip.finish();
}

function sha(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Every reader extracts exactly these entries with these bytes. */
function assertReadable(file: string, entries: [string, Buffer][]): void {
  const test = spawnSync('unzip', ['-tq', file], { encoding: 'utf8' });
  assert.equal(test.status, 0, `unzip -t: ${test.stdout}${test.stderr}`);
  for (const [name, data] of entries.slice(0, 20)) {
    assert.equal(sha(execFileSync('unzip', ['-p', file, name], { maxBuffer: 1 << 30 })), sha(data), `unzip: ${name}`);
  }
  const dir = tempDir('exit-plan-zip-bsdtar-');
  try {
    execFileSync('bsdtar', ['-xf', file, '-C', dir]);
    for (const [name, data] of entries) assert.equal(sha(fs.readFileSync(path.join(dir, name))), sha(data), `bsdtar: ${name}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const python = spawnSync(
    'python3',
    [
      '-c',
      'import hashlib,json,sys,zipfile\nz=zipfile.ZipFile(sys.argv[1])\nassert z.testzip() is None\n' +
        'print(json.dumps({n: hashlib.sha256(z.read(n)).hexdigest() for n in z.namelist()}))',
      file,
    ],
    { encoding: 'utf8', maxBuffer: 1 << 28 },
  );
  if (python.error) return; // no Python here: the other three readers have checked it
  assert.equal(python.status, 0, `python zipfile: ${python.stderr}`);
  assert.deepEqual(JSON.parse(python.stdout), Object.fromEntries(entries.map(([name, data]) => [name, sha(data)])));
}

async function yauzlNames(file: string): Promise<{ name: string; zip64: boolean }[]> {
  const zip = await yauzl.openPromise(file, { lazyEntries: true });
  const names: { name: string; zip64: boolean }[] = [];
  await new Promise<void>((resolve, reject) => {
    zip.on('entry', (entry: yauzl.Entry) => {
      names.push({ name: entry.fileName, zip64: entry.extraFields.some((f) => f.id === 1) });
      zip.readEntry();
    });
    zip.on('end', resolve).on('error', reject);
    zip.readEntry();
  });
  zip.close();
  return names;
}

describe('Zip writer with parallel deflate', function () {
  this.timeout(180_000);
  let dir: string;
  beforeEach(() => (dir = tempDir('exit-plan-zipwriter-')));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const sizes = [0, 1, 100, BLOCK - 1, BLOCK, BLOCK + 1, 3 * BLOCK, 5 * BLOCK + 12345];

  for (const threads of [1, 4]) {
    it(`writes entries of every size around the block boundaries on ${threads} thread(s), read back by every reader`, async function () {
      const entries = sizes.map((size, i): [string, Buffer] => [`dir ${i}/file-${size}.csv`, sample(size, i)]);
      entries.push(['données/ünïcode ✓.csv', sample(2 * BLOCK + 7, 99)], ['random.bin', randomBytes(3 * BLOCK + 5)]);
      const file = path.join(dir, 'a.zip');
      const size = await writeZip(file, entries, { threads, level: 6 });
      assert.equal(size, fs.statSync(file).size);
      assertReadable(file, entries);
      // Blocks primed with the previous block's end compress as one stream does: within 1 % of zlib's size.
      const big = entries[entries.length - 3][1];
      const alone = path.join(dir, 'alone.zip');
      await writeZip(alone, [['x.csv', big]], { threads, level: 6 });
      const oneStream = zlib.deflateRawSync(big, { level: 6 }).length;
      assert.ok(fs.statSync(alone).size - 200 < oneStream * 1.01, `${fs.statSync(alone).size} bytes against ${oneStream}`);
    });
  }

  it('stores entries as they are at level 0', async function () {
    const entries: [string, Buffer][] = [
      ['a.csv', sample(3 * BLOCK, 1)],
      ['empty.csv', Buffer.alloc(0)],
    ];
    const file = path.join(dir, 'stored.zip');
    await writeZip(file, entries, { threads: 2, level: 0 });
    assertReadable(file, entries);
    assert.match(execFileSync('unzip', ['-v', file], { encoding: 'utf8' }), /Stored/);
  });

  it('writes Zip64 records that every reader understands (forced, as for entries over 4 GiB)', async function () {
    const entries: [string, Buffer][] = [
      ['big.csv', sample(2 * BLOCK + 3, 5)],
      ['small.csv', sample(10, 6)],
    ];
    const file = path.join(dir, 'zip64.zip');
    await writeZip(file, entries, { threads: 2, forceZip64: true });
    assertReadable(file, entries);
    assert.ok(
      (await yauzlNames(file)).every((e) => e.zip64),
      'every central record has a Zip64 extra field',
    );
  });

  it('writes more than 65,535 entries with the Zip64 end records', async function () {
    const count = 70_000;
    const entries = Array.from({ length: count }, (_, i): [string, Buffer] => [`p/${i}.csv`, Buffer.from(`${i}\n`)]);
    const file = path.join(dir, 'many.zip');
    await writeZip(file, entries, { threads: 2 });
    assert.equal((await yauzlNames(file)).length, count);
    assert.equal(
      execFileSync('unzip', ['-Z1', file], { encoding: 'utf8', maxBuffer: 1 << 26 })
        .trim()
        .split('\n').length,
      count,
    );
    assert.equal(execFileSync('unzip', ['-p', file, `p/${count - 1}.csv`], { encoding: 'utf8' }), `${count - 1}\n`);
  });

  it('writes entries written at once one after another, the later ones spooled until their turn', async function () {
    const file = path.join(dir, 'jobs.zip');
    const out = fs.createWriteStream(file);
    const zip = new ZipWriter([out], { blockSize: BLOCK, threads: 2, spoolDir: dir });
    const data = [sample(4 * BLOCK + 1, 1), sample(2 * BLOCK, 2), sample(6 * BLOCK + 3, 3)];
    const writers = data.map((_, i) => zip.entry(`t${i}.csv`, new Date()));
    let spoolsSeen = 0;
    // Three jobs at once, each in its own pieces.
    await Promise.all(
      data.map(async (d, i) => {
        for (let at = 0; at < d.length; at += 10_000) {
          await writers[i].write(d.subarray(at, at + 10_000));
          spoolsSeen = Math.max(spoolsSeen, fs.readdirSync(dir).filter((n) => n.includes('spool')).length);
        }
        await writers[i].end();
      }),
    );
    await zip.finish();
    assertReadable(
      file,
      data.map((d, i) => [`t${i}.csv`, d]),
    );
    assert.deepEqual(fs.readdirSync(dir), ['jobs.zip'], 'no spool file is left');
    assert.ok(spoolsSeen <= 2, 'spool files are unlinked as soon as they are open');
  });

  it('fails with the output’s error (e.g. a full disk) and leaves no spool file', async function () {
    const full = new Writable({
      highWaterMark: 1024,
      write(_chunk, _encoding, callback) {
        callback(Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' }));
      },
    });
    const zip = new ZipWriter([full], { blockSize: BLOCK, threads: 2, spoolDir: dir });
    const a = zip.entry('a.csv', new Date());
    const b = zip.entry('b.csv', new Date());
    const writing = (async () => {
      for (let i = 0; i < 50; i++) {
        await a.write(sample(BLOCK, i));
        await b.write(sample(BLOCK, i));
      }
      await a.end();
      await b.end();
      await zip.finish();
    })();
    await assert.rejects(writing, /ENOSPC/);
    await assert.rejects(zip.failed, /ENOSPC/);
    assert.deepEqual(fs.readdirSync(dir), []);
  });
});
