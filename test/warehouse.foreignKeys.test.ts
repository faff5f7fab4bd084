// Foreign keys in every archive: load.sql adds them after the data, each validated, and says why it leaves any out.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Client } from 'pg';
import { exportWarehouse, type PgConnectionOptions } from '../src/exporters';
import { buildLoadSql, buildReadme } from '../src/exporters/warehouse/manifest';
import type { Manifest } from '../src/exporters/warehouse/model';
import { SUBSET_RULE } from '../src/exporters/warehouse/subsetSpec';
import { tableFingerprint, tempDir, unzipArchive } from './helpers/archive';
import { databaseWith, postgres } from './helpers/postgres';

// Every kind of foreign key: single and two-column, a composite-key many-to-many table, a self-reference, a mutual
// DEFERRABLE INITIALLY DEFERRED pair, one to a UNIQUE INDEX (on a plain and on a partitioned table), one to a
// partitioned table, one to a partition, a NOT VALID one that rows break, and names with quotes, newlines,
// capitals and non-Latin letters.
const FIXTURE = `
  CREATE TABLE orgs (id int PRIMARY KEY, name text NOT NULL);
  CREATE TABLE users (
    id int PRIMARY KEY,
    org_id int NOT NULL REFERENCES orgs ON DELETE CASCADE,
    invited_by int REFERENCES users (id) ON DELETE SET NULL
  );
  CREATE TABLE channels (org_id int REFERENCES orgs, id int, name text, PRIMARY KEY (org_id, id));
  CREATE TABLE messages (
    id int PRIMARY KEY,
    org_id int,
    channel_id int,
    sender int NOT NULL REFERENCES users,
    CONSTRAINT "message's ""channel""
line" FOREIGN KEY (org_id, channel_id) REFERENCES channels (org_id, id) MATCH FULL ON UPDATE CASCADE
  );
  CREATE TABLE channel_members (
    org_id int, channel_id int, user_id int REFERENCES users,
    PRIMARY KEY (org_id, channel_id, user_id),
    FOREIGN KEY (org_id, channel_id) REFERENCES channels
  );
  CREATE SCHEMA "Ré""seau";
  CREATE TABLE "Ré""seau"."Équipes" (id int PRIMARY KEY, captain int);
  CREATE TABLE "Ré""seau"."Joueurs" (
    id int PRIMARY KEY,
    "équipe" int NOT NULL CONSTRAINT "Équipe du ""joueur""" REFERENCES "Ré""seau"."Équipes" DEFERRABLE INITIALLY DEFERRED
  );
  ALTER TABLE "Ré""seau"."Équipes" ADD CONSTRAINT "Capitaine" FOREIGN KEY (captain) REFERENCES "Ré""seau"."Joueurs"
    DEFERRABLE INITIALLY DEFERRED;
  CREATE TABLE "Ré""seau"."notes
log" ("user
id" int CONSTRAINT "note
writer" REFERENCES users, body text);
  CREATE TABLE countries (code text NOT NULL, name text);
  CREATE UNIQUE INDEX "Country ""code""" ON countries (code);
  CREATE TABLE addresses (id int PRIMARY KEY, country text REFERENCES countries (code) ON UPDATE CASCADE, owner int REFERENCES users);
  CREATE TABLE events (id int, at date, org_id int REFERENCES orgs, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
  CREATE TABLE events_2024 PARTITION OF events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
  CREATE TABLE events_2025 PARTITION OF events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
  CREATE TABLE event_notes (id int PRIMARY KEY, event_id int, event_at date, FOREIGN KEY (event_id, event_at) REFERENCES events);
  CREATE TABLE readings (sensor int NOT NULL, at date NOT NULL, value int) PARTITION BY LIST (sensor);
  CREATE TABLE readings_1 PARTITION OF readings FOR VALUES IN (1);
  CREATE TABLE readings_2 PARTITION OF readings FOR VALUES IN (2);
  CREATE UNIQUE INDEX readings_key ON readings (sensor, at);
  CREATE TABLE reading_flags (sensor int, at date, flag text, FOREIGN KEY (sensor, at) REFERENCES readings (sensor, at));
  CREATE TABLE partition_refs (event_id int, event_at date, FOREIGN KEY (event_id, event_at) REFERENCES events_2024 (id, at));
  CREATE TABLE legacy (id int PRIMARY KEY, user_id int);
  ALTER TABLE events_2025 ADD CONSTRAINT "events_2025 org" FOREIGN KEY (org_id) REFERENCES orgs;
  CREATE TABLE badges (id int NOT NULL, secret_hint text, CONSTRAINT badges_id UNIQUE (id) INCLUDE (secret_hint));
  CREATE TABLE user_badges (user_id int REFERENCES users, badge int REFERENCES badges (id));

  INSERT INTO orgs VALUES (1, 'one'), (2, 'two');
  INSERT INTO users VALUES (10, 1, NULL), (11, 1, 10), (20, 2, 11), (21, 2, 20);
  INSERT INTO channels VALUES (1, 1, 'general'), (2, 1, 'général'), (2, 2, 'random');
  INSERT INTO messages VALUES (100, 1, 1, 10), (101, 2, 1, 11), (102, NULL, NULL, 20), (103, 2, 2, 21);
  INSERT INTO channel_members VALUES (1, 1, 10), (1, 1, 11), (2, 1, 20), (2, 2, 21);
  BEGIN;
  INSERT INTO "Ré""seau"."Équipes" VALUES (1, 5), (2, 6);
  INSERT INTO "Ré""seau"."Joueurs" VALUES (5, 1), (6, 2), (7, 2);
  COMMIT;
  INSERT INTO "Ré""seau"."notes
log" VALUES (10, 'a note'), (NULL, 'anonymous');
  INSERT INTO countries VALUES ('FR', 'France'), ('DE', 'Deutschland');
  INSERT INTO addresses VALUES (1, 'FR', 10), (2, 'DE', 20), (3, NULL, NULL);
  INSERT INTO events VALUES (1, '2024-05-01', 1), (2, '2025-02-03', 2);
  INSERT INTO event_notes VALUES (1, 1, '2024-05-01'), (2, 2, '2025-02-03');
  INSERT INTO readings VALUES (1, '2024-01-01', 3), (2, '2024-01-01', 4);
  INSERT INTO reading_flags VALUES (1, '2024-01-01', 'high'), (2, '2024-01-01', 'low');
  INSERT INTO partition_refs VALUES (1, '2024-05-01');
  INSERT INTO legacy VALUES (1, 10), (2, 999);
  INSERT INTO badges VALUES (1, 'ask'), (2, NULL);
  INSERT INTO user_badges VALUES (10, 1), (21, 2);
  ALTER TABLE legacy ADD CONSTRAINT legacy_user FOREIGN KEY (user_id) REFERENCES users NOT VALID;
`;

