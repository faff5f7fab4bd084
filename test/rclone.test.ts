// rclone remotes as sources, with the real rclone: remote specs and flags checked (no secrets), the copy from a real
// S3 server (s3rver) and from `rclone serve webdav`/`sftp` on loopback (every file byte-identical, the listing in
// files-manifest.csv, a second copy copying nothing, a changed file copied again), failures in one sentence, cancel,
// and the CLI's `files copy` and `files size`.
import * as assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as exit from '../src/exporters/exit';
import {
  REMOTE_KINDS,
  buildRemote,
  checkFlags,
  checkRemote,
  copyRemote,
  describeRcloneProgress,
  parseRemote,
  remoteHashes,
  sizeRemote,
  type RcloneProgress,
} from '../src/exporters/rclone';
import { capture } from '../scripts/lib/capture';
import { rcloneEnvironment } from '../src/exporters/rclone/environment';
import { listFiles, tempDirs } from './helpers/archive';
import { processesMatching, runCli, until } from './helpers/backups';
import {
  FEW_RETRIES,
  expectedHashes,
  s3Env,
  s3Remote,
  sha,
  sourceFiles,
  startRcloneServe,
  treeHashes,
  upload,
  writeTree,
  type RcloneServer,
} from './helpers/rcloneServe';
import { startS3rver, type S3Server } from './helpers/s3rver';

/** Temporary folders of this file, removed after its tests. */
const temp = tempDirs();
const tempDir = (prefix: string) => temp.make(prefix);

function thrown(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return (err as Error).message;
  }
  return '(nothing thrown)';
}

async function rejected(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  assert.fail('expected a failure');
}

