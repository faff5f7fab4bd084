import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tar from 'tar';
import { errorMessage, throwIfAborted } from '../shared/errors';
import { runBackupCommand } from './createCommand';
import type { OperationOptions } from '../shared/operation';
import { formatBytes, formatCount, lowerFirst, throttle } from '../shared/format';
import { listBackups } from './list';
import { parseBackupName, type BackupKind } from './names';
import { findPgTool, runTool, toolEnv, toolFailure, type PgToolsOptions } from './pgTools';
import { hashFile } from '../shared/hashFile';
import { readSidecar, updateSidecar, type Sidecar } from './sidecar';
import type { CommandSource } from './targets';

export interface VerifyResult {
  file: string;
  name: string;
  /** Undefined when the file's name is not a backup's (then `checked` is false). */
  kind?: BackupKind;
  state: 'verified' | 'failed';
  /** One sentence: what was checked, or what is wrong. */
  message: string;
  /** ISO 8601. */
  at: string;
  bytes: number;
  /** Whether the result was written into the sidecar (not possible when there is none). */
  recorded: boolean;
  /**
   * False when the file could not be checked at all: its name is not a backup's, or it does not exist
   * (`message` says which). A restore or a drill refuses such a file as bad input.
   */
  checked: boolean;
}

/** Bytes read so far of `total` of one backup; with `index` (1-based) of `count` when verifying several. */
export interface VerifyProgress {
  file: string;
  bytes: number;
  total: number;
  index?: number;
  count?: number;
}

export interface VerifyOptions extends PgToolsOptions, OperationOptions<VerifyProgress> {
  /**
   * Command backups: the verify command to run after the checksum (`sh -c`, `$BACKUP_PATH` set; exit 0 =
   * verified). Never read from the sidecar: it comes from the target's definition or the CLI's flags.
   */
  verifyCmd?: string;
  /** Command backups: the definitions by name (a target's `commands`); their `verifyCmd` and `timeout` apply unless given here. */
  commands?: readonly CommandSource[];
  /** Stop the verify command's process group after this long (default: its definition's timeout, else none). */
  commandTimeoutMs?: number;
  /** Added to the verify command's environment. */
  commandEnv?: Record<string, string>;
}

/** A verification's progress line: `Verifying postgres_backup_…pg_restore — 41 MB of 120 MB`. */
export function describeVerifyProgress(p: VerifyProgress): string {
  return `Verifying ${path.basename(p.file)} — ${formatBytes(p.bytes)} of ${formatBytes(p.total)}`;
}

/** The share of a verification done (0..1): files done, plus the share of the current one read. */
export function verifyProgressFraction(p: VerifyProgress): number {
  const count = p.count ?? 1;
  const done = (p.index ?? 1) - 1 + (p.total > 0 ? p.bytes / p.total : 1);
  return Math.min(1, done / count);
}

/**
 * Verifies one backup and records the outcome in its sidecar: the size and SHA-256 against the sidecar,
 * then `pg_restore --list` for a PostgreSQL dump, or a full read of every entry for a tar archive (with
 * the entry count and content bytes against the sidecar). A backup without a sidecar fails: nothing
 * says what it should contain. A file it cannot check at all (not a backup's name, missing) fails too,
 * with `checked: false`: a partial outcome, never a throw.
 */
export async function verifyBackup(file: string, options: VerifyOptions = {}): Promise<VerifyResult> {
  const abs = path.resolve(file);
  const name = path.basename(abs);
  const at = new Date().toISOString();
  const unchecked = (kind: BackupKind | undefined, message: string): VerifyResult => ({
    file: abs,
    name,
    kind,
    state: 'failed',
    message,
    at,
    bytes: 0,
    recorded: false,
    checked: false,
  });
  const parsed = parseBackupName(name);
  if (!parsed) {
    return unchecked(
      undefined,
      `${abs} is not a backup made by Exit Plan ` +
        '(its name is not postgres_backup_<db>__<time>.pg_restore, <name>_media__<time>.tar or <name>_backup__<time>.<extension>).',
    );
  }
  let st: fs.Stats;
  try {
    st = await fs.promises.stat(abs);
  } catch {
    return unchecked(parsed.kind, `The backup ${abs} does not exist.`);
  }
  const result = (state: VerifyResult['state'], message: string, recorded: boolean): VerifyResult => ({
    file: abs,
    name,
    kind: parsed.kind,
    state,
    message,
    at,
    bytes: st.size,
    recorded,
    checked: true,
  });

  let sidecar: Sidecar | undefined;
  try {
    sidecar = await readSidecar(abs);
  } catch (err) {
    return result('failed', errorMessage(err), false);
  }
  if (!sidecar) return result('failed', 'No sidecar (.json) records its size and checksum, so it cannot be verified.', false);

  const definition = parsed.kind === 'command' ? options.commands?.find((c) => c.name === parsed.source) : undefined;
  const outcome = await check(abs, parsed.kind, st.size, sidecar, {
    ...options,
    verifyCmd: options.verifyCmd ?? definition?.verifyCmd,
    commandTimeoutMs: options.commandTimeoutMs ?? definition?.timeout?.ms,
  });
  throwIfAborted(options.signal);
  await updateSidecar(abs, (s) => {
    s.verification = { state: outcome.state, at, message: outcome.message };
  });
  return result(outcome.state, outcome.message, true);
}

