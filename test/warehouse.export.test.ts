import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { exportWarehouse, verifyArchive, type ExportProgress, type PgConnectionOptions } from '../src/exporters';
import { connectionUrl } from '../scripts/lib/embeddedPostgres';
import { AWKWARD_SQL, AWKWARD_TABLES } from './fixtures/awkward';
import { listFiles, tableFingerprint, tempDir, unzipArchive } from './helpers/archive';
import { postgres, reloadArchive } from './helpers/postgres';

const CLI = path.resolve(__dirname, '../../dist/cli.js');

describe('warehouse export (real PostgreSQL)', () => {
  let source: PgConnectionOptions;

  before(async () => {
    const pg = await postgres();
    source = await pg.createDatabase('awkward');
    const c = await pg.client('awkward');
    await c.query(AWKWARD_SQL);
    await c.end();
  });

  it('round-trips every table exactly through schema.sql, load.sql, psql and unzip', async () => {
    const pg = await postgres();
    const out = tempDir();
    const phases: ExportProgress['phase'][] = [];
    const result = await exportWarehouse({ connection: source, outDir: out, maxRowsPerFile: 10, onProgress: (p) => phases.push(p.phase) });

    assert.equal(path.dirname(result.archive), out);
    assert.match(path.basename(result.archive), /^awkward_\d{4}-\d{2}-\d{2}T\d{6}Z\.zip$/);
    assert.deepEqual(listFiles(out), [path.basename(result.archive)], 'only the archive is left, no .partial');
    assert.deepEqual(result.tables.map((t) => `${t.schema}.${t.name}`).sort(), [...AWKWARD_TABLES].sort());
    assert.deepEqual([...new Set(phases)], ['connecting', 'exporting', 'verifying', 'done']);

    const { manifest } = unzipArchive(result.archive);
    await reloadArchive(result.archive, 'awkward_reloaded');

    const a = await pg.client('awkward');
    const b = await pg.client('awkward_reloaded');
    try {
      for (const t of manifest.tables) {
        const want = await tableFingerprint(a, t.schema, t.name);
        const got = await tableFingerprint(b, t.schema, t.name);
        assert.deepEqual(got, want, `${t.schema}.${t.name} differs after the round trip`);
        assert.equal(t.rows, want.rows, `${t.schema}.${t.name}: manifest rows`);
      }
      // Reloaded partitions route rows into partitions that schema.sql re-created, in their own schema too.
      const parts = await b.query(`SELECT count(*)::int AS n FROM "Field Data".measurements_2024`);
      assert.equal(parts.rows[0].n, 2);
      // The name that tried to inject SQL was only ever a name.
      assert.equal((await a.query(`SELECT count(*)::int AS n FROM public.alerts`)).rows[0].n, 3);
    } finally {
      await a.end();
      await b.end();
    }
  });

  it('writes the manifest, the CSV conventions and the parts a user expects', async () => {
    const out = tempDir();
    const result = await exportWarehouse({ connection: source, outDir: out, maxRowsPerFile: 10 });
    const { dir, manifest } = unzipArchive(result.archive);

    assert.equal(manifest.database, 'awkward');
    assert.match(manifest.serverVersion, /^15\./);
    assert.equal(manifest.tool.name, 'exit-plan');
    assert.ok(!Number.isNaN(Date.parse(manifest.snapshotTime)));
    assert.equal(manifest.csv.delimiter, ',');

    const parts = manifest.tables.find((t) => t.name === 'big_parts')!;
    assert.deepEqual(
      parts.files.map((f) => [f.name, f.rows]),
      [
        ['public/big_parts-00001.csv', 10],
        ['public/big_parts-00002.csv', 10],
        ['public/big_parts-00003.csv', 5],
      ],
    );
    for (const f of parts.files) {
      const text = fs.readFileSync(path.join(dir, f.name), 'utf8');
      assert.ok(text.startsWith('n,label\n'), `${f.name} starts with the header`);
    }
    for (const t of manifest.tables) {
      for (const f of t.files) {
        const bytes = fs.readFileSync(path.join(dir, f.name));
        assert.equal(createHash('sha256').update(bytes).digest('hex'), f.sha256, f.name);
        assert.equal(bytes.length, f.bytes, f.name);
      }
    }
    const forms = manifest.tables.find((t) => t.name === 'form_submissions')!;
    assert.deepEqual(
      forms.columns.find((c) => c.name === 'score'),
      { name: 'score', type: 'numeric(12,4)', notNull: false },
    );
    assert.deepEqual(forms.columns.find((c) => c.name === 'attachments')?.type, 'text[]');

    const csv = fs.readFileSync(path.join(dir, 'public/form_submissions.csv'), 'utf8');
    assert.match(csv, /^1,household survey,.*,$/m, 'NULL is an unquoted empty field');
    assert.match(csv, /^2,household survey,.*,""$/m, 'the empty string is ""');
    assert.match(csv, /"line one\nline two, with comma\r\nand ""quotes"""/, 'newlines, commas and quotes are quoted');

    // Names that are not safe paths become safe entries; the manifest keeps the real names.
    const escape = manifest.tables.find((t) => t.name === '../../escape')!;
    assert.deepEqual(
      escape.files.map((f) => f.name),
      ['public/.._.._escape.csv'],
    );
    assert.ok(fs.existsSync(path.join(dir, 'données', 'relevés_été.csv')));
    const schemaSql = fs.readFileSync(path.join(dir, 'schema.sql'), 'utf8');
    assert.match(schemaSql, /CREATE TYPE "public"."alert_level" AS ENUM \('low', 'high', 'very "high"'\);/);
    assert.match(fs.readFileSync(path.join(dir, 'README.txt'), 'utf8'), /psql -d newdb -v ON_ERROR_STOP=1 -f schema.sql/);
  });

  it('leaves out scrubbed columns and lists them in the manifest', async () => {
    const out = tempDir();
    const result = await exportWarehouse({ connection: source, outDir: out, tables: ['alerts'], excludeColumns: ['API_KEY', '*_token'] });
    const { dir, manifest } = unzipArchive(result.archive);
    assert.deepEqual(
      manifest.tables.map((t) => [t.name, t.excludedColumns]),
      [['alerts', ['api_key', 'refresh_token']]],
    );
    const csv = fs.readFileSync(path.join(dir, 'public/alerts.csv'), 'utf8');
    assert.equal(csv.split('\n')[0], 'id,level,raised_at,message');
    for (const file of listFiles(dir)) {
      const text = fs.readFileSync(path.join(dir, file), 'utf8');
      assert.ok(!/key-1|tok-1/.test(text), `${file} holds no scrubbed value`);
    }
  });

  it('exports views only when asked, and filters by schema and table glob', async () => {
    const withViews = await exportWarehouse({
      connection: source,
      outDir: tempDir(),
      includeViews: true,
      tables: ['public.high_*', 'submission_counts'],
    });
    assert.deepEqual(
      withViews.tables.map((t) => [t.name, t.kind, t.rows]),
      [
        ['high_alerts', 'view', 2],
        ['submission_counts', 'materialized view', 3],
      ],
    );
    const bySchema = await exportWarehouse({ connection: source, outDir: tempDir(), schemas: ['données', 'Field Data'] });
    assert.deepEqual(bySchema.tables.map((t) => `${t.schema}.${t.name}`).sort(), ['Field Data.Observations "2024"', 'données.relevés_été']);
    await assert.rejects(
      exportWarehouse({ connection: source, outDir: tempDir(), tables: ['nothing_like_this'] }),
      /No tables to export in awkward match/,
    );
    // One table picked by exact name (the tree's Export Table): glob and quote characters are just characters.
    const exact = await exportWarehouse({
      connection: source,
      outDir: tempDir(),
      relations: [{ schema: 'public', name: 'x"; DROP TABLE public.alerts; --' }],
    });
    assert.deepEqual(
      exact.tables.map((t) => [t.name, t.rows, t.files.map((f) => f.name)]),
      [['x"; DROP TABLE public.alerts; --', 1, ['public/x_; DROP TABLE public.alerts; --.csv']]],
    );
  });

  it('gives the same files with parallel jobs sharing one snapshot', async () => {
    const one = await exportWarehouse({ connection: source, outDir: tempDir(), maxRowsPerFile: 10 });
    const three = await exportWarehouse({ connection: source, outDir: tempDir(), maxRowsPerFile: 10, jobs: 3 });
    const files = (r: typeof one) => r.tables.flatMap((t) => t.files.map((f) => `${f.name} ${f.rows} ${f.sha256}`)).sort();
    assert.deepEqual(files(three), files(one));
  });

  it('detects a damaged archive', async () => {
    const result = await exportWarehouse({ connection: source, outDir: tempDir(), tables: ['form_submissions'], compressionLevel: 0 });
    await verifyArchive(result.archive);
    const damaged = path.join(tempDir(), 'damaged.zip');
    const bytes = fs.readFileSync(result.archive);
    const at = bytes.indexOf('household survey');
    assert.ok(at > 0);
    bytes[at] ^= 0x20;
    fs.writeFileSync(damaged, bytes);
    await assert.rejects(verifyArchive(damaged), /failed verification: public\/form_submissions\.csv has a wrong CRC-32/);
  });

  describe('CLI contract', () => {
    const run = (args: string[]) =>
      spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, PGPASSWORD: source.password } });

    it('warehouse export --json prints the archive and tables', () => {
      const out = tempDir();
      const r = run([
        'warehouse',
        'export',
        '--db',
        connectionUrl(source),
        '--out',
        out,
        '--tables',
        'big_parts,alerts',
        '--max-rows-per-file',
        '10',
        '--json',
      ]);
      assert.equal(r.status, 0, r.stderr);
      const json = JSON.parse(r.stdout) as { archive: string; tables: { schema: string; name: string; rows: number; files: string[] }[] };
      assert.ok(path.isAbsolute(json.archive) && fs.existsSync(json.archive));
      assert.deepEqual(json.tables, [
        { schema: 'public', name: 'alerts', rows: 3, files: ['public/alerts.csv'] },
        {
          schema: 'public',
          name: 'big_parts',
          rows: 25,
          files: ['public/big_parts-00001.csv', 'public/big_parts-00002.csv', 'public/big_parts-00003.csv'],
        },
      ]);
    });

    it('warehouse tables --json lists schemas, names and columns', () => {
      const r = run(['warehouse', 'tables', '--db', connectionUrl(source), '--json']);
      assert.equal(r.status, 0, r.stderr);
      const json = JSON.parse(r.stdout) as { tables: { schema: string; name: string; columns: { name: string }[] }[] };
      assert.deepEqual(json.tables.map((t) => `${t.schema}.${t.name}`).sort(), [...AWKWARD_TABLES].sort());
      assert.deepEqual(
        json.tables.find((t) => t.name === 'USER')!.columns.map((c) => c.name),
        ['group', 'Index'],
      );
    });

    it('fails with one line on stderr and a non-zero exit', () => {
      const missing = { ...source, database: 'no_such_db' };
      const out = tempDir();
      const r = run(['warehouse', 'export', '--db', connectionUrl(missing), '--out', out]);
      assert.notEqual(r.status, 0);
      assert.equal(r.stdout, '');
      // Progress goes to stderr as plain lines when it is not a terminal; the reason is the one last line.
      const lines = r.stderr.trim().split('\n');
      assert.equal(lines.filter((l) => l.startsWith('exit-plan:')).length, 1, r.stderr);
      assert.match(
        lines[lines.length - 1],
        /^exit-plan: The database "no_such_db" does not exist on 127\.0\.0\.1:\d+; no archive was written\.$/,
      );
      assert.ok(!r.stderr.includes(source.password!), 'no password in the message');
      assert.deepEqual(listFiles(out), []);
    });
  });
});
