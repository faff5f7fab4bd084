import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import { formatDuration } from '../datasets/interval';
import { CancelledError, ExitPlanError, systemCode, throwIfAborted } from '../shared/errors';
import { formatBytes, throttle } from '../shared/format';
import { maskSecrets } from '../shared/mask';
import type { OperationOptions } from '../shared/operation';
import { runProcess, type ProcessResult } from '../shared/process';
import { endStream, writeChunk } from '../shared/streams';
import { commitWithSidecar, createBackupFile } from './backupFile';
import { backupError, type BackupProgress, type BackupResult } from './createPostgres';
import { checkExtension, checkFilesName, commandBackupName } from './names';
import { hashFile } from '../shared/hashFile';
import { newSidecar, type Sidecar } from './sidecar';

export interface CommandBackupOptions extends OperationOptions<BackupProgress> {
  /** Names the backup: `<name>_backup__<YYYY.MM.DD.HH_MM>.<extension>` (checkFilesName). */
  name: string;
  /** Shell command (`sh -c`): writes the dump to stdout, or to the file `$OUTPUT_PATH`. */
  cmd: string;
  /** `mongorestore.tar.gz` (checkExtension; a leading dot is dropped). */
  extension: string;
  /** The backup folder; created if missing. */
  dir: string;
  /** Stop the command's whole process group after this long: the backup fails. */
  timeoutMs?: number;
  /** Added to this process's environment (secrets for the command go here, never into `cmd`). */
  env?: Record<string, string>;
  /** Where the command runs (default: this process's working folder). */
  cwd?: string;
  /** Recorded in the sidecar for information only (never run from there). */
  verifyCmd?: string;
  restoreCmd?: string;
  /** Between SIGTERM and SIGKILL when the command's group is stopped (default 5 s). */
  killGraceMs?: number;
}

const PROGRESS_MS = 200;
const POLL_MS = 250;

/**
 * Backs up what a command writes into `<dir>/<name>_backup__<YYYY.MM.DD.HH_MM>.<extension>`: `sh -c cmd` in
 * its own process group with `OUTPUT_PATH` set to the partial file (`….partial`). The command either writes the
 * dump to stdout (streamed into the partial file and hashed as it is written) or writes `$OUTPUT_PATH` itself
 * (e.g. `mongodump --archive="$OUTPUT_PATH" --gzip`, `tar -cf "$OUTPUT_PATH" …`; hashed once it has exited);
 * a command that does both fails, as one of the two would have overwritten the other. The file gets its final
 * name with a sidecar (size, SHA-256, the command masked) only when the command exited 0 and wrote something.
 * A command that fails, runs past `timeoutMs` (its whole group is stopped), writes nothing or is cancelled
 * leaves no file: one sentence, the partial file removed. Its stderr lines go to `log`.
 */
