import * as path from 'node:path';
import { CancelledError, ExitPlanError } from '../shared/errors';
import { runProcess } from '../shared/process';
import { findOnPath, isExecutable } from '../shared/programs';
import type { PgConnectionOptions } from '../postgres/connection';

/** Where the PostgreSQL client programs come from: a pg_dump path (setting or --pg-dump), else PATH. */
export interface PgToolsOptions {
  /** Full path of pg_dump; pg_restore is then looked up in the same folder. Empty: PATH. */
  pgDumpPath?: string;
}

export type PgTool = 'pg_dump' | 'pg_restore';

/** The hint every "not found" or "too old" sentence ends with. */
const WHERE_HINT = 'set exitPlan.pgDumpPath (or --pg-dump on the command line) to its full path';

/** The full path of pg_dump or pg_restore; a clear sentence when it cannot be found. */
export function findPgTool(tool: PgTool, options: PgToolsOptions = {}): string {
  const configured = options.pgDumpPath?.trim();
  if (configured) {
    const dump = path.resolve(configured);
    const ext = process.platform === 'win32' && dump.toLowerCase().endsWith('.exe') ? '.exe' : '';
    const file = tool === 'pg_dump' ? dump : path.join(path.dirname(dump), tool + ext);
    if (!isExecutable(file)) {
      throw new ExitPlanError(
        tool === 'pg_dump'
          ? `pg_dump was not found at ${file} (the configured pg_dump path): check exitPlan.pgDumpPath or --pg-dump.`
          : `${tool} was not found next to the configured pg_dump (${file}): install the full PostgreSQL client tools there.`,
      );
    }
    return file;
  }
  const found = findOnPath(tool);
  if (!found) {
    throw new ExitPlanError(
      `${tool} was not found on PATH: install the PostgreSQL client tools (Debian/Ubuntu: postgresql-client-15 or newer) or ${WHERE_HINT}.`,
    );
  }
  return found;
}

/** `150018` from `pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)`, `90624` from `9.6.24`. */
export function parseToolVersion(output: string): { text: string; num: number } | undefined {
  const m = /\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?(?:\.(\d+))?/.exec(output);
  if (!m) return undefined;
  const [a, b, c] = [Number(m[1]), Number(m[2] ?? 0), Number(m[3] ?? 0)];
  const num = a >= 10 ? a * 10000 + b : a * 10000 + b * 100 + c;
  return { text: [m[1], m[2], m[3]].filter((x) => x !== undefined).join('.'), num };
}

/** A comparable major version: 1500 for 150018 (15.18), 906 for 90624 (9.6.24). */
export function majorKey(versionNum: number): number {
  return versionNum >= 100000 ? Math.floor(versionNum / 10000) * 100 : Math.floor(versionNum / 100);
}

/** `15` or `9.6`: a major version as people write it. */
export function majorText(versionNum: number): string {
  if (versionNum >= 100000) return String(Math.floor(versionNum / 10000));
  return `${Math.floor(versionNum / 10000)}.${Math.floor((versionNum % 10000) / 100)}`;
}

/**
 * pg_dump refuses (or worse, silently misses things) when it is older than the server. Throws one
 * sentence saying what to install when `tool` is older than `server`.
 */
export function checkPgDumpVersion(
  tool: { text: string; num: number; path: string },
  server: { text: string; num: number; where: string },
): void {
  if (majorKey(tool.num) < majorKey(server.num)) {
    const need = majorText(server.num);
    throw new ExitPlanError(
      `pg_dump ${tool.text} (${tool.path}) is older than the PostgreSQL ${server.text} server at ${server.where} and cannot back it up: ` +
        `install pg_dump ${need} or newer (Debian/Ubuntu: postgresql-client-${need}) and put it on PATH, or ${WHERE_HINT}.`,
    );
  }
}

/** The version a PostgreSQL client program reports. */
export async function toolVersion(file: string): Promise<{ text: string; num: number; path: string }> {
  const result = await runTool(file, ['--version'], { env: process.env, captureStdout: true });
  const parsed = result.code === 0 ? parseToolVersion(result.stdout) : undefined;
  if (!parsed) {
    throw new ExitPlanError(
      `${file} --version did not print a PostgreSQL version (exit ${result.code ?? result.signal}): is it really ${path.basename(file)}?`,
    );
  }
  return { ...parsed, path: file };
}

