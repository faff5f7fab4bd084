import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { exportWarehouse, type PgConnectionOptions } from '../src/exporters';
import { qualifiedName } from '../src/exporters/warehouse/catalog';
import * as warehouseExport from '../src/exporters/warehouse/export';
import type { Manifest } from '../src/exporters/warehouse/manifest';
import { connectionUrl } from '../scripts/lib/embeddedPostgres';
import { listFiles, tableFingerprint, tempDir } from './helpers/archive';
import { postgres } from './helpers/postgres';

const CLI = path.resolve(__dirname, '../../dist/cli.js');

/** The archive's own files, as README.txt lists them. */
const ARCHIVE_FILES = ['manifest.json', 'schema.sql', 'load.sql', 'README.txt'];

/** How Windows and macOS compare names: ignoring case and Unicode normalisation. */
const pathKey = (name: string) => name.normalize('NFC').toUpperCase().toLowerCase();

let databases = 0;

/** A fresh database with this SQL in it. */
async function sourceDatabase(sql: string): Promise<PgConnectionOptions> {
  const pg = await postgres();
  const db = await pg.createDatabase(`trust_archive_${process.pid}_${++databases}`);
  const c = await pg.client(db.database);
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
  return db;
}

/**
 * Extracts the archive as a user would, with Debian's unzip (stdin closed, so any "replace?" question
 * fails) and with bsdtar, checks both hold exactly the manifest's files and the archive's own files, and
 * returns the two folders.
 */