interface Key {
  table: string;
  name: string;
  def: string;
  validated: boolean;
  /** `schema.name` of its table and of the table it references, unquoted. */
  own: string;
  ref: string;
}

/** The database's top-level foreign keys, as pg_constraint has them (names qualified). */
async function foreignKeys(c: Client): Promise<Key[]> {
  await c.query(`SET search_path = ''`);
  const r = await c.query<Key>(
    `SELECT k.conrelid::regclass::text AS table, k.conname AS name, pg_get_constraintdef(k.oid) AS def, k.convalidated AS validated,
            (SELECT n.nspname || '.' || c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE c.oid = k.conrelid) AS own,
            (SELECT n.nspname || '.' || c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE c.oid = k.confrelid) AS ref
       FROM pg_constraint k WHERE k.contype = 'f' AND k.conparentid = 0 ORDER BY 1, 2`,
  );
  await c.query('RESET search_path');
  return r.rows;
}

/** psql as a user runs it, in the unzipped folder; throws with psql's stderr. */
function psql(target: PgConnectionOptions, dir: string, args: string[]): void {
  const env = { ...process.env, PGPASSWORD: target.password, PGHOST: target.host, PGPORT: String(target.port), PGUSER: target.user };
  const r = spawnSync('psql', ['-X', '-q', '-d', target.database, '-v', 'ON_ERROR_STOP=1', ...args], { cwd: dir, env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`psql exited with ${r.status}: ${r.stderr}`);
}

const emptyDatabase = () => databaseWith('fk_reload', 'SELECT 1');

/** load.sql's `-- left out: foreign key` comments. */
const leftOut = (loadSql: string) => loadSql.split('\n').filter((l) => l.startsWith('-- left out: foreign key'));

describe('warehouse export: foreign keys in load.sql (real PostgreSQL, psql)', () => {
  let source: PgConnectionOptions;
  let sourceKeys: Key[];

  before(async () => {
    source = await databaseWith('fk_source', FIXTURE);
    const pg = await postgres();
    const c = await pg.client(source.database);
    try {
      sourceKeys = await foreignKeys(c);
    } finally {
      await c.end();
    }
    assert.equal(sourceKeys.length, 20, 'the fixture has the keys this test expects');
  });

  it('adds every foreign key after the data, validated and as the source has it, and says why it leaves any out', async () => {
    const result = await exportWarehouse({ connection: source, outDir: tempDir(), maxRowsPerFile: 2 });
    const { dir, manifest } = unzipArchive(result.archive);
    const loadSql = fs.readFileSync(path.join(dir, 'load.sql'), 'utf8');
    const schemaSql = fs.readFileSync(path.join(dir, 'schema.sql'), 'utf8');
    const readme = fs.readFileSync(path.join(dir, 'README.txt'), 'utf8');

    // Reload as README.txt says, its own two psql steps.
    const steps = readme.split('\n').filter((l) => /^ {2}[34]\. psql /.test(l));
    assert.equal(steps.length, 2, 'README.txt has the two psql steps');
    const target = await emptyDatabase();
    for (const step of steps) {
      const args = step
        .trim()
        .replace(/^\d\. psql /, '')
        .split(' ');
      assert.deepEqual(args.slice(0, 4), ['-d', 'newdb', '-v', 'ON_ERROR_STOP=1']);
      psql(target, dir, args.slice(4));
    }

    const pg = await postgres();
    const a = await pg.client(source.database);
    const b = await pg.client(target.database);
    try {
      const notAdded = new Set(['legacy_user', 'partition_refs_event_id_event_at_fkey', 'events_2025 org']);
      const want = sourceKeys.filter((k) => !notAdded.has(k.name));
      const got = await foreignKeys(b);
      // Same tables, names and definitions (DEFERRABLE INITIALLY DEFERRED, MATCH FULL, ON DELETE/UPDATE included).
      assert.deepEqual(
        got.map((k) => ({ ...k, validated: true })),
        want.map((k) => ({ ...k, validated: true })),
      );
      assert.ok(
        got.every((k) => k.validated),
        'every key is validated',
      );
      const deferred = await b.query<{ name: string }>(
        `SELECT conname AS name FROM pg_constraint WHERE contype = 'f' AND condeferrable AND condeferred`,
      );
      assert.deepEqual(deferred.rows.map((r) => r.name).sort(), ['Capitaine', 'Équipe du "joueur"']);
      // The unique indexes the keys need, also on the partitioned table (and so on its partitions).
      const indexes = await b.query<{ name: string; valid: boolean }>(
        `SELECT c.relname AS name, i.indisvalid AS valid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
          WHERE c.relname IN ('Country "code"', 'readings_key') ORDER BY 1`,
      );
      // A key on a partitioned table is on its partitions too, as in the source.
      const onPartitions = await b.query(
        `SELECT count(*)::int AS n FROM pg_constraint WHERE conrelid = 'public.events_2025'::regclass AND contype = 'f'`,
      );
      assert.equal(onPartitions.rows[0].n, 1);
      assert.deepEqual(indexes.rows, [
        { name: 'Country "code"', valid: true },
        { name: 'readings_key', valid: true },
      ]);
      for (const t of manifest.tables) {
        assert.deepEqual(await tableFingerprint(b, t.schema, t.name), await tableFingerprint(a, t.schema, t.name), `${t.schema}.${t.name}`);
      }

      // The keys left out, each with why; the NOT VALID one's comment has the ALTER TABLE that adds it back.
      const comments = leftOut(loadSql);
      assert.equal(comments.length, 3, comments.join('\n'));
      const notValid = comments.find((l) => l.includes('"legacy_user"'))!;
      const alter = /after load\.sql, (ALTER TABLE .*;)\)$/.exec(notValid)?.[1];
      assert.equal(
        alter,
        'ALTER TABLE "public"."legacy" ADD CONSTRAINT "legacy_user" FOREIGN KEY (user_id) REFERENCES public.users(id) NOT VALID;',
      );
      await b.query(alter!);
      const partition = comments.find((l) => l.includes('partition_refs'))!;
      assert.match(partition, /it references "public"\."events_2024", a partition/);
      await b.query(/after load\.sql: (ALTER TABLE .*;)\)$/.exec(partition)![1]);
      const onPartition = comments.find((l) => l.includes('"events_2025 org"'))!;
      assert.match(onPartition, /it is declared on "public"\."events_2025", a partition of "public"\."events"/);
      await b.query(/after load\.sql: (ALTER TABLE .*;)\)$/.exec(onPartition)![1]);
      assert.deepEqual(
        (await foreignKeys(b)).map((k) => k.def),
        sourceKeys.map((k) => k.def),
        'with the ALTER TABLEs of the comments, the reload has every key',
      );
    } finally {
      await a.end();
      await b.end();
    }

    // After the data, before COMMIT; each unique index once, before the keys; names with newlines stay names.
    const lines = loadSql.split('\n');
    const lastCopy = lines.map((l) => l.startsWith('\\copy') || l.startsWith('INSERT INTO')).lastIndexOf(true);
    const firstKey = lines.findIndex((l) => l.startsWith('ALTER TABLE') || l.startsWith('CREATE UNIQUE INDEX'));
    assert.ok(lastCopy < firstKey && firstKey < lines.indexOf('COMMIT;'), 'keys come after the data, before COMMIT');
    assert.equal(loadSql.split('CREATE UNIQUE INDEX "Country ""code""" ON public.countries USING btree (code);').length, 2);
    assert.equal(loadSql.split('CREATE UNIQUE INDEX readings_key ON public.readings USING btree (sensor, at);').length, 2);
    assert.ok(loadSql.includes(`ADD CONSTRAINT "message's ""channel""\nline" FOREIGN KEY (org_id, channel_id)`));
    assert.match(schemaSql, /^-- Foreign keys: 17 added at the end of load\.sql, after the data, each validated; 3 left out/m);
    assert.doesNotMatch(schemaSql, /FOREIGN KEY|REFERENCES/);
    assert.match(readme.replace(/\n {2}/g, ' '), /load\.sql adds the foreign keys \(17 here\) after the data/);
    assert.match(readme.replace(/\n {2}/g, ' '), /3 foreign keys are left out, each with a "-- left out:" comment/);
    assert.doesNotMatch(readme.replace(/\n {2}/g, ' '), /leaves out foreign keys/);
  });

  it('leaves out the keys to tables a --tables filter leaves out, and the archive still reloads', async () => {
    const result = await exportWarehouse({ connection: source, outDir: tempDir(), tables: ['users', 'messages', 'channels'] });
    const { dir } = unzipArchive(result.archive);
    const loadSql = fs.readFileSync(path.join(dir, 'load.sql'), 'utf8');
    assert.deepEqual(leftOut(loadSql), [
      '-- left out: foreign key "channels_org_id_fkey" on "public"."channels" FOREIGN KEY (org_id) REFERENCES public.orgs(id) ' +
        '(it references "public"."orgs", which is not in this archive)',
      '-- left out: foreign key "users_org_id_fkey" on "public"."users" FOREIGN KEY (org_id) REFERENCES public.orgs(id) ' +
        'ON DELETE CASCADE (it references "public"."orgs", which is not in this archive)',
    ]);
    const target = await emptyDatabase();
    psql(target, dir, ['-f', 'schema.sql', '-f', 'load.sql']);
    const pg = await postgres();
    const b = await pg.client(target.database);
    try {
      assert.deepEqual(
        (await foreignKeys(b)).map((k) => `${k.table} ${k.name} ${k.validated}`),
        [
          `public.messages message's "channel"\nline true`,
          'public.messages messages_sender_fkey true',
          'public.users users_invited_by_fkey true',
        ],
      );
    } finally {
      await b.end();
    }
  });

  it('leaves out the keys whose columns, or referenced columns, are scrubbed', async () => {
    const result = await exportWarehouse({
      connection: source,
      outDir: tempDir(),
      excludeColumns: ['sender', 'code', 'user\nid', 'value', 'secret_hint'],
    });
    const { dir } = unzipArchive(result.archive);
    const loadSql = fs.readFileSync(path.join(dir, 'load.sql'), 'utf8');
    const comments = leftOut(loadSql);
    assert.ok(
      comments.includes(
        '-- left out: foreign key "messages_sender_fkey" on "public"."messages" FOREIGN KEY (sender) REFERENCES public.users(id) ' +
          '(column "sender" of "public"."messages" is left out of this archive)',
      ),
      comments.join('\n'),
    );
    assert.ok(
      comments.includes(
        '-- left out: foreign key "addresses_country_fkey" on "public"."addresses" FOREIGN KEY (country) ' +
          'REFERENCES public.countries(code) ON UPDATE CASCADE (column "code" of "public"."countries" is left out of this archive)',
      ),
      comments.join('\n'),
    );
    assert.ok(
      comments.includes(
        '-- left out: foreign key "note\\nwriter" on "Ré""seau"."notes\\nlog" FOREIGN KEY ("user\\nid") REFERENCES public.users(id) ' +
          '(column "user\\nid" of "Ré""seau"."notes\\nlog" is left out of this archive)',
      ),
      comments.join('\n'),
    );
    assert.ok(!loadSql.includes('CREATE UNIQUE INDEX "Country'), 'no index on a scrubbed column');
    // The unique constraint lost its INCLUDE column, so schema.sql leaves it out, and the key to it.
    assert.ok(
      comments.includes(
        '-- left out: foreign key "user_badges_badge_fkey" on "public"."user_badges" FOREIGN KEY (badge) REFERENCES public.badges(id) ' +
          '(the constraint "badges_id" of "public"."badges" it references is left out of schema.sql)',
      ),
      comments.join('\n'),
    );
    const target = await emptyDatabase();
    psql(target, dir, ['-f', 'schema.sql', '-f', 'load.sql']);
    const pg = await postgres();
    const b = await pg.client(target.database);
    try {
      const names = (await foreignKeys(b)).map((k) => k.name);
      assert.equal(names.length, 13);
      assert.ok(!names.includes('messages_sender_fkey') && !names.includes('addresses_country_fkey') && !names.includes('note\nwriter'));
      // readings lost a column, so schema.sql makes it a plain table: its unique index, and the key to it, still reload.
      assert.ok(names.includes('reading_flags_sensor_at_fkey'));
      const kind = await b.query(`SELECT relkind FROM pg_class WHERE oid = 'public.readings'::regclass`);
      assert.equal(kind.rows[0].relkind, 'r');
    } finally {
      await b.end();
    }
  });

  for (const [root, includeUnrelated] of [
    ['id = 1', false],
    ['id = 2', true],
  ] as const) {
    const title = `a subset (orgs: ${root}${includeUnrelated ? ', unrelated tables whole' : ''}) reloads with its keys validated`;
    it(title, async () => {
      const result = await exportWarehouse({
        connection: source,
        outDir: tempDir(),
        subset: { roots: [{ schema: 'public', name: 'orgs', predicate: root }], includeUnrelated },
      });
      const { dir, manifest } = unzipArchive(result.archive);
      const loadSql = fs.readFileSync(path.join(dir, 'load.sql'), 'utf8');
      const readme = fs.readFileSync(path.join(dir, 'README.txt'), 'utf8');
      const target = await emptyDatabase();
      psql(target, dir, ['-f', 'schema.sql', '-f', 'load.sql']);

      // Every key whose two tables are in the archive, but the NOT VALID one and the one to a partition; a comment for each of those.
      const inArchive = new Set(manifest.tables.map((t) => `${t.schema}.${t.name}`));
      // A key declared on a partition is the partitioned table's, and left out with a comment.
      const ownKeys = sourceKeys.filter((k) => inArchive.has(k.own === 'public.events_2025' ? 'public.events' : k.own));
      const want = ownKeys.filter(
        (k) => inArchive.has(k.ref) && !['legacy_user', 'partition_refs_event_id_event_at_fkey', 'events_2025 org'].includes(k.name),
      );
      const pg = await postgres();
      const b = await pg.client(target.database);
      try {
        const got = await foreignKeys(b);
        assert.ok(
          got.every((k) => k.validated),
          'every key is validated',
        );
        assert.deepEqual(
          got.map((k) => k.name),
          want.map((k) => k.name),
        );
        assert.ok(
          got.some((k) => k.name === 'users_invited_by_fkey'),
          'the self-reference too',
        );
        assert.equal(
          got.some((k) => k.name === 'Capitaine'),
          includeUnrelated,
          'the mutual pair when its tables are exported whole',
        );
      } finally {
        await b.end();
      }
      assert.equal(leftOut(loadSql).length, ownKeys.length - want.length, leftOut(loadSql).join('\n'));
      assert.match(readme, new RegExp(`^SUBSET: PART OF THE DATABASE\n[\\s\\S]*^ {4}public\\.orgs: ${root} {3}\\(1 row\\)$`, 'm'));
      const unrelated = manifest.subset!.unrelated;
      assert.ok(unrelated.length > 0);
      for (const t of unrelated) {
        assert.equal(t.exported, includeUnrelated ? 'whole' : 'left out');
        assert.ok(readme.replace(/\n {2}/g, ' ').includes(`${t.schema}.${t.name}`), `README.txt names ${t.schema}.${t.name}`);
      }
    });
  }

  it('refuses to reload when a row a foreign key needs is taken out of a CSV file, and loads nothing', async () => {
    const result = await exportWarehouse({ connection: source, outDir: tempDir() });
    const { dir } = unzipArchive(result.archive);
    const orgs = path.join(dir, 'public', 'orgs.csv');
    const text = fs.readFileSync(orgs, 'utf8');
    assert.ok(text.includes('\n2,two\n'));
    fs.writeFileSync(orgs, text.replace('\n2,two\n', '\n'));
    const target = await emptyDatabase();
    assert.throws(
      () => psql(target, dir, ['-f', 'schema.sql', '-f', 'load.sql']),
      /violates foreign key constraint "(channels|users)_org_id_fkey"[\s\S]*Key \(org_id\)=\(2\) is not present in table "orgs"/,
    );
    const pg = await postgres();
    const b = await pg.client(target.database);
    try {
      assert.equal((await b.query(`SELECT count(*)::int AS n FROM public.users`)).rows[0].n, 0, 'all or nothing');
      assert.equal((await foreignKeys(b)).length, 0);
    } finally {
      await b.end();
    }
  });
});