/** Quotes a value for a libpq connection string: single quotes, with `\` and `'` escaped. */
export function conninfoValue(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/**
 * A libpq connection string for `--dbname=…` without the password. Always a conninfo string, so a
 * database name with `=` in it, or one that looks like a URL, is never misread.
 */
export function conninfo(c: PgConnectionOptions, database = c.database): string {
  return [
    `host=${conninfoValue(c.host)}`,
    `port=${c.port}`,
    `dbname=${conninfoValue(database)}`,
    `user=${conninfoValue(c.user)}`,
    `sslmode=${c.sslmode ?? 'prefer'}`,
    `application_name='exit-plan'`,
    'connect_timeout=15',
  ].join(' ');
}

/**
 * The environment for pg_dump / pg_restore: the password only as PGPASSWORD (never in argv, where `ps`
 * would show it), messages in English so they can be read back, and no stray PG* settings that could
 * point the program elsewhere than the conninfo says.
 */
export function toolEnv(c?: PgConnectionOptions): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^PG/.test(key) && key !== 'PGPASSFILE' && key !== 'PGSSLROOTCERT' && key !== 'PGSSLCERT' && key !== 'PGSSLKEY') continue;
    env[key] = value;
  }
  if (c?.password) env.PGPASSWORD = c.password;
  env.LC_MESSAGES = 'C';
  env.LANGUAGE = '';
  return env;
}

export interface ToolResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  /** The last lines of stderr (at most 50). */
  stderrTail: string[];
}

export interface RunToolOptions {
  env: NodeJS.ProcessEnv;
  signal?: AbortSignal;
  /** Collect stdout (small outputs only); otherwise it is counted in `onStdoutLine` or dropped. */
  captureStdout?: boolean;
  onStdoutLine?: (line: string) => void;
  onStderrLine?: (line: string) => void;
  /** Called once the process has started. */
  onSpawn?: (pid: number) => void;
}

/**
 * Runs a program without a shell (argv array), through the core's one process runner. On abort it is sent
 * SIGTERM, then SIGKILL if it has not gone after 5 s; the promise then rejects with CancelledError once the
 * process has exited.
 */
export async function runTool(file: string, args: string[], options: RunToolOptions): Promise<ToolResult> {
  if (options.signal?.aborted) throw new CancelledError();
  let stdout = '';
  const result = await runProcess(file, args, {
    env: options.env,
    signal: options.signal,
    stdout: options.captureStdout || options.onStdoutLine ? 'pipe' : 'ignore',
    stderr: 'pipe',
    onStdoutLine:
      options.captureStdout || options.onStdoutLine
        ? (line) => {
            if (options.captureStdout) stdout += `${line}\n`;
            options.onStdoutLine?.(line);
          }
        : undefined,
    onStderrLine: options.onStderrLine,
    onSpawn: options.onSpawn,
  });
  if (result.cancelled) throw new CancelledError();
  return { code: result.code, signal: result.signal, stdout, stderrTail: result.stderrTail };
}

/**
 * The message of a failed pg_dump / pg_restore in one line: its `error:` lines, or the last lines, with
 * the program prefix dropped.
 */
export function toolFailure(tool: string, result: ToolResult): string {
  if (result.signal) return `${tool} was stopped by ${result.signal} before it finished`;
  const errors = result.stderrTail.filter((l) => /\b(error|fatal|FATAL|ERROR)\b/.test(l) && !/^\s*(DETAIL|HINT|Command was)/.test(l));
  const picked = (errors.length > 0 ? errors : result.stderrTail.filter((l) => l.trim() !== '')).slice(-2);
  const text = picked
    .map((l) =>
      l
        .replace(new RegExp(`^${tool}:\\s*(error:\\s*)?`), '')
        .replace(/^could not execute query:\s*/, '')
        .replace(/^\s*(error|ERROR|FATAL):\s*/, '')
        .trim(),
    )
    .filter((l) => l !== '')
    .join(' ')
    .replace(/\s+/g, ' ')
    .replace(/[.:;]+$/, '');
  return `${tool} failed (exit ${result.code})${text ? `: ${text}` : ''}`;
}