export async function createCommandBackup(options: CommandBackupOptions): Promise<BackupResult> {
  const started = new Date();
  const name = checkFilesName(options.name);
  const extension = checkExtension(options.extension);
  const cmd = options.cmd.trim();
  if (cmd === '') throw new ExitPlanError(`The command "${name}" is empty; no backup was written.`);
  checkTimeout(options.timeoutMs);
  const dir = path.resolve(options.dir);
  const log = options.log ?? (() => undefined);
  const progress: BackupProgress = { phase: 'running', bytes: 0, command: name };
  const report = throttle(() => options.onProgress?.({ ...progress }), PROGRESS_MS);
  const reportNow = () => {
    report(undefined);
    report.flush();
  };
  throwIfAborted(options.signal, 'Backup cancelled; no backup was written.');
  const partial = await createBackupFile(dir, commandBackupName(name, started, extension), log);
  const stop = new AbortController();
  const onUserAbort = () => stop.abort(options.signal?.reason);
  options.signal?.addEventListener('abort', onUserAbort, { once: true });
  if (options.signal?.aborted) onUserAbort();
  let streamError: unknown;
  partial.stream.on('error', (err) => {
    streamError ??= err;
    if (!stop.signal.aborted) stop.abort(err);
  });
  const hash = createHash('sha256');
  let stdoutBytes = 0;
  // stdout into the partial file, hashed as it is written, with backpressure (the command waits for the disk).
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      stdoutBytes += chunk.length;
      progress.bytes = stdoutBytes;
      report(undefined);
      writeChunk(partial.stream, chunk, stop.signal).then(() => callback(), callback);
    },
  });
  sink.on('error', (err) => {
    streamError ??= err;
    if (!stop.signal.aborted) stop.abort(err);
  });
  // A command writing $OUTPUT_PATH itself: its size is the progress.
  const poll = setInterval(() => {
    if (stdoutBytes > 0) return;
    fs.stat(partial.partialPath, (err, st) => {
      if (!err && stdoutBytes === 0 && st.size !== progress.bytes) {
        progress.bytes = st.size;
        report(undefined);
      }
    });
  }, POLL_MS);
  try {
    reportNow();
    log(`Running the command "${name}" into ${partial.partialPath}: ${maskSecrets(cmd)}`);
    const result = await runProcess(cmd, [], {
      shell: true,
      group: true,
      cwd: options.cwd,
      envAdd: { ...options.env, OUTPUT_PATH: partial.partialPath },
      stdout: sink,
      onStderrLine: (line) => log(`${name}: ${maskSecrets(line)}`),
      timeoutMs: options.timeoutMs,
      signal: stop.signal,
      killGraceMs: options.killGraceMs,
      startError: (e) => new ExitPlanError(`Cannot start /bin/sh for the command "${name}": ${e.message}.`, e.code, { cause: e }),
    });
    clearInterval(poll);
    if (options.signal?.aborted) throw new CancelledError();
    if (streamError) throw streamError;
    const failure = commandFailure(`The command "${name}"`, result, options.timeoutMs);
    if (failure) throw new ExitPlanError(failure);
    await endStream(sink, stop.signal);
    await endStream(partial.stream, stop.signal);
    await partial.closed().catch((err: unknown) => {
      if (systemCode(err) === 'ENOENT') throw new ExitPlanError(`The command "${name}" removed $OUTPUT_PATH instead of writing it`);
      throw err;
    });
    const st = await fs.promises.lstat(partial.partialPath);
    if (!st.isFile()) throw new ExitPlanError(`The command "${name}" replaced $OUTPUT_PATH by something that is not a file`);
    let sha256: string;
    let bytes: number;
    let output: 'stdout' | 'file';
    if (stdoutBytes > 0) {
      if (st.size !== stdoutBytes) {
        throw new ExitPlanError(
          `The command "${name}" wrote to stdout (${formatBytes(stdoutBytes)}) and to $OUTPUT_PATH too: ` +
            `write the dump to one of them only (and anything else to stderr)`,
        );
      }
      sha256 = hash.digest('hex');
      bytes = stdoutBytes;
      output = 'stdout';
    } else {
      if (st.size === 0)
        throw new ExitPlanError(`The command "${name}" exited 0 but wrote nothing (neither to stdout nor to $OUTPUT_PATH)`);
      progress.phase = 'checksum';
      progress.bytes = 0;
      reportNow();
      ({ sha256, bytes } = await hashFile(partial.partialPath, {
        signal: stop.signal,
        onBytes: (b) => {
          progress.bytes = b;
          report(undefined);
        },
      }));
      output = 'file';
    }
    throwIfAborted(stop.signal);
    const { file, sidecar } = await commitWithSidecar(partial, (target): Sidecar => ({
      ...newSidecar(target, 'command', { bytes, sha256, started }),
      command: {
        name,
        cmd: maskSecrets(cmd),
        extension,
        output,
        ...(options.verifyCmd ? { verifyCmd: maskSecrets(options.verifyCmd) } : {}),
        ...(options.restoreCmd ? { restoreCmd: maskSecrets(options.restoreCmd) } : {}),
      },
    }));
    progress.phase = 'done';
    progress.bytes = bytes;
    reportNow();
    log(`Backup written: ${file} (${bytes} bytes from ${output === 'stdout' ? 'stdout' : '$OUTPUT_PATH'}, sha256 ${sha256})`);
    return { file, kind: 'command', bytes, sha256, sidecar, durationMs: Date.now() - started.getTime(), command: name };
  } catch (err) {
    clearInterval(poll);
    // What failed first: the streams destroyed below may still report the writes they drop.
    const cause = streamError ?? err;
    if (!stop.signal.aborted) stop.abort(err);
    sink.destroy();
    partial.stream.destroy();
    const removed = await partial.discard().then(
      () => true,
      () => false,
    );
    throw backupError(cause, partial.partialPath, removed, options.signal);
  } finally {
    options.signal?.removeEventListener('abort', onUserAbort);
  }
}

