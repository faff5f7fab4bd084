import * as fs from 'node:fs';
import * as path from 'node:path';
import { errorMessage, throwIfAborted } from '../shared/errors';
import { formatBytes, plural } from '../shared/format';
import type { OperationOptions } from '../shared/operation';
import { describeConnection, serverVersion, type PgConnectionOptions } from '../postgres/connection';
import { listBackups } from './list';
import { checkPgDumpVersion, findPgTool, toolVersion, type PgToolsOptions } from './pgTools';
import { runProcess } from '../shared/process';
import type { BackupTarget, CommandSource } from './targets';

/** One check of a target's pre-flight, in one sentence. */
export interface TargetCheck {
  /** What was checked: the backup folder, its free space, the database connection, pg_dump, a folder of files, a command. */
  kind: 'folder' | 'space' | 'database' | 'pg_dump' | 'files' | 'command';
  ok: boolean;
  /** One sentence: what was found. */
  message: string;
  /** A few words for a summary line ("folder writable", "70.0 GB free"); the message when it failed. */
  summary: string;
}

/** A check as the steps below make it: the summary defaults to the message. */
type Found = Omit<TargetCheck, 'summary'> & { summary?: string };

function checked(c: Found): TargetCheck {
  return { ...c, summary: c.ok && c.summary ? c.summary : c.message };
}

export interface TargetCheckResult {
  checks: TargetCheck[];
  /** Every check passed. */
  ok: boolean;
}

export interface CheckTargetOptions extends PgToolsOptions, OperationOptions<string> {
  target: Pick<BackupTarget, 'name' | 'dir' | 'folders' | 'blocking'> & Partial<Pick<BackupTarget, 'commands'>>;
  /** Added to the environment the commands' programs are looked up in (as a backup gives it to them). */
  commandEnv?: Record<string, string>;
  /** The database to back up, if any (a caller may read a password from its store then). */
  database?: () => PgConnectionOptions | Promise<PgConnectionOptions>;
}

/**
 * What a backup of the target would need, checked without backing up: the folder exists (or can be made) and
 * is writable, its free space against the last backups' size, the database connection with its stored
 * password, pg_dump found and not older than the server, each folder of files readable. Every check is
 * reported (one failing does not stop the others); only a cancel throws.
 */
export async function checkTarget(options: CheckTargetOptions): Promise<TargetCheckResult> {
  const { target, signal } = options;
  const found: Found[] = [];
  const step = (label: string) => {
    throwIfAborted(signal, 'Test cancelled.');
    options.onProgress?.(label);
  };

  step(`Checking ${target.dir || 'the backup folder'}…`);
  const folder = await checkFolder(target);
  found.push(folder.check);
  if (folder.existing) {
    step('Checking free space…');
    found.push(await checkSpace(target.dir, folder.existing));
  }

  if (options.database) {
    step('Connecting to the database…');
    let server: { text: string; num: number; where: string } | undefined;
    try {
      const connection = await options.database();
      step(`Connecting to ${describeConnection(connection)}…`);
      server = { ...(await serverVersion(connection)), where: `${connection.host}:${connection.port}` };
      found.push({
        kind: 'database',
        ok: true,
        message: `Connected to ${describeConnection(connection)} (PostgreSQL ${server.text}).`,
        summary: `connected to PostgreSQL ${server.text}`,
      });
    } catch (err) {
      throwIfAborted(signal, 'Test cancelled.');
      found.push({ kind: 'database', ok: false, message: errorMessage(err) });
    }
    step('Checking pg_dump…');
    try {
      const pgDump = findPgTool('pg_dump', options);
      const version = await toolVersion(pgDump);
      if (server) checkPgDumpVersion(version, server);
      found.push({
        kind: 'pg_dump',
        ok: true,
        message: server
          ? `pg_dump ${version.text} (${pgDump}) can back up PostgreSQL ${server.text}.`
          : `pg_dump ${version.text} found at ${pgDump} (its fit to the server is checked once the connection works).`,
        summary: `pg_dump ${version.text}${server ? ' fits the server' : ' found'}`,
      });
    } catch (err) {
      throwIfAborted(signal, 'Test cancelled.');
      found.push({ kind: 'pg_dump', ok: false, message: errorMessage(err) });
    }
  }

  for (const f of target.folders) {
    step(`Reading ${f.path}…`);
    found.push(await checkFiles(f));
  }
  for (const c of target.commands ?? []) {
    step(`Looking for the program of the command "${c.name}"…`);
    found.push(await checkCommand(c, options.commandEnv, signal));
  }
  const results = found.map(checked);
  return { checks: results, ok: results.every((c) => c.ok) };
}