describe('rclone remotes: specs, flags and the kinds VS Code offers', () => {
  it('refuses secrets written into a remote, naming the variable or config they go in', () => {
    assert.equal(
      thrown(() => checkRemote(':s3,provider=AWS,secret_access_key=abc:bucket')),
      'The remote holds a secret (secret_access_key): secrets never go in the remote, give it through the environment variable ' +
        'RCLONE_S3_SECRET_ACCESS_KEY, or a remote made with "rclone config".',
    );
    assert.equal(
      thrown(() => checkRemote("backup,Pass='x,y':path")),
      'The remote holds a secret (pass): secrets never go in the remote, give it through "rclone config" for the remote backup, ' +
        'or the environment variable RCLONE_CONFIG_BACKUP_PASS (obscured with "rclone obscure").',
    );
    for (const spec of [
      ":azureblob,sas_url='https://a.blob.core.windows.net/c?sig=x':c",
      ':azureblob,account=a,key=abc:c',
      ':gcs,service_account_credentials={}:b',
      ':s3,session-token=abc:b',
      ':webdav,url=x,bearer_token=abc:',
      ':drive,token=abc:',
      ':gcs,client_secret=abc:b',
    ]) {
      assert.match(
        thrown(() => checkRemote(spec)),
        /^The remote holds a secret \(\w+\): secrets never go in the remote/,
        spec,
      );
    }
    assert.match(
      thrown(() => checkRemote(":http,url='https://me:secret@example.org/':")),
      /URL with a password in it/,
    );
    assert.equal(
      thrown(() => checkRemote('/srv/data')),
      '"/srv/data" is a local path, not an rclone remote: use a [[folder]] part for a local folder, or write it as ":local:/srv/data".',
    );
    assert.match(
      thrown(() => checkRemote('--config=/etc/x:')),
      /starts with "-"/,
    );
    assert.match(
      thrown(() => checkRemote('a:b\nc')),
      /line break/,
    );
    assert.match(
      thrown(() => checkRemote(":s3,endpoint='open:bucket")),
      /not closed/,
    );
    assert.equal(checkRemote('  :s3,provider=AWS,env_auth=true:bucket/prefix  '), ':s3,provider=AWS,env_auth=true:bucket/prefix');
    assert.equal(checkRemote('my remote:a/b'), 'my remote:a/b');
  });

  it('parses connection strings as rclone does (quoted values, doubled quotes)', () => {
    assert.deepEqual(parseRemote(":webdav,url='http://h:1/a,b',user='o''brien',vendor=other:dir/x"), {
      backend: 'webdav',
      parameters: [
        { key: 'url', value: 'http://h:1/a,b' },
        { key: 'user', value: "o'brien" },
        { key: 'vendor', value: 'other' },
      ],
      path: 'dir/x',
    });
    assert.deepEqual(parseRemote('backup:'), { name: 'backup', parameters: [], path: '' });
    assert.equal(parseRemote('relative/dir'), undefined);
  });

  it('refuses flags that delete, copy less, weaken the check or carry a secret; keeps the others', () => {
    for (const flag of ['--delete-after', '--dry-run', '-n', '--ignore-checksum', '--size-only', '--ignore-existing', '--checksum', '-v']) {
      assert.match(
        thrown(() => checkFlags([flag])),
        /^The rclone flag -{1,2}[\w-]+ is not allowed here: /,
        flag,
      );
    }
    assert.equal(
      thrown(() => checkFlags(['--s3-secret-access-key=abc'])),
      'The rclone flag --s3-secret-access-key carries a secret: secrets never go in flags, give it through the environment variable ' +
        'RCLONE_S3_SECRET_ACCESS_KEY, or a remote made with "rclone config".',
    );
    assert.match(
      thrown(() => checkFlags(['--sftp-pass', 'x'])),
      /RCLONE_SFTP_PASS \(obscured with "rclone obscure"\)/,
    );
    assert.match(
      thrown(() => checkFlags(['--header', 'Authorization: Bearer x'])),
      /headers may carry credentials/,
    );
    const kept = ['--transfers=2', '--exclude', '*.tmp', '--max-age', '30d', '--sftp-key-file', '/k', '--client-key', '/k'];
    assert.deepEqual(checkFlags(kept), kept);
  });

  it('builds a checked remote for every kind the quick pick offers, and names a missing answer', () => {
    assert.deepEqual(
      REMOTE_KINDS.map((k) => k.id),
      ['s3', 'gcs', 'sftp', 'webdav', 'azureblob', 'named'],
    );
    for (const kind of REMOTE_KINDS) assert.ok(kind.secretHint.length > 20 && kind.fields.some((f) => f.required), kind.id);
    assert.equal(buildRemote('s3', { bucket: 'media', path: '/uploads/2024/' }), ':s3,provider=AWS,env_auth=true:media/uploads/2024');
    assert.equal(
      buildRemote('s3', { bucket: 'b', region: 'eu-west-1', endpoint: 'https://s3.example.org' }),
      ":s3,provider=Other,env_auth=true,region=eu-west-1,endpoint='https://s3.example.org':b",
    );
    assert.equal(buildRemote('gcs', { bucket: 'b' }), ':gcs,env_auth=true:b');
    assert.equal(
      buildRemote('sftp', { host: 'h', user: "o'brien", port: '2222', path: '/srv/my data' }),
      ":sftp,host=h,user='o''brien',port=2222:/srv/my data",
    );
    assert.equal(
      buildRemote('webdav', { url: 'https://cloud.example.org/dav', vendor: 'nextcloud', user: 'me', path: 'Photos' }),
      ":webdav,url='https://cloud.example.org/dav',vendor=nextcloud,user=me:Photos",
    );
    assert.equal(buildRemote('azureblob', { account: 'acct', container: 'data', path: 'x' }), ':azureblob,account=acct:data/x');
    assert.equal(buildRemote('named', { remote: 'backup:', path: 'bucket/f' }), 'backup:bucket/f');
    assert.equal(
      thrown(() => buildRemote('sftp', { user: 'x' })),
      'The remote (SFTP server) needs its host.',
    );
    assert.match(
      thrown(() => buildRemote('named', { remote: 'a,pass=x' })),
      /is not an rclone remote name/,
    );
    // rclone itself reads what buildRemote writes: a doubled quote is one quote.
    const parsed = parseRemote(buildRemote('sftp', { host: 'h', user: "o'brien, jr" }))!;
    assert.deepEqual(
      parsed.parameters.find((p) => p.key === 'user'),
      { key: 'user', value: "o'brien, jr" },
    );
  });

  it('rclone itself reads the Google Cloud Storage remote the quick pick writes (no GCS server here: parsed, not run)', async () => {
    const remote = buildRemote('gcs', { bucket: 'field-photos', path: 'uploads/été 2024' });
    const { env, args } = rcloneEnvironment();
    // --gcs-anonymous: no credentials are looked for, so nothing is asked of Google; rclone only builds the remote.
    const features = await capture('rclone', [...args, 'backend', 'features', '--gcs-anonymous', '--', remote], { env });
    assert.equal(features.code, 0, features.stderr);
    assert.deepEqual(JSON.parse(features.stdout).Root, 'field-photos/uploads/été 2024');
    // The hash a copy from it compares.
    assert.deepEqual(await remoteHashes(remote, { flags: ['--gcs-anonymous'] }), ['md5']);
  });

  it('an [[rclone]] part in a plan: remote and flags checked with the file, line and key', () => {
    const FILE = '/plans/exit-plan.toml';
    const plan = exit.parsePlan(
      '[[rclone]]\nname = "media"\nremote = " :s3,provider=AWS,env_auth=true:b/p "\nflags = ["--transfers=4"]\n',
      FILE,
    );
    assert.deepEqual(plan.parts, [
      { kind: 'rclone', name: 'media', line: 1, remote: ':s3,provider=AWS,env_auth=true:b/p', flags: ['--transfers=4'] },
    ]);
    const problem = (text: string) => thrown(() => exit.parsePlan(text, FILE));
    assert.equal(
      problem('\n[[rclone]]\nname = "media"\nremote = ":s3,secret_access_key=abc:b"\n'),
      `${FILE}, line 4: "remote" in [[rclone]] "media": the remote holds a secret (secret_access_key): secrets never go in the remote, ` +
        'give it through the environment variable RCLONE_S3_SECRET_ACCESS_KEY, or a remote made with "rclone config".',
    );
    assert.equal(problem('[[rclone]]\nname = "media"\n'), `${FILE}, line 1: [[rclone]] "media" has no "remote".`);
    assert.equal(
      problem('[[rclone]]\nname = "m"\nremote = "r:"\nflags = ["--delete-before"]\n'),
      `${FILE}, line 4: "flags" in [[rclone]] "m": the rclone flag --delete-before is not allowed here: ` +
        'it writes to or deletes from a remote, or leaves files out of the copy.',
    );
    assert.match(
      problem('[[rclone]]\nname = "m"\nremote = "r:"\nflags = "--x"\n'),
      /"flags" in \[\[rclone\]\] "m" must be a list of strings/,
    );
    assert.match(
      problem('[[rclone]]\nname = "m"\nremote = "r:"\nbucket = "x"\n'),
      /unknown key "bucket" in \[\[rclone\]\] "m" \(known keys: name, remote, flags\)/,
    );
  });
});

