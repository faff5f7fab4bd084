// The core's one child-process runner (shared/process.ts) on real processes, and its callers' sentences.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import { CancelledError, ExitPlanError } from '../src/exporters';
import { runTool } from '../src/exporters/backups/pgTools';
import { git } from '../src/exporters/datasets/git';
import { runShell } from '../src/exporters/datasets/shell';
import { runProcess } from '../src/exporters/shared/process';
import { eventually, gitRepo, processGone, removeTempDirs, tempDir } from './helpers/datasets';

/** A node process that ignores SIGTERM (so only SIGKILL stops it) and says when it is ready. */
const DEAF_TO_SIGTERM = "process.on('SIGTERM', () => {}); console.log('ready'); setInterval(() => {}, 1000);";

describe('one child-process runner (shared/process)', function () {
  this.timeout(30_000);
  after(removeTempDirs);

  it('runs argv without a shell, with environment additions, and captures stdout, stderr and the exit code', async () => {
    const r = await runProcess(
      process.execPath,
      ['-e', 'process.stdout.write(process.env.EXIT_PLAN_TEST + " $HOME"); console.error("oops"); process.exit(3)'],
      {
        envAdd: { EXIT_PLAN_TEST: 'from env' },
        stdout: 'capture',
        stderr: 'capture',
      },
    );
    assert.deepEqual(
      { code: r.code, signal: r.signal, stdout: r.stdout, stderr: r.stderr, tail: r.stderrTail, cancelled: r.cancelled },
      { code: 3, signal: null, stdout: 'from env $HOME', stderr: 'oops\n', tail: ['oops'], cancelled: false },
    );
  });

  it('drops captured output over the cap and says so', async () => {
    const r = await runProcess(process.execPath, ['-e', 'process.stdout.write("x".repeat(100000))'], {
      stdout: 'capture',
      maxCapture: 1000,
    });
    assert.equal(r.code, 0);
    assert.equal(r.stdout, 'x'.repeat(1000));
    assert.equal(r.truncated, true);
  });

  it('writes output to a file descriptor or a stream, and hands out lines', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'out.log');
    const fd = fs.openSync(file, 'w');
    const stream = new PassThrough();
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    const lines: string[] = [];
    try {
      await runProcess('/bin/sh', ['-c', 'echo to-file; echo to-stream >&2; printf "a\\r\\nb"  >&2'], {
        stdout: fd,
        stderr: stream,
        onStderrLine: (line) => lines.push(line),
      });
    } finally {
      fs.closeSync(fd);
    }
    assert.equal(fs.readFileSync(file, 'utf8'), 'to-file\n');
    assert.equal(Buffer.concat(chunks).toString(), 'to-stream\na\r\nb');
    assert.deepEqual(lines, ['to-stream', 'a', 'b']);
  });

  it('on abort stops the whole process group: SIGTERM, and SIGKILL once the leader has gone', async () => {
    const dir = tempDir();
    const pidFile = path.join(dir, 'sleep.pid');
    const controller = new AbortController();
    const running = runProcess(`sleep 600 & echo $! > "${pidFile}"; wait`, [], { shell: true, group: true, signal: controller.signal });
    assert.ok(await eventually(() => fs.existsSync(pidFile) && fs.readFileSync(pidFile, 'utf8').trim() !== ''));
    controller.abort();
    const r = await running;
    assert.equal(r.cancelled, true);
    assert.equal(r.timedOut, false);
    assert.ok(await eventually(() => processGone(Number(fs.readFileSync(pidFile, 'utf8')))), 'the background sleep is gone too');
  });

  it('sends SIGKILL after the grace when SIGTERM is ignored', async () => {
    const controller = new AbortController();
    const started = Date.now();
    const running = runProcess(process.execPath, ['-e', DEAF_TO_SIGTERM], {
      signal: controller.signal,
      killGraceMs: 300,
      onStdoutLine: (line) => {
        if (line === 'ready') controller.abort();
      },
    });
    const r = await running;
    assert.equal(r.cancelled, true);
    assert.equal(r.signal, 'SIGKILL');
    assert.ok(Date.now() - started < 10_000);
  });

  it('stops a process that runs past its timeout', async () => {
    const r = await runProcess('sleep', ['30'], { timeoutMs: 200 });
    assert.deepEqual([r.timedOut, r.cancelled, r.code, r.signal], [true, false, null, 'SIGTERM']);
  });

  it('does not start anything when the signal has aborted already', async () => {
    const dir = tempDir();
    const marker = path.join(dir, 'ran');
    const r = await runProcess(`touch "${marker}"`, [], { shell: true, signal: AbortSignal.abort() });
    assert.equal(r.cancelled, true);
    assert.equal(fs.existsSync(marker), false);
  });

  it('says in one sentence that a program cannot be started, in each caller’s words', async () => {
    const missing = path.join(tempDir(), 'no-such-program');
    await assert.rejects(runProcess(missing, []), (err: unknown) => {
      assert.ok(err instanceof ExitPlanError);
      assert.equal(err.message, `Cannot run ${missing}: spawn ${missing} ENOENT.`);
      assert.equal(err.code, 'ENOENT');
      return true;
    });
    await assert.rejects(runTool(missing, ['--version'], { env: process.env }), {
      message: `Cannot run ${missing}: spawn ${missing} ENOENT.`,
    });
    const gone = path.join(tempDir(), 'gone');
    await assert.rejects(runShell('true', { cwd: gone, env: {}, stdout: 'ignore', stderr: 'ignore' }), {
      message: `Cannot start /bin/sh in ${gone}: spawn /bin/sh ENOENT.`,
    });
    const savedPath = process.env.PATH;
    process.env.PATH = tempDir();
    try {
      await assert.rejects(git(tempDir(), ['status']), {
        message:
          'git is not installed (or not on PATH), so the dataset cannot be committed: install git, or set git = false in config.toml.',
      });
    } finally {
      process.env.PATH = savedPath;
    }
  });

  it('runTool rejects with CancelledError once the program has gone', async () => {
    const controller = new AbortController();
    const running = runTool(process.execPath, ['-e', 'console.log("ready"); setInterval(() => {}, 1000)'], {
      env: process.env,
      signal: controller.signal,
      onStdoutLine: () => controller.abort(),
    });
    await assert.rejects(running, (err: unknown) => err instanceof CancelledError);
  });

  it('git can be aborted: it and what it started are stopped', async () => {
    const dir = tempDir();
    gitRepo(dir);
    const pidFile = path.join(dir, 'hang.pid');
    const controller = new AbortController();
    const running = git(dir, ['-c', `alias.hang=!echo $$ > "${pidFile}"; exec sleep 600`, 'hang'], { signal: controller.signal });
    assert.ok(await eventually(() => fs.existsSync(pidFile) && fs.readFileSync(pidFile, 'utf8').trim() !== ''));
    controller.abort();
    await assert.rejects(running, (err: unknown) => {
      assert.ok(err instanceof CancelledError);
      assert.equal(err.message, `Cancelled while git was running in ${dir}.`);
      return true;
    });
    assert.ok(await eventually(() => processGone(Number(fs.readFileSync(pidFile, 'utf8')))), 'the alias’s sleep is gone');
  });
});