describe('warehouse export: a source whose rows already break a key (real PostgreSQL, psql)', () => {
  it('stops the reload at that key, and loads without it once its line is deleted, as README.txt says', async () => {
    // Triggers off (as a replica, or a data-only restore with them disabled): the key stays validated, the row breaks it.
    const source = await databaseWith(
      'fk_broken',
      `CREATE TABLE parents (id int PRIMARY KEY);
       CREATE TABLE kids (id int PRIMARY KEY, parent int CONSTRAINT "kid's parent" REFERENCES parents);
       INSERT INTO parents VALUES (1);
       INSERT INTO kids VALUES (1, 1);
       SET session_replication_role = replica;
       INSERT INTO kids VALUES (2, 99);
       RESET session_replication_role;`,
    );
    const result = await exportWarehouse({ connection: source, outDir: tempDir() });
    const { dir } = unzipArchive(result.archive);
    const readme = fs.readFileSync(path.join(dir, 'README.txt'), 'utf8').replace(/\n {2}/g, ' ');
    assert.match(readme, /psql stops at that key and loads nothing: delete that key's ALTER TABLE line from load\.sql/);
    const first = await emptyDatabase();
    assert.throws(
      () => psql(first, dir, ['-f', 'schema.sql', '-f', 'load.sql']),
      /violates foreign key constraint "kid's parent"[\s\S]*Key \(parent\)=\(99\) is not present in table "parents"/,
    );
    const loadSql = path.join(dir, 'load.sql');
    const lines = fs.readFileSync(loadSql, 'utf8').split('\n');
    const key = lines.filter((l) => l.startsWith(`ALTER TABLE "public"."kids" ADD CONSTRAINT "kid's parent" `));
    assert.equal(key.length, 1);
    fs.writeFileSync(loadSql, lines.filter((l) => l !== key[0]).join('\n'));
    const target = await emptyDatabase();
    psql(target, dir, ['-f', 'schema.sql', '-f', 'load.sql']);
    const pg = await postgres();
    const b = await pg.client(target.database);
    try {
      assert.equal((await b.query(`SELECT count(*)::int AS n FROM public.kids`)).rows[0].n, 2);
      assert.equal((await foreignKeys(b)).length, 0);
    } finally {
      await b.end();
    }
  });
});

describe('README.txt and load.sql text (no database)', () => {
  const manifest: Manifest = {
    tool: { name: 'exit-plan', version: '0.0.0' },
    createdAt: '2026-01-01T00:00:00.000Z',
    database: 'warehouse',
    serverVersion: '15.18',
    snapshotTime: '2026-01-01T00:00:00.000Z',
    csv: {} as Manifest['csv'],
    maxRowsPerFile: 1000,
    excludeColumnPatterns: [],
    tables: [
      {
        schema: 'public',
        name: 'organizations',
        kind: 'table',
        rows: 1,
        bytes: 10,
        files: [{ name: 'public/organizations.csv', rows: 1, bytes: 10, sha256: '' }],
        columns: [{ name: 'id', type: 'integer', notNull: true }],
        excludedColumns: [],
      },
    ],
  };

  it('has no foreign-key section in load.sql for tables without keys', () => {
    const loadSql = buildLoadSql(manifest, { lines: [], added: 0, leftOut: 0 });
    assert.ok(!loadSql.includes('Foreign keys'));
    assert.match(buildReadme(manifest), /The tables have no foreign keys\./);
    assert.ok(!buildReadme(manifest).includes('SUBSET'));
  });

  it("states a subset's roots, rule, keys skipped and tables left out or exported whole", () => {
    const readme = buildReadme({
      ...manifest,
      subset: {
        roots: [{ schema: 'public', name: 'organizations', predicate: 'id = 42\n  OR id = 43', rows: 2 }],
        rule: SUBSET_RULE,
        includeUnrelated: false,
        skip: [{ schema: 'public', name: 'users', columns: ['org_id', 'Team'] }],
        edges: [
          {
            from: 'public.users',
            to: 'public.organizations',
            columns: ['org_id'],
            direction: 'down',
            rows: 5,
            constraint: 'u',
            referencedColumns: ['id'],
          },
          {
            from: 'public.users',
            to: 'public.users',
            columns: ['invited_by'],
            direction: 'up',
            rows: 1,
            constraint: 'i',
            referencedColumns: ['id'],
          },
        ],
        unrelated: [
          { schema: 'public', name: 'settings', exported: 'left out' },
          { schema: 'public', name: 'feature_flags', exported: 'left out' },
        ],
      },
    });
    assert.match(readme.split('\n\n')[0], /\nA subset: only the rows foreign keys tie to the roots \(see SUBSET below\)/);
    assert.ok(!buildReadme(manifest).includes('A subset'), 'a whole export says nothing of subsets');
    const section = readme.slice(readme.indexOf('SUBSET: PART OF THE DATABASE'));
    assert.match(section, /^ {4}public\.organizations: id = 42 OR id = 43 {3}\(2 rows\)$/m);
    assert.equal(
      section
        .match(/and this rule:\n([\s\S]*?)\n {2}Foreign keys cut/)![1]
        .replace(/\s+/g, ' ')
        .trim(),
      SUBSET_RULE,
    );
    assert.match(section, /Foreign keys cut from the downward walk \(--subset-skip\): public\.users\(org_id, Team\)\./);
    assert.match(section, /Foreign keys followed: 1 down, 1 up/);
    assert.match(section, /left out: public\.settings, public\.feature_flags\./);
    assert.match(section, /exported whole \(--subset-include-unrelated\): none\./);
    assert.ok(section.indexOf('CHECK THE FILES') > 0, 'before the last section');
    for (const line of readme.split('\n')) assert.ok(line.length <= 110, `README.txt line too long: ${line}`);
  });
});