function extractBoth(archive: string): { dirs: string[]; manifest: Manifest } {
  const byUnzip = tempDir('exit-plan-unzip-');
  const u = spawnSync('unzip', [archive, '-d', byUnzip], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  assert.equal(u.status, 0, `unzip: ${u.stdout}${u.stderr}`);
  assert.doesNotMatch(u.stdout + u.stderr, /replace|error|cannot/i, 'unzip extracts without a question or an error');
  const byTar = tempDir('exit-plan-bsdtar-');
  const t = spawnSync('bsdtar', ['-xf', archive, '-C', byTar], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  assert.equal(t.status, 0, `bsdtar: ${t.stderr}`);
  const manifest = JSON.parse(fs.readFileSync(path.join(byUnzip, 'manifest.json'), 'utf8')) as Manifest;
  const expected = [...ARCHIVE_FILES, ...manifest.tables.flatMap((table) => table.files.map((f) => f.name))].map((f) => path.normalize(f)).sort();
  assert.deepEqual(listFiles(byUnzip), expected, 'unzip extracts every file');
  assert.deepEqual(listFiles(byTar), expected, 'bsdtar extracts every file');
  return { dirs: [byUnzip, byTar], manifest };
}

/** Reloads an extracted archive into a new database exactly as README.txt says; returns the database name. */
async function reload(dir: string): Promise<string> {
  const pg = await postgres();
  const target = await pg.createDatabase(`trust_reload_${process.pid}_${++databases}`);
  const env = { ...process.env, PGPASSWORD: target.password, PGHOST: target.host, PGPORT: String(target.port), PGUSER: target.user, PGDATABASE: target.database };
  const r = spawnSync('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-f', 'schema.sql', '-f', 'load.sql'], { cwd: dir, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  assert.equal(r.status, 0, `psql -f schema.sql -f load.sql failed: ${r.stderr}`);
  assert.doesNotMatch(r.stderr, /ERROR|WARNING|error:/, 'psql loads without an error or a warning');
  return target.database;
}

/** Extracts with both tools, reloads each copy, and checks every table holds exactly the source's rows. */
async function roundTrip(source: PgConnectionOptions, archive: string): Promise<Manifest> {
  const pg = await postgres();
  const { dirs, manifest } = extractBoth(archive);
  const a = await pg.client(source.database);
  try {
    for (const dir of dirs) {
      const b = await pg.client(await reload(dir));
      try {
        for (const t of manifest.tables) {
          const want = await tableFingerprint(a, t.schema, t.name);
          assert.deepEqual(await tableFingerprint(b, t.schema, t.name), want, `${JSON.stringify(`${t.schema}.${t.name}`)} differs after the reload`);
          assert.equal(t.rows, want.rows);
        }
      } finally {
        await b.end();
      }
    }
  } finally {
    await a.end();
  }
  return manifest;
}

function runCli(source: PgConnectionOptions, args: string[]) {
  return spawnSync(process.execPath, [CLI, 'warehouse', 'export', '--db', connectionUrl(source), ...args], {
    encoding: 'utf8',
    env: { ...process.env, PGPASSWORD: source.password },
  });
}

describe('trust: the warehouse archive always extracts and reloads', () => {
  describe('generated columns', () => {
    const SQL = String.raw`
      CREATE FUNCTION public.twice(x integer) RETURNS integer LANGUAGE sql IMMUTABLE AS 'SELECT x * 2';
      CREATE TABLE public.orders (
        id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        ref bigint GENERATED BY DEFAULT AS IDENTITY,
        price numeric(10,2) NOT NULL,
        qty integer NOT NULL,
        total numeric(12,2) GENERATED ALWAYS AS (price * qty) STORED,
        email text,
        email_domain text GENERATED ALWAYS AS (split_part(email, '@', 2)) STORED,
        doubled integer GENERATED ALWAYS AS (public.twice(qty)) STORED,
        note text
      );
      INSERT INTO public.orders (price, qty, email, note) VALUES
        (1.50, 3, 'a@example.org', 'first'), (2.25, 0, NULL, NULL), (0, 7, 'b@example.com', E'two\nlines');
      CREATE TABLE public.readings (day date NOT NULL, celsius numeric, fahrenheit numeric GENERATED ALWAYS AS (celsius * 9 / 5 + 32) STORED)
        PARTITION BY RANGE (day);
      CREATE TABLE public.readings_2024 PARTITION OF public.readings FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
      INSERT INTO public.readings (day, celsius) VALUES ('2024-05-01', 20), ('2024-06-01', -40);
    `;

    it('are recreated by schema.sql, left out of the CSV and load.sql, and marked in the manifest', async () => {
      const source = await sourceDatabase(SQL);
      const result = await exportWarehouse({ connection: source, outDir: tempDir() });
      const manifest = await roundTrip(source, result.archive);
      const orders = manifest.tables.find((t) => t.name === 'orders')!;
      assert.deepEqual(
        orders.columns.map((c) => [c.name, c.generated ?? false]),
        [['id', false], ['ref', false], ['price', false], ['qty', false], ['total', true], ['email', false], ['email_domain', true], ['doubled', false], ['note', false]],
      );
      const { dirs } = extractBoth(result.archive);
      const csv = fs.readFileSync(path.join(dirs[0], 'public/orders.csv'), 'utf8');
      assert.equal(csv.split('\n')[0], 'id,ref,price,qty,email,doubled,note', 'generated columns are not in the CSV; one calling a user function keeps its values');
      const schemaSql = fs.readFileSync(path.join(dirs[0], 'schema.sql'), 'utf8');
      assert.match(schemaSql, /"total" numeric\(12,2\) GENERATED ALWAYS AS \(\(price \* \(qty\)::numeric\)\) STORED/);
      assert.match(schemaSql, /-- "doubled" is GENERATED ALWAYS AS \(public\.twice\(qty\)\) STORED in the source; it calls a function/);
      assert.match(fs.readFileSync(path.join(dirs[0], 'load.sql'), 'utf8'), /\\copy "public"\."orders" \("id", "ref", "price", "qty", "email", "doubled", "note"\) FROM/);
      assert.equal(fs.readFileSync(path.join(dirs[0], 'public/readings.csv'), 'utf8').split('\n')[0], 'day,celsius');
    });

    it('with --exclude-columns: a column computed from a scrubbed one is left out too, and the archive reloads', async () => {
      const source = await sourceDatabase(SQL);
      const out = tempDir();
      const r = runCli(source, ['--out', out, '--exclude-columns', 'email,note', '--json']);
      assert.equal(r.status, 0, r.stderr);
      const archive = (JSON.parse(r.stdout) as { archive: string }).archive;
      const { dirs, manifest } = extractBoth(archive);
      const orders = manifest.tables.find((t) => t.name === 'orders')!;
      assert.deepEqual(orders.excludedColumns, ['email', 'email_domain', 'note']);
      assert.equal(fs.readFileSync(path.join(dirs[0], 'public/orders.csv'), 'utf8').split('\n')[0], 'id,ref,price,qty,doubled');
      for (const file of listFiles(dirs[0])) assert.ok(!/example\.(org|com)/.test(fs.readFileSync(path.join(dirs[0], file), 'utf8')), `${file} holds no scrubbed value`);
      const pg = await postgres();
      const b = await pg.client(await reload(dirs[1]));
      try {
        const rows = await b.query(`SELECT id, ref, price::text, qty, total::text, doubled FROM public.orders ORDER BY id`);
        assert.deepEqual(rows.rows, [
          { id: 1, ref: '1', price: '1.50', qty: 3, total: '4.50', doubled: 6 },
          { id: 2, ref: '2', price: '2.25', qty: 0, total: '0.00', doubled: 0 },
          { id: 3, ref: '3', price: '0.00', qty: 7, total: '0.00', doubled: 14 },
        ]);
        const readings = await b.query(`SELECT fahrenheit::float8 AS f FROM public.readings ORDER BY day`);
        assert.deepEqual(readings.rows, [{ f: 68 }, { f: -40 }]);
      } finally {
        await b.end();
      }
    });
  });

  describe('scrubbed fields inside composite values', () => {
    it('a column holding rows of a table with a scrubbed column is left out too: no scrubbed value, and it reloads', async () => {
      const source = await sourceDatabase(String.raw`
        CREATE TABLE public.users (id int PRIMARY KEY, name text, password text);
        INSERT INTO public.users VALUES (1, 'amina', 'secret-1');
        CREATE TYPE public.change AS (at timestamptz, who public.users);
        CREATE TABLE public.audit (id int, before public.users, history public.change[], note text);
        INSERT INTO public.audit SELECT 1, u, ARRAY[ROW('2024-01-01', u)::public.change], 'renamed' FROM public.users u;
      `);
      const result = await exportWarehouse({ connection: source, outDir: tempDir(), excludeColumns: ['password'] });
      const { dirs, manifest } = extractBoth(result.archive);
      assert.deepEqual(manifest.tables.map((t) => [t.name, t.excludedColumns]), [['audit', ['before', 'history']], ['users', ['password']]]);
      for (const file of listFiles(dirs[0])) assert.ok(!fs.readFileSync(path.join(dirs[0], file), 'utf8').includes('secret-1'), `${file} holds no scrubbed value`);
      const pg = await postgres();
      const b = await pg.client(await reload(dirs[1]));
      try {
        assert.deepEqual((await b.query(`SELECT id, note FROM public.audit`)).rows, [{ id: 1, note: 'renamed' }]);
      } finally {
        await b.end();
      }
    });
  });

  describe("the archive's own files", () => {
    it('never collide with a schema folder: both tools extract everything and it reloads', async () => {
      const source = await sourceDatabase(String.raw`
        CREATE SCHEMA "manifest.json"; CREATE TABLE "manifest.json".t (id int); INSERT INTO "manifest.json".t VALUES (1);
        CREATE SCHEMA "README.txt"; CREATE TABLE "README.txt".t (id int); INSERT INTO "README.txt".t VALUES (2);
        CREATE SCHEMA "load.sql"; CREATE TABLE "load.sql".t (id int); INSERT INTO "load.sql".t VALUES (3);
        CREATE SCHEMA "Schema.SQL"; CREATE TABLE "Schema.SQL".t (id int); INSERT INTO "Schema.SQL".t VALUES (4);
        CREATE SCHEMA "manifest.json~"; CREATE TABLE "manifest.json~".t (id int); INSERT INTO "manifest.json~".t VALUES (5);
      `);
      const result = await exportWarehouse({ connection: source, outDir: tempDir() });
      const manifest = await roundTrip(source, result.archive);
      assert.deepEqual(manifest.tables.map((t) => [t.schema, t.files.map((f) => f.name)]), [
        ['README.txt', ['README.txt~/t.csv']],
        ['Schema.SQL', ['Schema.SQL~/t.csv']],
        ['load.sql', ['load.sql~/t.csv']],
        ['manifest.json', ['manifest.json~/t.csv']],
        ['manifest.json~', ['manifest.json~/t~2.csv']],
      ]);
    });
  });

  describe('generated names', () => {
    /** Every file name a base can become: the whole table, or its parts. */
    const filesOf = (base: string) => [`${base}.csv`, `${base}-00001.csv`, `${base}-00002.csv`, `${base}-99999.csv`, `${base}-100000.csv`];

    function assertUnique(relations: [string, string][]): string[] {
      const bases = warehouseExport.assignBases(relations);
      assert.equal(bases.length, relations.length);
      const owner = new Map<string, number>(ARCHIVE_FILES.map((f) => [pathKey(f), -1]));
      bases.forEach((base, i) => {
        const folder = base.slice(0, base.indexOf('/'));
        assert.ok(!ARCHIVE_FILES.some((f) => pathKey(f) === pathKey(folder)), `folder ${folder} is not one of the archive's own files`);
        for (const file of filesOf(base)) {
          const key = pathKey(file);
          assert.ok(!owner.has(key) || owner.get(key) === i, `${JSON.stringify(relations[i])} → ${file} meets ${JSON.stringify(relations[owner.get(key)!] ?? 'an archive file')}`);
          owner.set(key, i);
        }
      });
      return bases;
    }

    it('are unique against every other generated name, case-insensitively, for adversarial name sets', () => {
      assert.deepEqual(assertUnique([['public', 'T'], ['public', 't'], ['public', 't~2-00001']]), ['public/T', 'public/t~2', 'public/t~2-00001~2']);
      assert.deepEqual(assertUnique([['public', 't-00001'], ['public', 't']]), ['public/t-00001~2', 'public/t']);
      assertUnique([['public', 't~2'], ['public', 'T'], ['public', 't'], ['public', 't~3'], ['public', 't~2~2']]);
      assertUnique([['s', 'a-00001-00001'], ['s', 'a-00001'], ['s', 'a'], ['S', 'A-00001'], ['s', 'a-100000'], ['s', 'A-00001~2']]);
      assertUnique([['a/b', 't'], ['a_b', 't'], ['a:b', 'T'], ['A_B', 't~2']]);
      // The same name composed and decomposed (macOS), and Unicode case (Straße / STRASSE).
      assertUnique([['public', 'caf\u00e9'], ['public', 'cafe\u0301'], ['public', 'Stra\u00dfe'], ['public', 'STRASSE']]);
      assertUnique([['manifest.json', 't'], ['MANIFEST.JSON', 't'], ['manifest.json~', 't'], ['readme.TXT', 'x'], ['load.sql', 'y-00001'], ['load.sql~', 'y']]);

      // A fixed pseudo-random search over a small alphabet that makes near-misses likely.
      let seed = 42;
      const random = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
      const alphabet = ['t', 'T', '-', '0', '00001', '-00001', '~', '~2', '2', 'é', 'e\u0301', '.', ' '];
      for (let round = 0; round < 300; round++) {
        const names: [string, string][] = [];
        for (let i = 0, n = 2 + random(8); i < n; i++) {
          let name = '';
          for (let j = 0, len = 1 + random(4); j < len; j++) name += alphabet[random(alphabet.length)];
          names.push([['public', 'Public', 'manifest.json', 'load.SQL'][random(4)], name]);
        }
        assertUnique(names);
      }
    });

    it('split tables T, t and t~2-00001 export, verify and reload', async () => {
      const source = await sourceDatabase(String.raw`
        CREATE TABLE public."T" (n int); INSERT INTO public."T" SELECT generate_series(1, 3);
        CREATE TABLE public.t (n int); INSERT INTO public.t SELECT generate_series(11, 13);
        CREATE TABLE public."t~2-00001" (n int); INSERT INTO public."t~2-00001" VALUES (21);
        CREATE TABLE public."t-00001" (n int); INSERT INTO public."t-00001" VALUES (31);
      `);
      const result = await exportWarehouse({ connection: source, outDir: tempDir(), maxRowsPerFile: 1 });
      const manifest = await roundTrip(source, result.archive);
      const names = manifest.tables.flatMap((t) => t.files.map((f) => pathKey(f.name)));
      assert.equal(new Set(names).size, names.length, 'every file name differs, even ignoring case');
      assert.deepEqual(manifest.tables.find((t) => t.name === 'T')!.files.map((f) => f.name), ['public/T-00001.csv', 'public/T-00002.csv', 'public/T-00003.csv']);
    });
  });

  describe('names psql must parse', () => {
    it('load.sql loads tables, schemas and columns named with a line break, tab, quotes, backslash and other scripts', async () => {
      const source = await sourceDatabase(String.raw`
        CREATE SCHEMA "sch
ema";
        CREATE TABLE "sch
ema"."line
break" ("col
one" int, "tab	col" text);
        INSERT INTO "sch
ema"."line
break" VALUES (1, 'a'), (2, E'b\nc');
        CREATE TABLE public."tab	name" (id int, "it's" text);
        INSERT INTO public."tab	name" VALUES (1, 'x');
        CREATE TABLE public."dq""name" ("a""b" int); INSERT INTO public."dq""name" VALUES (1);
        CREATE TABLE public."it's" (id int); INSERT INTO public."it's" VALUES (2);
        CREATE TABLE public."back\slash\" ("c\" int); INSERT INTO public."back\slash\" VALUES (3);
        CREATE TABLE public."таблица" ("столбец" text); INSERT INTO public."таблица" VALUES ('значение');
        CREATE TABLE public."表" ("列" text); INSERT INTO public."表" VALUES ('値');
        CREATE TABLE public."cr` + '\r' + String.raw`name" (id int); INSERT INTO public."cr` + '\r' + String.raw`name" VALUES (4);
        CREATE SCHEMA "~"; CREATE TABLE "~".home (id int); INSERT INTO "~".home VALUES (5);
        CREATE TABLE public.":var" (id int); INSERT INTO public.":var" VALUES (6);
      `);
      const result = await exportWarehouse({ connection: source, outDir: tempDir(), maxRowsPerFile: 1 });
      const manifest = await roundTrip(source, result.archive);
      assert.equal(manifest.tables.length, 10);
    });
  });

  describe('types and constraints', () => {
    it('schema.sql creates composite, nested composite, range and multirange types with qualified names, and leaves out checks calling user functions or NOT VALID', async () => {
      const source = await sourceDatabase(String.raw`
        CREATE SCHEMA kinds;
        CREATE TYPE kinds.mood AS ENUM ('sad', 'ok');
        CREATE DOMAIN kinds.positive AS integer CHECK (VALUE > 0);
        CREATE TYPE kinds.point2 AS (x double precision, y double precision);
        CREATE TYPE public.tagged AS (label text, at kinds.point2, mood kinds.mood, sizes kinds.positive[], corners kinds.point2[]);
        CREATE TYPE public.floatrange AS RANGE (subtype = float8, subtype_diff = float8mi);
        CREATE TYPE kinds.pointrange AS RANGE (subtype = kinds.positive);
        CREATE FUNCTION public.is_even(n integer) RETURNS boolean LANGUAGE sql IMMUTABLE AS 'SELECT n % 2 = 0';
        CREATE TABLE public.things (
          id integer PRIMARY KEY CHECK (public.is_even(id)),
          t public.tagged,
          ts public.tagged[],
          r public.floatrange,
          rs public.floatrange[],
          mr public.floatmultirange,
          pr kinds.pointrange,
          p kinds.positive,
          CONSTRAINT small CHECK (id < 1000)
        );
        -- A check that casts to a type no column has.
        CREATE TYPE kinds.level AS ENUM ('low', 'high');
        CREATE TABLE public.levels (lvl text CHECK (lvl::kinds.level IS NOT NULL));
        INSERT INTO public.levels VALUES ('low'), ('high');
        CREATE TABLE public.older (v integer);
        INSERT INTO public.older VALUES (-5), (5);
        ALTER TABLE public.older ADD CONSTRAINT positive CHECK (v > 0) NOT VALID;
        INSERT INTO public.things VALUES
          (2, ROW('a', ROW(1.5, -2)::kinds.point2, 'ok', '{1,2}', ARRAY[ROW(0,0)::kinds.point2]), ARRAY[ROW('b', NULL, 'sad', NULL, NULL)::public.tagged],
           '[1.5,2.5)', ARRAY['[0,1]'::public.floatrange, 'empty'], '{[1,2), [3,4]}', '[1,5)', 7),
          (4, NULL, '{}', NULL, NULL, NULL, NULL, NULL);
        -- A column whose type is another table's row type: that table first, or a composite type when it is not exported.
        CREATE TABLE public.z_row (id int, mood kinds.mood, p kinds.positive);
        INSERT INTO public.z_row VALUES (1, 'ok', 3);
        CREATE TABLE public.a_uses_z (z public.z_row, zs public.z_row[]);
        INSERT INTO public.a_uses_z VALUES (ROW(1, 'sad', 2), ARRAY[ROW(2, NULL, NULL)::public.z_row]);
        -- The exporting role finds kinds' types without a schema name; the role that reloads may not.
        DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET search_path = kinds, public', current_database()); END $$;
      `);
      const result = await exportWarehouse({ connection: source, outDir: tempDir() });
      await roundTrip(source, result.archive);
      const { dirs } = extractBoth(result.archive);
      const schemaSql = fs.readFileSync(path.join(dirs[0], 'schema.sql'), 'utf8');
      const at = (text: string) => {
        const i = schemaSql.indexOf(text);
        assert.ok(i >= 0, `schema.sql has ${text}`);
        return i;
      };
      assert.ok(at('CREATE TYPE "kinds"."point2" AS') < at('CREATE TYPE "public"."tagged" AS'), 'a composite comes after the types it holds');
      assert.ok(at('CREATE TYPE "kinds"."mood" AS ENUM') < at('CREATE TYPE "public"."tagged" AS'));
      at('CREATE TYPE "public"."floatrange" AS RANGE (SUBTYPE = double precision, SUBTYPE_DIFF = float8mi, MULTIRANGE_TYPE_NAME = "public"."floatmultirange");');
      at('CREATE TYPE "kinds"."pointrange" AS RANGE (SUBTYPE = integer');
      assert.match(schemaSql, /-- left out: constraint "things_id_check" CHECK \(public\.is_even\(id\)\) \(it calls a function or operator that is not in this archive\)/);
      assert.match(schemaSql, /CHECK \(\(id < 1000\)\)/, 'a check that calls only built-in functions stays');
      assert.match(schemaSql, /-- left out: constraint "positive" CHECK \(\(v > 0\)\) NOT VALID \(NOT VALID: existing rows may break it; after load\.sql, ALTER TABLE "public"\."older" ADD CONSTRAINT "positive" CHECK \(\(v > 0\)\) NOT VALID;\)/);
      assert.match(fs.readFileSync(path.join(dirs[0], 'README.txt'), 'utf8'), /check constraint that calls\s+a function or operator that is not built in is left out/);
      assert.ok(!schemaSql.includes(qualifiedName('kinds', 'positive')), 'domains are written as their base types');
      assert.ok(at('CREATE TABLE "public"."z_row"') < at('CREATE TABLE "public"."a_uses_z"'), 'a table comes after the tables whose row types it holds');

      const without = await exportWarehouse({ connection: source, outDir: tempDir(), tables: ['a_uses_z'] });
      const reloaded = await roundTrip(source, without.archive);
      assert.deepEqual(reloaded.tables.map((t) => t.name), ['a_uses_z']);
      assert.match(fs.readFileSync(path.join(extractBoth(without.archive).dirs[0], 'schema.sql'), 'utf8'), /CREATE TYPE "public"."z_row" AS \(\n  "id" integer,\n  "mood" kinds\.mood,\n  "p" integer\n\);/);
    });
  });
});
