import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Client } from 'pg';
import type { Manifest } from '../../src/exporters/warehouse/model';
import { qualifiedName } from '../../src/exporters/warehouse/catalog';

export function tempDir(prefix = 'exit-plan-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Temporary folders made through `make`, all removed by `removeAll` (call it in an `after` hook); one per test file. */
export function tempDirs(defaultPrefix = 'exit-plan-test-'): { make(prefix?: string): string; removeAll(): void } {
  const made: string[] = [];
  return {
    make(prefix = defaultPrefix) {
      const dir = tempDir(prefix);
      made.push(dir);
      return dir;
    },
    removeAll() {
      for (const dir of made.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Unzips with Debian's unzip, as a user would, and returns the folder and the manifest. */
export function unzipArchive(archive: string): { dir: string; manifest: Manifest } {
  const dir = tempDir('exit-plan-unzip-');
  execFileSync('unzip', ['-q', archive, '-d', dir]);
  const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as Manifest;
  return { dir, manifest };
}

/** Files a folder holds (recursively, not following links), relative paths. */
export function listFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => path.relative(dir, path.join(entry.parentPath, entry.name)))
    .sort();
}

/** A fingerprint of a table's whole contents: every row's text form, sorted. */
export async function tableFingerprint(client: Client, schema: string, name: string): Promise<{ rows: number; md5: string }> {
  const r = await client.query<{ rows: string; md5: string | null }>(
    `SELECT count(*)::text AS rows, md5(string_agg(t::text, E'\\n' ORDER BY t::text)) AS md5 FROM ${qualifiedName(schema, name)} t`,
  );
  return { rows: Number(r.rows[0].rows), md5: r.rows[0].md5 ?? '' };
}