describe('rclone remotes: copies from real servers (s3rver, rclone serve webdav and sftp)', function () {
  this.timeout(240_000);
  let s3: S3Server;
  let webdav: RcloneServer;
  let sftp: RcloneServer;
  const files = sourceFiles();
  const source = tempDir('exit-plan-rclone-source-');

  before(async () => {
    writeTree(source, files);
    s3 = await startS3rver(['media', 'empty-bucket']);
    await upload(s3, source, 'media', 'uploads');
    webdav = await startRcloneServe('webdav', source);
    sftp = await startRcloneServe('sftp', source);
  });

  after(async () => {
    await Promise.all([s3?.stop(), webdav?.stop(), sftp?.stop()]);
    fs.rmSync(source, { recursive: true, force: true });
    temp.removeAll();
  });

  it('copies every file of an S3 folder (keys only in the environment), checked by size and MD5, listed in the manifest', async () => {
    const to = tempDir('exit-plan-rclone-s3-');
    const progress: RcloneProgress[] = [];
    const result = await copyRemote({
      remote: s3Remote(s3, 'media', 'uploads'),
      to,
      env: { ...process.env, ...s3Env() },
      onProgress: (p) => progress.push(p),
    });
    assert.deepEqual(treeHashes(path.join(to, 'files')), expectedHashes(files));
    assert.deepEqual([result.files, result.bytes], [8, Object.values(files).reduce((n, d) => n + d.length, 0)]);
    assert.deepEqual(result.copied, { files: 8, bytes: result.bytes });
    assert.equal(result.hash, 'md5');
    assert.equal(
      result.verification,
      "every file's size and md5 checked against the remote by rclone check, and every listed file found on disk with its size",
    );
    assert.ok(progress.some((p) => p.phase === 'copying') && progress.some((p) => p.phase === 'listing'));
    assert.match(describeRcloneProgress(progress.find((p) => p.phase === 'copying')!), /^Copying with rclone: \d/);
    // The listing: one row per file, RFC 4180 quoting, CRLF, the MD5 the remote gave.
    const manifest = fs.readFileSync(path.join(to, 'files-manifest.csv'), 'utf8');
    const lines = manifest.split('\r\n');
    assert.equal(lines[0], 'path,bytes,hash_type,hash,last_modified');
    assert.equal(lines.length, 10);
    const md5 = createHash('md5').update(files['docs/report, "final" (v2).pdf']).digest('hex');
    assert.ok(
      lines.includes(
        `"docs/report, ""final"" (v2).pdf",3000,md5,${md5},${lines
          .find((l) => l.startsWith('"docs'))!
          .split(',')
          .pop()}`,
      ),
    );
    assert.ok(lines.some((l) => l.startsWith('empty.bin,0,md5,d41d8cd98f00b204e9800998ecf8427e,')));
    // With a hash to compare, no modification time is read (one request per object on S3): last_modified is empty.
    assert.ok(
      lines.slice(1, -1).every((l) => l.endsWith(',')),
      'last_modified is empty for a remote with a hash',
    );
    assert.equal(result.manifest.sha256, sha(Buffer.from(manifest)));
    assert.deepEqual(fs.readdirSync(to).sort(), ['files', 'files-manifest.csv'], 'no temporary file left');

    // Again: nothing is copied (rclone's stats), no file is rewritten (same inode and ctime).
    const before = Object.fromEntries(listFiles(path.join(to, 'files')).map((f) => [f, fs.statSync(path.join(to, 'files', f))]));
    const again = await copyRemote({ remote: s3Remote(s3, 'media', 'uploads'), to, env: { ...process.env, ...s3Env() } });
    assert.deepEqual(again.copied, { files: 0, bytes: 0 });
    for (const [f, st] of Object.entries(before)) {
      const now = fs.statSync(path.join(to, 'files', f));
      assert.deepEqual([now.ino, now.ctimeMs], [st.ino, st.ctimeMs], f);
    }

    // A local file changed to other bytes of the same size (and a removed one) are copied again: the MD5 tells.
    const changed = path.join(to, 'files', 'readme.txt');
    fs.writeFileSync(changed, 'TOP LEVEL\n');
    fs.rmSync(path.join(to, 'files', 'deep', 'a', 'b', 'c', 'd', 'e.txt'));
    const third = await copyRemote({ remote: s3Remote(s3, 'media', 'uploads'), to, env: { ...process.env, ...s3Env() } });
    assert.deepEqual(third.copied.files, 2);
    assert.deepEqual(treeHashes(path.join(to, 'files')), expectedHashes(files));
  });

  it('copies from WebDAV (no hash: the sentence says only sizes were compared) and from SFTP', async () => {
    const to = tempDir('exit-plan-rclone-webdav-');
    const result = await copyRemote({ remote: webdav.remote(), to, env: { ...process.env, ...webdav.env() } });
    assert.deepEqual(treeHashes(path.join(to, 'files')), expectedHashes(files));
    assert.equal(result.hash, undefined);
    // Without a hash, the copy compares sizes and times: the listing reads the times, and the manifest has them.
    const rows = fs.readFileSync(path.join(to, 'files-manifest.csv'), 'utf8').split('\r\n').slice(1, -1);
    assert.ok(rows.length > 0 && rows.every((r) => /,\d{4}-\d\d-\d\dT[\d:.]+Z$/.test(r)), rows.join('\n'));
    assert.match(
      result.verification,
      /^every file's size checked against the remote by rclone check \(the remote gives no hash, so contents were not compared\)/,
    );

    const sftpTo = tempDir('exit-plan-rclone-sftp-');
    const viaSftp = await copyRemote({ remote: sftp.remote('photos'), to: sftpTo, env: { ...process.env, ...sftp.env() } });
    assert.deepEqual(treeHashes(path.join(sftpTo, 'files')), {
      '2024/river bank #1.jpg': sha(files['photos/2024/river bank #1.jpg']),
      'été/щука 魚.jpg': sha(files['photos/été/щука 魚.jpg']),
    });
    assert.equal(viaSftp.files, 2);
    // rclone serve sftp answers md5sum and sha1sum over SSH, so the sftp backend compares MD5 there.
    assert.equal(viaSftp.hash, 'md5');
    assert.match(viaSftp.verification, /^every file's size and md5 checked against the remote by rclone check/);
  });

  it('says in one sentence what is wrong: a wrong key, a wrong password, a missing bucket, an unreachable host', async () => {
    const to = tempDir('exit-plan-rclone-fail-');
    const wrongKey = await rejected(copyRemote({ remote: s3Remote(s3, 'media'), to, env: { ...process.env, ...s3Env('NOT-THE-KEY') } }));
    assert.match(wrongKey.message, /^Opening|^Listing/);
    assert.match(
      wrongKey.message,
      /failed: the remote refused the credentials or none were found, give them through rclone's environment variables/,
    );
    assert.doesNotMatch(wrongKey.message, /S3RVER/);
    assert.equal(wrongKey.message.split(/\.\s/).length, 1, wrongKey.message);

    const wrongPassword = await rejected(copyRemote({ remote: webdav.remote(), to, env: { ...process.env, ...webdav.env('wrong') } }));
    assert.match(wrongPassword.message, /refused the credentials/);

    const missing = await rejected(copyRemote({ remote: s3Remote(s3, 'no-such-bucket'), to, env: { ...process.env, ...s3Env() } }));
    assert.match(missing.message, /failed: the bucket or folder does not exist \(rclone said: .*\)\.$/);

    const unreachable = await rejected(
      copyRemote({ remote: ":webdav,url='http://127.0.0.1:1',user=u:", to, env: { ...process.env, ...FEW_RETRIES } }),
    );
    assert.match(unreachable.message, /failed: the remote cannot be reached \(rclone said: .*connection refused\)\.$/);

    const missingRclone = await rejected(copyRemote({ remote: s3Remote(s3, 'media'), to, rclonePath: path.join(to, 'no-rclone') }));
    assert.match(missingRclone.message, /^rclone is not installed \(.*no-rclone was not found\): install it/);
    assert.deepEqual(fs.readdirSync(to), ['files'], 'no manifest or list left behind');
  });

  it('an empty bucket is verified with a note; the same flags (filters) choose what size counts and what is copied', async () => {
    const to = tempDir('exit-plan-rclone-empty-');
    const result = await copyRemote({ remote: s3Remote(s3, 'empty-bucket'), to, env: { ...process.env, ...s3Env() } });
    assert.equal(result.files, 0);
    assert.match(result.notes[0], /holds no files\.$/);
    const env = { ...process.env, ...s3Env() };
    const filtered = await copyRemote({
      remote: s3Remote(s3, 'media', 'uploads'),
      to: tempDir('exit-plan-rclone-filtered-'),
      env,
      flags: ['--exclude', 'big/**'],
    });
    assert.equal(filtered.files, 7);
    assert.deepEqual(await sizeRemote({ remote: s3Remote(s3, 'media', 'uploads'), env, flags: ['--exclude', 'big/**'] }), {
      files: 7,
      bytes: filtered.bytes,
    });
  });

  it('cancel stops rclone (its process group) and keeps what was copied; the next copy fetches only the rest', async () => {
    const slow = tempDir('exit-plan-rclone-slow-');
    const chunks: Record<string, Buffer> = {};
    for (let i = 1; i <= 6; i++) chunks[`chunk ${i}.bin`] = randomBytes(512 * 1024);
    writeTree(slow, chunks);
    await upload(s3, slow, 'media', 'slow');
    const to = tempDir('exit-plan-rclone-cancel-');
    const controller = new AbortController();
    const env = { ...process.env, ...s3Env() };
    const flags = ['--bwlimit=1M', '--transfers=1'];
    const copying = copyRemote({
      remote: s3Remote(s3, 'media', 'slow'),
      to,
      env,
      flags,
      onProgress: (p) => {
        if (p.phase === 'copying' && p.files >= 1) controller.abort();
      },
      signal: controller.signal,
    });
    const err = await rejected(copying);
    assert.equal(err.name, 'CancelledError');
    assert.match(
      err.message,
      /^Cancelled while copying from .*: what was copied so far stays in .*files and copying again fetches only the rest\.$/,
    );
    await until(() => processesMatching('rclone', to).length === 0);
    assert.deepEqual(fs.readdirSync(to).sort(), ['files', 'files-manifest.csv']);
    const complete = listFiles(path.join(to, 'files')).filter((f) => sha(fs.readFileSync(path.join(to, 'files', f))) === sha(chunks[f]));
    assert.ok(complete.length >= 1 && complete.length < 6, complete.join(', '));
    const result = await copyRemote({ remote: s3Remote(s3, 'media', 'slow'), to, env });
    assert.equal(result.copied.files, 6 - complete.length);
    assert.deepEqual(treeHashes(path.join(to, 'files')), expectedHashes(chunks));
  });

  it('a file removed from the remote after the listing fails the copy by name (rclone check cannot see it)', async () => {
    const dir = tempDir('exit-plan-rclone-vanish-src-');
    writeTree(dir, { 'stays.txt': Buffer.from('stays'), 'goes away.txt': Buffer.from('goes away') });
    await upload(s3, dir, 'media', 'vanish');
    const to = tempDir('exit-plan-rclone-vanish-');
    let removed = false;
    const err = await rejected(
      copyRemote({
        remote: s3Remote(s3, 'media', 'vanish'),
        to,
        env: { ...process.env, ...s3Env() },
        onProgress: (p) => {
          // The listing is complete: the object goes from s3rver's own folder before the copy starts.
          if (p.phase === 'listing' && p.files === 2 && !removed) {
            removed = true;
            for (const suffix of ['object', 'metadata.json'])
              fs.rmSync(path.join(s3.dir, 'media', 'vanish', `goes away.txt._S3rver_${suffix}`));
          }
        },
      }),
    );
    assert.ok(removed);
    assert.match(
      err.message,
      /^1 listed file of :s3,.* is not in .*files with the listed size \("goes away\.txt"\): most likely changed or removed on the remote during the copy/,
    );
  });

  it('two copies into one folder at once: the second stops with one sentence naming the first', async () => {
    const to = tempDir('exit-plan-rclone-twice-');
    const env = { ...process.env, ...s3Env() };
    const controller = new AbortController();
    let copying = false;
    const first = copyRemote({
      remote: s3Remote(s3, 'media', 'uploads'),
      to,
      env,
      flags: ['--bwlimit=512k'],
      signal: controller.signal,
      onProgress: (p) => (copying ||= p.phase === 'copying'),
    });
    await until(() => copying);
    const second = await rejected(copyRemote({ remote: s3Remote(s3, 'media', 'uploads'), to, env }));
    assert.match(
      second.message,
      new RegExp(`^Another copy \\(process ${process.pid} on .*\\) is writing to ${to}: wait for it to end, or cancel it\\.$`),
    );
    controller.abort();
    assert.equal((await rejected(first)).name, 'CancelledError');
    assert.deepEqual(fs.readdirSync(to).sort(), ['files', 'files-manifest.csv'], 'the lock is released');
  });

  it('exit-plan files copy and files size, with --json; a secret in --from is refused with its sentence', async () => {
    const to = path.join(tempDir('exit-plan-rclone-cli-'), 'my copy');
    const env = s3Env();
    const copy = await runCli(['files', 'copy', '--from', s3Remote(s3, 'media', 'uploads'), '--to', to, '--json', '--quiet'], env);
    assert.equal(copy.code, 0, copy.stderr);
    const out = JSON.parse(copy.stdout);
    assert.deepEqual(Object.keys(out), [
      'remote',
      'to',
      'files',
      'bytes',
      'copiedFiles',
      'copiedBytes',
      'hash',
      'verification',
      'manifest',
      'notes',
    ]);
    assert.deepEqual([out.to, out.files, out.copiedFiles, out.hash, out.manifest], [to, 8, 8, 'md5', path.join(to, 'files-manifest.csv')]);
    assert.deepEqual(treeHashes(path.join(to, 'files')), expectedHashes(files));
    const again = await runCli(['files', 'copy', '--from', s3Remote(s3, 'media', 'uploads'), '--to', to, '--quiet'], env);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /: 8 files, 3\.\d MB, verified \(0 files copied now, 0 B\)\.\nVerified: every file's size and md5 checked/);

    const size = await runCli(['files', 'size', '--from', s3Remote(s3, 'media', 'uploads'), '--json'], env);
    assert.equal(size.code, 0, size.stderr);
    assert.deepEqual(JSON.parse(size.stdout), { files: 8, bytes: out.bytes });
    const plain = await runCli(
      ['files', 'size', '--from', s3Remote(s3, 'media', 'uploads'), '--flag', '--exclude', '--flag', 'big/**'],
      env,
    );
    assert.equal(plain.code, 0, plain.stderr);
    assert.match(plain.stdout, /^7 files, \d+(\.\d)? KB\n$/);

    const secret = await runCli(['files', 'size', '--from', `:s3,provider=Other,secret_access_key=S3RVER:media`]);
    assert.equal(secret.code, 1);
    assert.equal(
      secret.stderr,
      'exit-plan: The remote holds a secret (secret_access_key): secrets never go in the remote, ' +
        'give it through the environment variable RCLONE_S3_SECRET_ACCESS_KEY, or a remote made with "rclone config".\n',
    );
    const wrong = await runCli(['files', 'copy', '--from', s3Remote(s3, 'media'), '--to', to, '--quiet'], s3Env('WRONG'));
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /^exit-plan: (Opening|Listing) .* failed: the remote refused the credentials/);
    assert.equal(wrong.stderr.split('\n').length, 2, wrong.stderr);
    const flag = await runCli(['files', 'copy', '--from', s3Remote(s3, 'media'), '--to', to, '--flag', '--delete-during'], env);
    assert.equal(flag.code, 1);
    assert.match(flag.stderr, /^exit-plan: The rclone flag --delete-during is not allowed here/);
  });
});
