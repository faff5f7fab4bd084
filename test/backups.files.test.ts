// File backups: tar (and tar.gz) archives of a folder with node-tar, read back with GNU tar as a user would.
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CancelledError, backups } from '../src/exporters';
import { listFiles, tempDir } from './helpers/archive';
import { sha256Of } from './helpers/backups';

/** A folder like a form server's media: nested folders, odd names, an empty file, binary data, a symlink. */
function mediaFolder(): string {
  const dir = tempDir('exit-plan-media-');
  fs.mkdirSync(path.join(dir, 'attachments', 'form 12', 'été'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'attachments', 'form 12', 'photo 1.jpg'), randomBytes(300_000));
  fs.writeFileSync(path.join(dir, 'attachments', 'form 12', 'été', 'relevé,"quoted".csv'), 'a,b\n1,2\n');
  fs.writeFileSync(path.join(dir, 'empty.txt'), '');
  fs.writeFileSync(path.join(dir, '日本.txt'), 'データ\n');
  fs.symlinkSync('empty.txt', path.join(dir, 'link-to-empty'));
  return dir;
}

function tree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of fs.readdirSync(dir, { recursive: true }) as string[]) {
    const full = path.join(dir, f);
    const st = fs.lstatSync(full);
    if (st.isSymbolicLink()) out[f] = `-> ${fs.readlinkSync(full)}`;
    else if (st.isFile()) out[f] = sha256Of(full);
    else out[f] = 'dir';
  }
  return out;
}

describe('backups: folders of files (tar)', () => {
  for (const gzip of [false, true]) {
    it(`archives a folder${gzip ? ' (gzip)' : ''} that GNU tar extracts to the same files, and verifies it`, async () => {
      const source = mediaFolder();
      const dir = tempDir('exit-plan-backups-');
      const result = await backups.createFilesBackup({ source, name: 'kobocat', dir, gzip });
      assert.match(
        path.basename(result.file),
        new RegExp(`^kobocat_media__\\d{4}\\.\\d{2}\\.\\d{2}\\.\\d{2}_\\d{2}\\.${gzip ? 'tar\\.gz' : 'tar'}$`),
      );
      assert.deepEqual(listFiles(dir), [path.basename(result.file), `${path.basename(result.file)}.json`]);
      assert.equal(result.sha256, sha256Of(result.file));
      assert.equal(result.sidecar.files?.entries, 9);
      assert.equal(result.sidecar.files?.contentBytes, 300_000 + 8 + 10);

      const out = tempDir('exit-plan-extract-');
      execFileSync('tar', ['-xf', result.file, '-C', out]);
      assert.deepEqual(tree(out), tree(source));

      const verified = await backups.verifyBackup(result.file);
      assert.equal(verified.state, 'verified', verified.message);
      assert.equal(verified.message, 'Checksum matches and every entry was read back (9 entries, 300 KB).');
      assert.equal((await backups.listBackups(dir))[0].state, 'verified');
    });
  }

  it('a truncated or corrupt archive fails verification', async () => {
    const source = mediaFolder();
    for (const gzip of [false, true]) {
      const dir = tempDir('exit-plan-backups-');
      const { file } = await backups.createFilesBackup({ source, name: 'media', dir, gzip });
      const copy = (label: string, damage: (f: string) => void) => {
        const d = tempDir('exit-plan-backups-');
        const f = path.join(d, path.basename(file));
        fs.copyFileSync(file, f);
        fs.copyFileSync(`${file}.json`, `${f}.json`);
        damage(f);
        return [label, f] as const;
      };
      const damaged = [
        copy('truncated at a block boundary', (f) => fs.truncateSync(f, 2048)),
        copy('a flipped byte', (f) => {
          const buf = fs.readFileSync(f);
          buf[1000] ^= 0x20;
          fs.writeFileSync(f, buf);
        }),
      ];
      for (const [label, f] of damaged) {
        const result = await backups.verifyBackup(f);
        assert.equal(result.state, 'failed', `${label}, gzip ${gzip}`);
        assert.equal((await backups.readSidecar(f))?.verification?.state, 'failed');
      }
      // Even when the sidecar is rewritten to match the damage, the full read still notices.
      const [, cut] = copy('truncated, sidecar rewritten', (f) => fs.truncateSync(f, 4096));
      const sidecar = (await backups.readSidecar(cut))!;
      await backups.writeSidecar(cut, { ...sidecar, bytes: 4096, sha256: sha256Of(cut) });
      const result = await backups.verifyBackup(cut);
      assert.equal(result.state, 'failed');
      assert.match(result.message, /^(The archive holds \d+ entries .* but 9 .* were written\.|The archive cannot be read: .*)$/);
    }
  });

  it('refuses a backup folder inside the folder being backed up, and a name unfit for a file name', async () => {
    const source = mediaFolder();
    await assert.rejects(backups.createFilesBackup({ source, name: 'media', dir: path.join(source, 'backups') }), {
      message:
        `The backup folder ${path.join(source, 'backups')} is inside the folder being backed up (${source}): ` +
        `choose a backup folder outside it; no backup was written.`,
    });
    assert.ok(!fs.existsSync(path.join(source, 'backups')));
    await assert.rejects(backups.createFilesBackup({ source, name: '../up', dir: tempDir() }), /cannot be used in a backup file name/);
    await assert.rejects(backups.createFilesBackup({ source: path.join(source, 'nope'), name: 'media', dir: tempDir() }), /does not exist/);
  });

  it('a cancelled archive leaves no file under a final name, and no partial', async () => {
    // A sparse 1 GiB file costs no disk but takes seconds to read and compress: the archive is surely
    // still being written when the first progress report with bytes arrives (they come every 200 ms).
    const source = tempDir('exit-plan-media-');
    fs.writeFileSync(path.join(source, 'small.txt'), 'x');
    fs.closeSync(fs.openSync(path.join(source, 'sparse.bin'), 'w'));
    fs.truncateSync(path.join(source, 'sparse.bin'), 2 ** 30);
    const dir = tempDir('exit-plan-backups-');
    const controller = new AbortController();
    await assert.rejects(
      backups.createFilesBackup({
        source,
        name: 'media',
        dir,
        gzip: true,
        signal: controller.signal,
        onProgress: (p) => {
          if (p.bytes > 0) controller.abort();
        },
      }),
      (err: Error) =>
        err instanceof CancelledError && err.message === 'Backup cancelled; no backup was written and the partial file was removed.',
    );
    assert.deepEqual(listFiles(dir), []);
  });
});