/** The backup folder: there and writable, or missing with a writable folder above it. */
async function checkFolder(target: CheckTargetOptions['target']): Promise<{ check: Found; existing?: string }> {
  const fail = (message: string) => ({ check: { kind: 'folder' as const, ok: false, message } });
  if (target.blocking.length > 0) return fail(target.blocking[0]);
  const dir = target.dir;
  let existing = dir;
  for (;;) {
    const stat = await fs.promises.stat(existing).catch(() => undefined);
    if (stat?.isDirectory()) break;
    if (stat) return fail(`${existing} is a file, not a folder: choose another backup folder.`);
    const parent = path.dirname(existing);
    if (parent === existing) return fail(`No part of ${dir} exists.`);
    existing = parent;
  }
  // A file made and removed says more than access(2) (read-only mounts, ACLs, quotas).
  const probe = path.join(existing, `.exit-plan-write-test-${process.pid}-${Date.now()}`);
  try {
    await fs.promises.writeFile(probe, '', { flag: 'wx' });
    await fs.promises.rm(probe, { force: true });
  } catch (err) {
    return fail(`Cannot write in ${existing}: ${errorMessage(err)}.`);
  }
  return {
    existing,
    check: {
      kind: 'folder',
      ok: true,
      message:
        existing === dir
          ? `The folder ${dir} exists and is writable.`
          : `The folder ${dir} does not exist yet; the first backup creates it (${existing} is writable).`,
      summary: existing === dir ? 'folder writable' : 'folder can be created',
    },
  };
}

/** Free space where the backups go, against the size of the newest backup of each database and folder. */
async function checkSpace(dir: string, existing: string): Promise<Found> {
  let free: number;
  try {
    const s = await fs.promises.statfs(existing);
    free = s.bavail * s.bsize;
  } catch (err) {
    return { kind: 'space', ok: true, message: `The free space of ${existing} could not be read (${errorMessage(err)}).` };
  }
  const newest = new Map<string, number>();
  if (existing === dir) {
    for (const b of await listBackups(dir).catch(() => [])) if (!newest.has(b.group)) newest.set(b.group, b.bytes);
  }
  const next = [...newest.values()].reduce((n, b) => n + b, 0);
  if (next > free) {
    return {
      kind: 'space',
      ok: false,
      message: `Only ${formatBytes(free)} free in ${existing}, less than the last backups took (${formatBytes(next)}).`,
    };
  }
  return {
    kind: 'space',
    ok: true,
    message: next > 0 ? `${formatBytes(free)} free (the last backups took ${formatBytes(next)}).` : `${formatBytes(free)} free.`,
    summary: `${formatBytes(free)} free`,
  };
}

/** A folder of files: a folder, and its entries readable. */
async function checkFiles(f: { name: string; path: string }): Promise<Found> {
  const label = `The folder of files "${f.name}" (${f.path})`;
  try {
    const stat = await fs.promises.stat(f.path);
    if (!stat.isDirectory()) return { kind: 'files', ok: false, message: `${label} is a file, not a folder.` };
    const entries = await fs.promises.readdir(f.path);
    return {
      kind: 'files',
      ok: true,
      message: `${label} is readable (${plural(entries.length, 'entry', 'entries')} at its top).`,
      summary: `"${f.name}" readable`,
    };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return {
      kind: 'files',
      ok: false,
      message: code === 'ENOENT' ? `${label} does not exist.` : `${label} cannot be read: ${errorMessage(err)}.`,
    };
  }
}

/**
 * A command: the program its line starts with is found on PATH (through sh's `command -v`, as sh would find
 * it). Only a plain first word is looked up; a line that starts otherwise (a variable, a subshell, `cd …`
 * and the like) is not run here and passes with a sentence saying so: a check never runs the command.
 */
async function checkCommand(c: CommandSource, env: Record<string, string> | undefined, signal?: AbortSignal): Promise<Found> {
  const word = /^([A-Za-z0-9_./+-]+)(?=\s|$)/.exec(c.cmd.trim())?.[1];
  if (!word || SHELL_WORDS.has(word)) {
    return {
      kind: 'command',
      ok: true,
      message: `The command "${c.name}" is a shell line whose program cannot be told without running it; it was not run.`,
      summary: `"${c.name}" not checked`,
    };
  }
  const r = await runProcess('/bin/sh', ['-c', 'command -v -- "$1"', 'sh', word], { envAdd: env, stdout: 'capture', signal });
  throwIfAborted(signal, 'Test cancelled.');
  const where = r.stdout.trim();
  if (r.code === 0 && where !== '') {
    return {
      kind: 'command',
      ok: true,
      message: `The command "${c.name}" starts with ${word}, found (${where}).`,
      summary: `${word} found`,
    };
  }
  return { kind: 'command', ok: false, message: `The command "${c.name}" starts with ${word}, which is not found on PATH.` };
}

/** First words that are the shell's own, not a program to look for. */
const SHELL_WORDS = new Set(['cd', 'set', 'export', 'exec', 'env', 'if', 'for', 'while', 'case', 'test', '.', 'eval', 'umask', 'ulimit']);