async function check(
  file: string,
  kind: BackupKind,
  size: number,
  sidecar: Sidecar,
  options: VerifyOptions,
): Promise<{ state: 'verified' | 'failed'; message: string }> {
  const failed = (message: string) => ({ state: 'failed' as const, message });
  if (sidecar.bytes !== size) {
    return failed(
      `The file is ${formatCount(size)} bytes but was ${formatCount(sidecar.bytes)} bytes when written: it was truncated or changed.`,
    );
  }
  const progress = throttle((bytes: number) => options.onProgress?.({ file, bytes, total: size }), 200);
  if (kind === 'files') {
    const read = await readTar(file, options.signal, progress);
    progress.flush();
    if (read.sha256 !== sidecar.sha256) return failed(CHECKSUM_MISMATCH);
    if (read.error) return failed(`The archive cannot be read: ${read.error.replace(/\.$/, '')}.`);
    const want = sidecar.files;
    if (want && (want.entries !== read.entries || want.contentBytes !== read.contentBytes)) {
      return failed(
        `The archive holds ${formatCount(read.entries)} entries (${formatBytes(read.contentBytes)}) ` +
          `but ${formatCount(want.entries)} (${formatBytes(want.contentBytes)}) were written.`,
      );
    }
    return {
      state: 'verified',
      message: `Checksum matches and every entry was read back (${formatCount(read.entries)} entries, ${formatBytes(read.contentBytes)}).`,
    };
  }
  const { sha256 } = await hashFile(file, { signal: options.signal, onBytes: progress });
  progress.flush();
  if (sha256 !== sidecar.sha256) return failed(CHECKSUM_MISMATCH);
  if (kind === 'command') {
    if (!options.verifyCmd) {
      return { state: 'verified', message: 'Checksum matches (no verify command is set, so its contents were not read back).' };
    }
    const run = await runBackupCommand('the verify command', options.verifyCmd, {
      backupPath: file,
      env: options.commandEnv,
      timeoutMs: options.commandTimeoutMs,
      signal: options.signal,
      log: options.log,
    });
    if (!run.ok) return failed(`Checksum matches but ${lowerFirst(run.failure!)}.`);
    return { state: 'verified', message: 'Checksum matches and the verify command accepted it.' };
  }
  const pgRestore = findPgTool('pg_restore', options);
  let entries = 0;
  const listed = await runTool(pgRestore, ['--list', file], {
    env: toolEnv(),
    signal: options.signal,
    onStdoutLine: (line) => {
      if (line.trim() !== '' && !line.startsWith(';')) entries++;
    },
  });
  if (listed.code !== 0 || listed.signal)
    return failed(`pg_restore cannot read it: ${toolFailure('pg_restore', listed).replace(/^pg_restore failed \(exit \d+\): /, '')}.`);
  return { state: 'verified', message: `Checksum matches and pg_restore lists its contents (${formatCount(entries)} entries).` };
}

const CHECKSUM_MISMATCH = 'The SHA-256 checksum does not match the one recorded when it was written: the file is corrupt or was changed.';

/** One pass over a tar (or tar.gz): its SHA-256, and every entry read through node-tar's strict parser. */
async function readTar(
  file: string,
  signal: AbortSignal | undefined,
  onBytes: (bytes: number) => void,
): Promise<{ sha256: string; entries: number; contentBytes: number; error?: string }> {
  const hash = createHash('sha256');
  let entries = 0;
  let contentBytes = 0;
  let error: string | undefined;
  const parser = new tar.Parser({
    strict: true,
    onReadEntry: (entry) => {
      entries++;
      if (entry.type === 'File' || entry.type === 'OldFile' || entry.type === 'ContiguousFile') {
        entry.on('data', (d: Buffer) => (contentBytes += d.length));
      } else {
        entry.resume();
      }
    },
  });
  const parsed = new Promise<void>((resolve) => {
    parser.on('error', (err: Error) => {
      error ??= `${err.message}`;
      resolve();
    });
    parser.on('end', () => resolve());
    parser.on('close', () => resolve());
  });
  let bytes = 0;
  const stream = fs.createReadStream(file, { highWaterMark: 1 << 20 });
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      throwIfAborted(signal);
      hash.update(chunk);
      bytes += chunk.length;
      onBytes(bytes);
      if (!error && !parser.write(chunk) && !error) {
        await new Promise<void>((resolve) => {
          const done = () => {
            parser.off('drain', done);
            parser.off('error', done);
            resolve();
          };
          parser.once('drain', done);
          parser.once('error', done);
        });
      }
    }
  } finally {
    stream.destroy();
  }
  if (!error) parser.end();
  await parsed;
  return { sha256: hash.digest('hex'), entries, contentBytes, error };
}

/**
 * Verifies every backup in a folder, newest first (or only `files`, in their order), one after another; each
 * result is recorded in its sidecar. A backup that fails is a result with `state: 'failed'`, never a throw.
 */
export async function verifyBackups(dir: string, options: VerifyOptions & { files?: string[] } = {}): Promise<VerifyResult[]> {
  const files = options.files ?? (await listBackups(dir)).map((e) => e.file);
  const results: VerifyResult[] = [];
  for (const [i, file] of files.entries()) {
    throwIfAborted(options.signal);
    const index = i + 1;
    const result = await verifyBackup(file, {
      ...options,
      onProgress: (p) => options.onProgress?.({ ...p, index, count: files.length }),
    });
    options.log?.(`Verified ${result.file}: ${result.state}, ${result.message}`);
    results.push(result);
  }
  return results;
}