/** Node's timers hold at most 2^31 - 1 ms. */
function checkTimeout(ms: number | undefined): void {
  if (ms !== undefined && !(ms > 0 && ms < 2 ** 31)) throw new ExitPlanError(`The timeout ${ms} ms is not between 1 ms and 24 days.`);
}

/**
 * Why a command failed, as the start of a sentence (no final period), or undefined when it exited 0:
 * `The command "mongo" failed (exit 2): <its last stderr line>` / `… ran longer than 5 seconds and was stopped`.
 */
export function commandFailure(subject: string, result: ProcessResult, timeoutMs?: number): string | undefined {
  if (result.timedOut) {
    const limit = timeoutMs !== undefined && timeoutMs < 1000 ? `${timeoutMs} ms` : formatDuration(timeoutMs ?? 0);
    return `${subject} ran longer than ${limit} and was stopped (with everything it started)`;
  }
  if (result.code === 0 && !result.signal) return undefined;
  const last = [...result.stderrTail].reverse().find((line) => line.trim() !== '');
  const how = result.signal ? `was killed by ${result.signal}` : `failed (exit ${result.code})`;
  return `${subject} ${how}${last ? `: ${maskSecrets(last.trim()).replace(/[.;:]\s*$/, '')}` : ' without a message on stderr'}`;
}

export interface BackupCommandRun {
  ok: boolean;
  /** One sentence when it failed (no final period), else undefined. */
  failure?: string;
}

/**
 * Runs a verify or restore command (`sh -c`, own process group) with `BACKUP_PATH` set; its stdout and stderr
 * lines go to `log`. Throws CancelledError when the signal aborts it; otherwise never throws for its failure.
 */
export async function runBackupCommand(
  subject: string,
  cmd: string,
  options: {
    backupPath: string;
    env?: Record<string, string>;
    cwd?: string;
    timeoutMs?: number;
    killGraceMs?: number;
    signal?: AbortSignal;
    log?: (line: string) => void;
  },
): Promise<BackupCommandRun> {
  checkTimeout(options.timeoutMs);
  const log = options.log ?? (() => undefined);
  log(`Running ${subject}: ${maskSecrets(cmd)}`);
  const result = await runProcess(cmd, [], {
    shell: true,
    group: true,
    cwd: options.cwd,
    envAdd: { ...options.env, BACKUP_PATH: options.backupPath },
    onStdoutLine: (line) => log(maskSecrets(line)),
    onStderrLine: (line) => log(maskSecrets(line)),
    timeoutMs: options.timeoutMs,
    killGraceMs: options.killGraceMs,
    signal: options.signal,
    startError: (e) => new ExitPlanError(`Cannot start /bin/sh for ${subject}: ${e.message}.`, e.code, { cause: e }),
  });
  if (result.cancelled || options.signal?.aborted) throw new CancelledError();
  const failure = commandFailure(subject.charAt(0).toUpperCase() + subject.slice(1), result, options.timeoutMs);
  return failure ? { ok: false, failure } : { ok: true };
}
