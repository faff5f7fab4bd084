import * as fs from 'node:fs';
import * as path from 'node:path';
import { CancelledError, ExitPlanError, describeWriteError, errorMessage, systemCode, throwIfAborted } from '../../shared/errors';
import { formatBytes, formatCount, plural, throttle } from '../../shared/format';
import { maskSecrets } from '../../shared/mask';
import { runProcess } from '../../shared/process';
import type { CommandPart, PartFile, PartRunner } from '../types';
import { clearPartDir, partFileOf, shareOf, totalBytes, walkFiles } from './files';

/** The folder the command writes into (`$OUTPUT_DIR`), inside the part's folder. */
export const COMMAND_OUTPUT_DIR = 'output';
/** The command's output (stdout and stderr, masked), inside the part's folder. */
export const COMMAND_LOG = 'command.log';

/** Where a command part is: the command running (its output lines so far), or hashing / re-reading what it wrote. */
export type CommandPartProgress =
  | { phase: 'running'; lines: number; elapsedMs: number }
  | { phase: 'hashing' | 'verifying'; files: number; file: number; bytes: number; total: number };

/** The command part's progress line: `Running the command — 12 lines of output, 41 s`, `Verifying 2/3 files — 3 MB of 9 MB`. */
export function describeCommandPartProgress(p: CommandPartProgress): string {
  if (p.phase === 'running')
    return `Running the command — ${plural(p.lines, 'line')} of output, ${formatCount(Math.round(p.elapsedMs / 1000))} s`;
  const verb = p.phase === 'hashing' ? 'Recording checksums of' : 'Verifying';
  return `${verb} ${formatCount(p.file)}/${formatCount(p.files)} files — ${formatBytes(p.bytes)} of ${formatBytes(p.total)}`;
}

/** Share done: unknown while the command runs, then the two reads of its files. */
export function commandPartProgressFraction(p: CommandPartProgress): number | undefined {
  if (p.phase === 'running') return undefined;
  return (p.phase === 'hashing' ? 0 : 0.5) + 0.5 * shareOf(p.bytes, p.total);
}

/**
 * The command part of an exit run: `sh -c <cmd>` in its own process group with OUTPUT_DIR set to
 * `<part>/output`, its stdout and stderr lines (masked) in `<part>/command.log`. It succeeds when the command
 * exits 0 and wrote at least one file; every file's SHA-256 and size are recorded right after it ends and then
 * verified by reading the files again. Files: what it wrote (`output/…`) and command.log.
 */
export const runCommandPart: PartRunner<CommandPart> = async (part, ctx) => {
  const report = (p: CommandPartProgress) =>
    ctx.onProgress?.({ text: describeCommandPartProgress(p), fraction: commandPartProgressFraction(p) });
  const cancelled = `The command part "${part.name}" was cancelled; the command was stopped.`;
  throwIfAborted(ctx.signal, cancelled);
  await clearPartDir(ctx.dir);
  const outputDir = path.join(ctx.dir, COMMAND_OUTPUT_DIR);
  await fs.promises.mkdir(outputDir, { recursive: true });
  const logFile = path.join(ctx.dir, COMMAND_LOG);
  const log = fs.createWriteStream(logFile, { flags: 'wx' });
  let logError: unknown;
  log.on('error', (err) => (logError ??= err));
  let lines = 0;
  const started = Date.now();
  const line = (text: string) => {
    lines++;
    log.write(`${maskSecrets(text)}\n`);
  };
  const ticker = setInterval(() => report({ phase: 'running', lines, elapsedMs: Date.now() - started }), 1000);
  report({ phase: 'running', lines, elapsedMs: 0 });
  ctx.log?.(`Running the command of part "${part.name}": ${maskSecrets(part.cmd)}`);
  let result;
  try {
    result = await runProcess(part.cmd, [], {
      shell: true,
      group: true,
      envAdd: { OUTPUT_DIR: outputDir },
      timeoutMs: part.timeout?.ms,
      signal: ctx.signal,
      onStdoutLine: line,
      onStderrLine: line,
      stderrTailLines: 0,
    });
  } finally {
    clearInterval(ticker);
    await new Promise<void>((resolve) => log.end(resolve));
  }
  if (result.cancelled) throw new CancelledError(cancelled);
  if (logError) {
    throw new ExitPlanError(
      describeWriteError(logError, logFile) ?? `Cannot write ${logFile}: ${errorMessage(logError)}.`,
      systemCode(logError),
    );
  }
  const failed = (why: string) => new ExitPlanError(`The command of part "${part.name}" ${why} (its output is in ${COMMAND_LOG}).`);
  if (result.timedOut) throw failed(`did not finish within ${part.timeout?.text ?? 'its timeout'} and was stopped`);
  if (result.code !== 0)
    throw failed(result.code === null ? `was killed by ${result.signal ?? 'a signal'}` : `exited with code ${result.code}`);

  const { files: written, others } = await walkFiles(outputDir);
  if (written.length === 0) {
    throw failed(
      `exited 0 but wrote no file into $OUTPUT_DIR${others.length > 0 ? ` (only ${others.join(', ')}, which are not files)` : ''}`,
    );
  }
  // Recorded right after the command, then read again: a file changed by something the command left running fails.
  const total = totalBytes(written);
  const throttled = throttle(report, 200);
  const pass = async (phase: 'hashing' | 'verifying'): Promise<PartFile[]> => {
    const out: PartFile[] = [];
    let done = 0;
    for (const [i, file] of written.entries()) {
      throwIfAborted(ctx.signal, `The command part "${part.name}" was cancelled.`);
      throttled({ phase, files: written.length, file: i + 1, bytes: done, total });
      const recorded = await partFileOf(ctx.dir, file.abs, ctx.signal, (b) =>
        throttled({ phase, files: written.length, file: i + 1, bytes: done + b, total }),
      );
      done += recorded.bytes;
      out.push(recorded);
    }
    report({ phase, files: written.length, file: written.length, bytes: done, total });
    return out;
  };
  const recorded = await pass('hashing');
  const again = await pass('verifying');
  for (const [i, want] of recorded.entries()) {
    const got = again[i];
    if (got.sha256 !== want.sha256 || got.bytes !== want.bytes) {
      throw new ExitPlanError(
        `The file ${want.path} of part "${part.name}" changed after the command ended (something it started still writes to it?).`,
      );
    }
  }
  const files = [...recorded, await partFileOf(ctx.dir, logFile, ctx.signal)];
  return {
    files,
    verification:
      `The command exited 0, and the SHA-256 and size of its ${plural(recorded.length, 'file')} ` +
      `(${formatBytes(totalBytes(recorded))}), recorded when it ended, matched when read again.`,
    details: { exitCode: 0, durationMs: Date.now() - started, outputLines: lines },
    ...(others.length > 0
      ? { notes: others.map((o) => `${COMMAND_OUTPUT_DIR}/${o} is not a regular file: it was neither recorded nor verified.`) }
      : {}),
  };
};
