// [[rclone]] parts in real exit runs (the CLI, as cron runs it): s3rver (S3) and `rclone serve sftp` (a generic
// remote) beside a folder part; every file copied and checked; a run stopped in the middle of a part and run again
// copies nothing twice; a wrong credential fails that part in one sentence while the others are verified; no secret
// in any file of the run.
import * as assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { startCapture } from '../scripts/lib/capture';
import { listFiles, tempDirs } from './helpers/archive';
import { CLI, processesMatching, runCli, until } from './helpers/backups';
import {
  expectedHashes,
  obscure,
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
import { S3RVER_KEYS, startS3rver, type S3Server } from './helpers/s3rver';

/** Temporary folders of this file, removed after its tests. */
const temp = tempDirs();
const tempDir = (prefix: string) => temp.make(prefix);

/** A plan's text: the out folder and the parts given as TOML tables. */
function planFile(dir: string, parts: string[]): string {
  const file = path.join(dir, 'exit-plan.toml');
  fs.writeFileSync(file, `out = ${JSON.stringify(path.join(dir, 'exits'))}\n\n${parts.join('\n')}`);
  return file;
}

function rclonePart(name: string, remote: string, flags?: string[]): string {
  const flagsLine = flags ? `flags = ${JSON.stringify(flags)}\n` : '';
  return `[[rclone]]\nname = ${JSON.stringify(name)}\nremote = ${JSON.stringify(remote)}\n${flagsLine}`;
}

function folderPart(name: string, dir: string): string {
  return `[[folder]]\nname = ${JSON.stringify(name)}\npath = ${JSON.stringify(dir)}\n`;
}

/** Every text file of a run (JSON, Markdown, CSV), to look for secrets in. */
function runTexts(folder: string): string {
  return listFiles(folder)
    .filter((f) => /\.(json|md|csv)$/.test(f))
    .map((f) => fs.readFileSync(path.join(folder, f), 'utf8'))
    .join('\n');
}

describe('exit runs: [[rclone]] parts from S3 (s3rver) and SFTP (rclone serve sftp), with the real rclone', function () {
  this.timeout(300_000);
  let s3: S3Server;
  let sftp: RcloneServer;
  const files = sourceFiles();
  let source: string;
  let docs: string;
  const password = "sftp pass 'wörd'";

  before(async () => {
    source = tempDir('exit-plan-exit-rclone-source-');
    writeTree(source, files);
    docs = tempDir('exit-plan-exit-rclone-docs-');
    fs.writeFileSync(path.join(docs, 'notes.txt'), 'what the folder part takes');
    s3 = await startS3rver(['media']);
    await upload(s3, source, 'media', 'uploads');
    sftp = await startRcloneServe('sftp', source, 'exit user', password);
  });

  after(async () => {
    await Promise.all([s3?.stop(), sftp?.stop()]);
    temp.removeAll();
  });

  it('copies every file of both remotes beside a folder part, each verified, with no secret in the run', async () => {
    const dir = tempDir('exit-plan-exit-rclone-');
    const plan = planFile(dir, [
      rclonePart('media-s3', s3Remote(s3, 'media', 'uploads')),
      rclonePart('field-sftp', sftp.remote('photos'), ['--transfers=2']),
      folderPart('docs', docs),
    ]);
    const env = { ...s3Env(), ...sftp.env() };
    const run = await runCli(['run', plan, '--json', '--quiet'], env);
    assert.equal(run.code, 0, run.stderr + run.stdout);
    const out = JSON.parse(run.stdout);
    assert.deepEqual(
      out.parts.map((p: { name: string; kind: string; status: string; files: number }) => [p.name, p.kind, p.status, p.files]),
      [
        ['media-s3', 'rclone', 'verified', 9],
        ['field-sftp', 'rclone', 'verified', 3],
        ['docs', 'folder', 'verified', 2],
      ],
    );
    assert.deepEqual(treeHashes(path.join(out.folder, 'media-s3', 'files')), expectedHashes(files));
    assert.deepEqual(treeHashes(path.join(out.folder, 'field-sftp', 'files')), {
      '2024/river bank #1.jpg': sha(files['photos/2024/river bank #1.jpg']),
      'été/щука 魚.jpg': sha(files['photos/été/щука 魚.jpg']),
    });
    const record = JSON.parse(fs.readFileSync(path.join(out.folder, 'media-s3', 'part.json'), 'utf8'));
    assert.deepEqual(record.files, [
      {
        path: 'files-manifest.csv',
        bytes: fs.statSync(path.join(out.folder, 'media-s3', 'files-manifest.csv')).size,
        sha256: record.files[0].sha256,
      },
    ]);
    assert.equal(record.files[0].sha256, sha(fs.readFileSync(path.join(out.folder, 'media-s3', 'files-manifest.csv'))));
    assert.deepEqual(
      [record.details.remote, record.details.files, record.details.hash, record.details.copiedNow],
      [s3Remote(s3, 'media', 'uploads'), 8, 'md5', 8],
    );
    assert.match(record.verification, /^every file's size and md5 checked against the remote by rclone check, .* \(8 files, 3\.\d MB\)$/);
    const report = fs.readFileSync(path.join(out.folder, 'EXIT-REPORT.md'), 'utf8');
    assert.match(report, /\| media-s3 \| rclone \| remote :s3,provider=Other,.*, 8 files, md5 compared \|/);
    assert.match(report, /\| field-sftp \| rclone \| remote :sftp,host=127\.0\.0\.1,.*, 2 files, md5 compared \|/);
    const texts = runTexts(out.folder);
    for (const secret of [S3RVER_KEYS.secretAccessKey, password, obscure(password), env.RCLONE_SFTP_PASS])
      assert.ok(!texts.includes(secret), secret);
  });

  it('a run stopped in the middle of an rclone part, run again, copies nothing twice', async () => {
    const chunks: Record<string, Buffer> = {};
    for (let i = 1; i <= 6; i++) chunks[`chunk ${i}.bin`] = randomBytes(512 * 1024);
    const slowSource = tempDir('exit-plan-exit-rclone-slow-');
    writeTree(slowSource, chunks);
    await upload(s3, slowSource, 'media', 'slow');
    const dir = tempDir('exit-plan-exit-rclone-resume-');
    const plan = planFile(dir, [
      folderPart('docs', docs),
      rclonePart('slow', s3Remote(s3, 'media', 'slow'), ['--bwlimit=1M', '--transfers=1']),
    ]);
    const env = { ...process.env, ...s3Env() };

    const first = startCapture(process.execPath, [CLI, 'run', plan, '--quiet'], { env });
    const exits = path.join(dir, 'exits');
    let partFiles = '';
    const complete = () =>
      listFiles(partFiles).filter((f) => chunks[f] !== undefined && sha(fs.readFileSync(path.join(partFiles, f))) === sha(chunks[f]));
    await until(() => {
      const runs = fs.existsSync(exits) ? fs.readdirSync(exits).filter((n) => n.startsWith('exit_')) : [];
      if (runs.length === 0) return false;
      partFiles = path.join(exits, runs[0], 'slow', 'files');
      return complete().length >= 2;
    });
    first.child.kill('SIGTERM');
    const stopped = await first.done;
    assert.equal(stopped.code, 130, stopped.stderr);
    assert.match(
      stopped.stderr,
      /Cancelled while copying from .*: what was copied so far stays in .* and copying again fetches only the rest\./,
    );
    await until(() => processesMatching('rclone', partFiles).length === 0);
    assert.ok(!fs.existsSync(path.join(partFiles, '..', 'part.json')));
    const kept = complete();
    assert.ok(kept.length >= 2 && kept.length < 6, kept.join(', '));
    const before = Object.fromEntries(kept.map((f) => [f, fs.statSync(path.join(partFiles, f))]));

    const again = await runCli(['run', plan, '--json', '--quiet'], s3Env());
    assert.equal(again.code, 0, again.stderr);
    const out = JSON.parse(again.stdout);
    assert.equal(path.join(out.folder, 'slow', 'files'), partFiles, 'the same run folder, resumed');
    assert.deepEqual(treeHashes(partFiles), expectedHashes(chunks));
    const record = JSON.parse(fs.readFileSync(path.join(partFiles, '..', 'part.json'), 'utf8'));
    // rclone's own count: only what the stopped attempt had not finished was copied.
    assert.equal(record.details.copiedNow, 6 - kept.length);
    for (const [f, st] of Object.entries(before)) {
      const now = fs.statSync(path.join(partFiles, f));
      assert.deepEqual([now.ino, now.ctimeMs], [st.ino, st.ctimeMs], `${f} was not written again`);
    }
  });

  it('a wrong credential fails that part in one sentence; the other parts are verified', async () => {
    const dir = tempDir('exit-plan-exit-rclone-wrong-');
    const plan = planFile(dir, [
      rclonePart('media-s3', s3Remote(s3, 'media', 'uploads')),
      rclonePart('field-sftp', sftp.remote()),
      folderPart('docs', docs),
    ]);
    const run = await runCli(['run', plan, '--json', '--quiet'], { ...s3Env('NOT-A-KEY'), ...sftp.env() });
    assert.equal(run.code, 2, run.stderr);
    const out = JSON.parse(run.stdout);
    assert.deepEqual(
      out.parts.map((p: { name: string; status: string }) => [p.name, p.status]),
      [
        ['media-s3', 'failed'],
        ['field-sftp', 'verified'],
        ['docs', 'verified'],
      ],
    );
    const error: string = out.parts[0].error;
    assert.match(
      error,
      /^(Opening|Listing) :s3,.* failed: the remote refused the credentials or none were found, give them through rclone's environment variables or "rclone config" \(rclone said: .*InvalidAccessKeyId.*\)\.$/,
    );
    assert.equal(error.split('\n').length, 1);
    assert.deepEqual(treeHashes(path.join(out.folder, 'field-sftp', 'files')), expectedHashes(files));
    const report = fs.readFileSync(path.join(out.folder, 'EXIT-REPORT.md'), 'utf8');
    assert.ok(report.includes(`- **media-s3** (rclone): ${error}`), report);

    // A plan with a secret in its remote is refused before anything runs.
    const bad = planFile(tempDir('exit-plan-exit-rclone-secret-'), [
      rclonePart('media', `:s3,provider=Other,secret_access_key=${S3RVER_KEYS.secretAccessKey}:media`),
    ]);
    const refused = await runCli(['run', bad, '--quiet']);
    assert.equal(refused.code, 1);
    assert.match(
      refused.stderr,
      /^exit-plan: .*exit-plan\.toml, line 5: "remote" in \[\[rclone\]\] "media": the remote holds a secret \(secret_access_key\)/,
    );
    assert.ok(!refused.stderr.includes(`=${S3RVER_KEYS.secretAccessKey}`));
  });

  it('without rclone, the part fails in one sentence that says how to install it', async () => {
    const dir = tempDir('exit-plan-exit-rclone-none-');
    const plan = planFile(dir, [rclonePart('media', s3Remote(s3, 'media')), folderPart('docs', docs)]);
    const run = await runCli(['run', plan, '--json', '--quiet'], { EXIT_PLAN_RCLONE: path.join(dir, 'no-rclone') });
    assert.equal(run.code, 2, run.stderr);
    const out = JSON.parse(run.stdout);
    assert.match(
      out.parts[0].error,
      /^rclone is not installed \(.*no-rclone was not found\): install it \(Debian or Ubuntu: apt install rclone/,
    );
    assert.equal(out.parts[1].status, 'verified');
  });
});
