import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Client } from 'pg';
import { capture, type Captured } from '../../scripts/lib/capture';
import { tableFingerprint } from './archive';

export const ROOT = path.resolve(__dirname, '../../..');
export const CLI = path.join(ROOT, 'dist', 'cli.js');

/** Every table (ordinary, partition, materialized view) outside the system schemas, with a fingerprint of its rows. */
export async function databaseFingerprints(client: Client): Promise<Record<string, { rows: number; md5: string }>> {
  const rels = await client.query<{ schema: string; name: string }>(
    `SELECT n.nspname AS schema, c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_'
      ORDER BY 1, 2`,
  );
  const out: Record<string, { rows: number; md5: string }> = {};
  for (const r of rels.rows) out[`${r.schema}.${r.name}`] = await tableFingerprint(client, r.schema, r.name);
  return out;
}

export function sha256Of(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

/** Runs `node dist/cli.js …` with the given extra environment. */
export function runCli(args: string[], env: Record<string, string | undefined> = {}): Promise<Captured> {
  return capture(process.execPath, [CLI, ...args], { env: { ...process.env, ...env } });
}

/** Processes named `name` whose command line mentions `needle` (read from /proc, Linux). */
export function processesMatching(name: string, needle: string): { pid: number; argv: string[]; environ: string[] }[] {
  const found: { pid: number; argv: string[]; environ: string[] }[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = fs
        .readFileSync(`/proc/${entry}/cmdline`, 'utf8')
        .split('\0')
        .filter((a) => a !== '');
      if (argv.length === 0 || path.basename(argv[0]) !== name || !argv.some((a) => a.includes(needle))) continue;
      const environ = fs.readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0');
      found.push({ pid: Number(entry), argv, environ });
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/** Polls until `check` is true (the mocha timeout bounds it; nothing here asserts on time). */
export async function until(check: () => boolean | Promise<boolean>): Promise<void> {
  while (!(await check())) await new Promise((r) => setTimeout(r, 25));
}

/** Does a database of that name exist on the server? */
export async function databaseExists(admin: Client, name: string): Promise<boolean> {
  const r = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
  return r.rowCount === 1;
}
