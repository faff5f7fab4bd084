// Issue 16: subset exports. One organisation's rows out of a shared (multi-tenant) warehouse, following foreign keys
// down and up, compared table by table with an independent computation of the rule, and reloaded into an empty
// database with every foreign key validated.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import type { Client } from 'pg';
import * as fs from 'node:fs';
import {
  azure,
  dryRunSubset,
  exit,
  exportWarehouse,
  type ExportResult,
  type PgConnectionOptions,
  type SubsetOptions,
} from '../src/exporters';
import { capture } from '../scripts/lib/capture';
import { connectionUrl } from '../scripts/lib/embeddedPostgres';
import { tempDir, unzipArchive } from './helpers/archive';
import { azurite } from './helpers/azure';
import { databaseWith, postgres, reloadArchive } from './helpers/postgres';

const CLI = path.resolve(__dirname, '../../dist/cli.js');

/**
 * Three organisations sharing one database: users invited across organisations (a self-reference), channels,
 * messages (one sent into organisation 1 by a user of organisation 2), attachments, channel members (a composite
 * primary key, with a member from another organisation), read marks (a two-column foreign key to the members),
 * a mutual reference pair (teams and their leads, deferrable both ways, with a team of organisation 2 led from
 * organisation 1), a lookup table referenced from the roots (countries), a table only reachable below that lookup
 * (cities), an unrelated settings table, and a table whose names need quoting.
 */
const FIXTURE = `
CREATE TABLE countries (code text PRIMARY KEY, name text NOT NULL);
CREATE TABLE cities (id int PRIMARY KEY, country text NOT NULL REFERENCES countries, name text);
CREATE TABLE organizations (id int PRIMARY KEY, name text NOT NULL, country text REFERENCES countries);
CREATE TABLE users (id int PRIMARY KEY, org_id int NOT NULL REFERENCES organizations, invited_by int REFERENCES users, email text);
CREATE TABLE channels (id int PRIMARY KEY, org_id int NOT NULL REFERENCES organizations, name text);
CREATE TABLE messages (id int PRIMARY KEY, channel_id int NOT NULL REFERENCES channels, sender_id int NOT NULL REFERENCES users,
                       body text);
CREATE TABLE attachments (id int PRIMARY KEY, message_id int NOT NULL REFERENCES messages, name text);
CREATE TABLE channel_members (channel_id int REFERENCES channels, user_id int REFERENCES users, PRIMARY KEY (channel_id, user_id));
CREATE TABLE read_marks (channel_id int NOT NULL, user_id int NOT NULL, last_message int REFERENCES messages,
                         FOREIGN KEY (channel_id, user_id) REFERENCES channel_members);
CREATE TABLE teams (id int PRIMARY KEY, org_id int NOT NULL REFERENCES organizations, lead_id int);
CREATE TABLE team_leads (id int PRIMARY KEY, team_id int NOT NULL REFERENCES teams DEFERRABLE INITIALLY DEFERRED,
                         user_id int REFERENCES users);
ALTER TABLE teams ADD FOREIGN KEY (lead_id) REFERENCES team_leads DEFERRABLE INITIALLY DEFERRED;
CREATE TABLE settings (key text PRIMARY KEY, value text);
CREATE TABLE "Notes ""ü""" ("Org Id" int NOT NULL REFERENCES organizations, "Text" text);

INSERT INTO countries VALUES ('br', 'Brazil'), ('pe', 'Peru'), ('co', 'Colombia');
INSERT INTO cities VALUES (1, 'br', 'Manaus'), (2, 'pe', 'Iquitos'), (3, 'co', 'Leticia');
INSERT INTO organizations VALUES (1, 'Acme', 'br'), (2, 'Beta', 'pe'), (3, 'Gamma', NULL);
-- Users 1-4 in org 1, 5-6 in org 2, 7-8 in org 3; 2 was invited by 7 (org 3), who was invited by 8; 5 by 1.
INSERT INTO users VALUES (8, 3, NULL, 'h@gamma'), (7, 3, 8, 'g@gamma'), (1, 1, NULL, 'a@acme'), (2, 1, 7, 'b@acme'),
  (3, 1, 1, 'c@acme'), (4, 1, NULL, 'd@acme'), (5, 2, 1, 'e@beta'), (6, 2, NULL, 'f@beta');
INSERT INTO users SELECT 100 + g, 1 + g % 3, NULL, 'bulk' || g FROM generate_series(1, 60) g;
INSERT INTO channels VALUES (1, 1, 'general'), (2, 1, 'random'), (3, 2, 'beta-general'), (4, 3, 'gamma');
INSERT INTO messages VALUES (1, 1, 1, 'hello'), (2, 1, 5, 'a guest from beta'), (3, 3, 5, 'beta only'), (4, 4, 7, 'gamma only'),
  (5, 2, 2, 'random');
INSERT INTO messages SELECT 100 + g, 1 + g % 4, 100 + 1 + (g % 60), 'bulk ' || g FROM generate_series(1, 200) g;
INSERT INTO attachments VALUES (1, 1, 'a.png'), (2, 3, 'b.png'), (3, 2, 'c.pdf');
INSERT INTO attachments SELECT 100 + g, 100 + g, 'bulk' || g FROM generate_series(1, 200, 7) g;
INSERT INTO channel_members VALUES (1, 1), (1, 2), (1, 6), (3, 5), (4, 7), (2, 3);
INSERT INTO read_marks VALUES (1, 1, 2), (1, 6, 1), (3, 5, 3), (4, 7, 4);
BEGIN;
INSERT INTO teams VALUES (1, 1, 1), (2, 2, 1), (3, 3, 3);
INSERT INTO team_leads VALUES (1, 1, 1), (2, 2, 5), (3, 3, 7);
COMMIT;
INSERT INTO settings VALUES ('theme', 'dark'), ('locale', 'pt-BR');
INSERT INTO "Notes ""ü""" VALUES (1, 'note for acme'), (2, 'note for beta');
ANALYZE;
`;

interface Key {
  from: string;
  columns: string[];
  to: string;
  refColumns: string[];
}

/** The fixture's foreign keys, written out here (not read from the catalog), for the independent computation. */
const KEYS: Key[] = [
  { from: 'cities', columns: ['country'], to: 'countries', refColumns: ['code'] },
  { from: 'organizations', columns: ['country'], to: 'countries', refColumns: ['code'] },
  { from: 'users', columns: ['org_id'], to: 'organizations', refColumns: ['id'] },
  { from: 'users', columns: ['invited_by'], to: 'users', refColumns: ['id'] },
  { from: 'channels', columns: ['org_id'], to: 'organizations', refColumns: ['id'] },
  { from: 'messages', columns: ['channel_id'], to: 'channels', refColumns: ['id'] },
  { from: 'messages', columns: ['sender_id'], to: 'users', refColumns: ['id'] },
  { from: 'attachments', columns: ['message_id'], to: 'messages', refColumns: ['id'] },
  { from: 'channel_members', columns: ['channel_id'], to: 'channels', refColumns: ['id'] },
  { from: 'channel_members', columns: ['user_id'], to: 'users', refColumns: ['id'] },
  { from: 'read_marks', columns: ['channel_id', 'user_id'], to: 'channel_members', refColumns: ['channel_id', 'user_id'] },
  { from: 'read_marks', columns: ['last_message'], to: 'messages', refColumns: ['id'] },
  { from: 'teams', columns: ['org_id'], to: 'organizations', refColumns: ['id'] },
  { from: 'teams', columns: ['lead_id'], to: 'team_leads', refColumns: ['id'] },
  { from: 'team_leads', columns: ['team_id'], to: 'teams', refColumns: ['id'] },
  { from: 'team_leads', columns: ['user_id'], to: 'users', refColumns: ['id'] },
  { from: 'Notes "ü"', columns: ['Org Id'], to: 'organizations', refColumns: ['id'] },
];
const TABLES = [...new Set(KEYS.flatMap((k) => [k.from, k.to])), 'settings'].sort();

type Row = Record<string, unknown>;

async function allRows(client: Client): Promise<Map<string, Row[]>> {
  const rows = new Map<string, Row[]>();
  for (const t of TABLES) {
    const r = await client.query<{ j: Row }>(`SELECT row_to_json(t) AS j FROM public."${t.replace(/"/g, '""')}" t`);
    rows.set(
      t,
      r.rows.map((x) => x.j),
    );
  }
  return rows;
}

/**
 * The rule, computed here in plain code over every row: roots; down along keys that are not self-references nor
 * skipped (from rows included as root or down); then up along every key from every included row; tables the walk
 * cannot reach are unrelated (whole when asked, and then what they reference comes up too).
 */
function expectedSubset(
  rows: Map<string, Row[]>,
  root: { table: string; match: (row: Row) => boolean },
  options: { skip?: string[]; includeUnrelated?: boolean } = {},
): Map<string, Set<string>> {
  const id = (row: Row) => JSON.stringify(row);
  const included = new Map(TABLES.map((t) => [t, new Set<string>()]));
  const down = new Map(TABLES.map((t) => [t, new Set<string>()]));
  const refers = (k: Key, child: Row, parent: Row) =>
    k.columns.every((c, i) => child[c] !== null && child[c] !== undefined && child[c] === parent[k.refColumns[i]]);
  for (const row of rows.get(root.table)!.filter(root.match)) {
    included.get(root.table)!.add(id(row));
    down.get(root.table)!.add(id(row));
  }
  const downKeys = KEYS.filter((k) => k.from !== k.to && !(options.skip ?? []).includes(`${k.from}(${k.columns.join(',')})`));
  // Tables the walk can reach.
  const reach = new Set([root.table]);
  for (let grew = true; grew;) {
    grew = false;
    for (const k of downKeys) if (reach.has(k.to) && !reach.has(k.from)) grew = Boolean(reach.add(k.from));
  }
  for (let grew = true; grew;) {
    grew = false;
    for (const k of KEYS) if (reach.has(k.from) && !reach.has(k.to)) grew = Boolean(reach.add(k.to));
  }
  const whole = TABLES.filter((t) => !reach.has(t) && options.includeUnrelated);
  for (const t of whole) for (const row of rows.get(t)!) included.get(t)!.add(id(row));
  for (let grew = true; grew;) {
    grew = false;
    for (const k of downKeys) {
      const parents = rows.get(k.to)!.filter((p) => down.get(k.to)!.has(id(p)));
      for (const child of rows.get(k.from)!) {
        if (included.get(k.from)!.has(id(child)) || !parents.some((p) => refers(k, child, p))) continue;
        included.get(k.from)!.add(id(child));
        down.get(k.from)!.add(id(child));
        grew = true;
      }
    }
  }
  for (let grew = true; grew;) {
    grew = false;
    for (const k of KEYS) {
      const children = rows.get(k.from)!.filter((c) => included.get(k.from)!.has(id(c)));
      for (const parent of rows.get(k.to)!) {
        if (included.get(k.to)!.has(id(parent)) || !children.some((c) => refers(k, c, parent))) continue;
        included.get(k.to)!.add(id(parent));
        grew = true;
      }
    }
  }
  const result = new Map<string, Set<string>>();
  for (const t of TABLES) if (reach.has(t) || whole.includes(t)) result.set(t, included.get(t)!);
  return result;
}

/** Reloads an archive with psql as its README says (schema.sql, then load.sql) into a new database. */
async function reload(archive: string): Promise<Client> {
  const { db } = await reloadArchive(archive);
  return (await postgres()).client(db.database);
}

/** The reloaded database's rows per table, as the independent computation names them. */
async function reloadedRows(client: Client): Promise<Map<string, Set<string>>> {
  const tables = await client.query<{ name: string }>(
    `SELECT relname AS name FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind = 'r'`,
  );
  const result = new Map<string, Set<string>>();
  for (const { name } of tables.rows) {
    const r = await client.query<{ j: Row }>(`SELECT row_to_json(t) AS j FROM public."${name.replace(/"/g, '""')}" t`);
    result.set(name, new Set(r.rows.map((x) => JSON.stringify(x.j))));
  }
  return result;
}

function assertSameRows(actual: Map<string, Set<string>>, expected: Map<string, Set<string>>): void {
  assert.deepEqual([...actual.keys()].sort(), [...expected.keys()].sort(), 'the tables in the archive');
  for (const [table, rows] of expected) {
    assert.deepEqual([...actual.get(table)!].sort(), [...rows].sort(), `the rows of ${table}`);
  }
}

/** The foreign keys of the reloaded database, validated, as `table(columns) → table`. */
async function validatedKeys(client: Client): Promise<string[]> {
  const r = await client.query<{ k: string }>(
    `SELECT conrelid::regclass::text || ' → ' || confrelid::regclass::text || ' ' || convalidated AS k
       FROM pg_constraint WHERE contype = 'f' ORDER BY 1`,
  );
  return r.rows.map((x) => x.k);
}

function cli(args: string[], env: NodeJS.ProcessEnv = {}): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, ...env } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('subset export: one organisation out of a shared warehouse', function () {
  this.timeout(180_000);
  let db: PgConnectionOptions;
  let source: Client;
  let rows: Map<string, Row[]>;
  const opened: Client[] = [];

  before(async () => {
    db = await databaseWith('subset', FIXTURE);
    source = await (await postgres()).client(db.database);
    rows = await allRows(source);
  });
  after(async () => {
    await source?.end();
    for (const c of opened) await c.end().catch(() => undefined);
  });

  const exportSubset = (subset: SubsetOptions, more: { jobs?: number; maxRowsPerFile?: number } = {}) =>
    exportWarehouse({ connection: db, outDir: tempDir(), subset, ...more });

  it('exports organisation 1 and what it references, compared with an independent computation, and reloads with every key', async () => {
    const result = await exportSubset({ roots: [{ schema: 'public', name: 'organizations', predicate: 'id = 1' }] });
    assert.match(path.basename(result.archive), /^subset_\d+_organizations-id-1_\d{4}-\d\d-\d\dT\d{6}Z\.zip$/);
    const expected = expectedSubset(rows, { table: 'organizations', match: (r) => r.id === 1 });
    // What the rule brings in from other organisations: user 5 (org 2) wrote into channel 1, user 6 (org 2) is a
    // member of it, user 2 was invited by 7 (org 3), who was invited by 8; team 2 (org 2) is led from team_leads 1.
    const users = [...expected.get('users')!].map((r) => (JSON.parse(r) as Row).id);
    for (const guest of [5, 6, 7, 8]) assert.ok(users.includes(guest), `user ${guest} comes up`);
    assert.equal(expected.has('settings'), false);
    assert.equal(expected.has('cities'), false);

    const client = await reload(result.archive);
    opened.push(client);
    assertSameRows(await reloadedRows(client), expected);
    assert.deepEqual(
      result.subset!.unrelated.map((u) => `${u.name} ${u.exported}`),
      ['cities left out', 'settings left out'],
    );
    // Every key among the exported tables is back, validated.
    const keys = await validatedKeys(client);
    assert.equal(keys.length, KEYS.filter((k) => expected.has(k.from) && expected.has(k.to)).length, keys.join('\n'));
    assert.ok(keys.every((k) => k.endsWith(' true')));

    const { manifest } = unzipArchive(result.archive);
    assert.deepEqual(manifest.subset!.roots, [{ schema: 'public', name: 'organizations', predicate: 'id = 1', rows: 1 }]);
    assert.match(manifest.subset!.rule, /Self-referencing foreign keys are not followed down/);
    const users1 = manifest.tables.find((t) => t.name === 'users')!;
    assert.equal(users1.rows, expected.get('users')!.size);
    assert.ok(manifest.subset!.edges.some((e) => e.from === 'public.users' && e.columns[0] === 'invited_by' && e.direction === 'up'));
    assert.ok(!manifest.subset!.edges.some((e) => e.from === 'public.users' && e.columns[0] === 'invited_by' && e.direction === 'down'));
  });

  it('exports two organisations with a key cut and the unrelated tables whole, in parts and with two jobs, the same rows', async () => {
    const subset: SubsetOptions = {
      roots: [{ schema: 'public', name: 'organizations', predicate: 'id IN (2, 3)' }],
      skip: [{ schema: 'public', name: 'teams', columns: ['lead_id'] }],
      includeUnrelated: true,
    };
    const expected = expectedSubset(
      rows,
      { table: 'organizations', match: (r) => r.id === 2 || r.id === 3 },
      {
        skip: ['teams(lead_id)'],
        includeUnrelated: true,
      },
    );
    assert.ok(expected.has('settings') && expected.has('cities'));
    // Cities come whole, and with them every country they name (Colombia is nobody else's).
    assert.equal(expected.get('countries')!.size, 3);
    const results: ExportResult[] = [];
    results.push(await exportSubset(subset));
    results.push(await exportSubset(subset, { jobs: 2, maxRowsPerFile: 7 }));
    for (const result of results) {
      const client = await reload(result.archive);
      opened.push(client);
      assertSameRows(await reloadedRows(client), expected);
      assert.ok((await validatedKeys(client)).every((k) => k.endsWith(' true')));
    }
    assert.ok(
      results[1].tables.some((t) => t.files.length > 1),
      'split into parts',
    );
    assert.deepEqual(results[0].subset!.skip, [{ schema: 'public', name: 'teams', columns: ['lead_id'] }]);
  });

  it('scrubs columns and uploads as a whole export does: the blob is the local archive, without the scrubbed column', async () => {
    const { connectionString } = await azurite();
    const account = azure.openStorageAccount({ kind: 'connectionString', connectionString });
    await account.service.getContainerClient('subsets').createIfNotExists();
    const result = await exportWarehouse({
      connection: db,
      outDir: tempDir(),
      upload: { account, container: 'subsets' },
      excludeColumns: ['email'],
      subset: { roots: [{ name: 'organizations', predicate: 'id = 1' }] },
    });
    assert.equal(result.uploaded!.blob, path.basename(result.archive));
    const blob = await account.service.getContainerClient('subsets').getBlockBlobClient(result.uploaded!.blob).downloadToBuffer();
    assert.ok(blob.equals(fs.readFileSync(result.archive)));
    const { dir, manifest } = unzipArchive(result.archive);
    assert.deepEqual(manifest.tables.find((t) => t.name === 'users')!.excludedColumns, ['email']);
    const users = fs.readFileSync(path.join(dir, 'public', 'users.csv'), 'utf8');
    assert.equal(users.split('\n')[0], 'id,org_id,invited_by');
    assert.equal(
      users.trim().split('\n').length - 1,
      expectedSubset(rows, { table: 'organizations', match: (r) => r.id === 1 }).get('users')!.size,
    );
  });

  it('an exit plan takes a subset: its warehouse part exports the organisation and the report says which', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'exit-plan.toml');
    const body =
      `[[warehouse]]\nname = "acme"\ndb = "postgres://${db.user}@${db.host}:${db.port}/${db.database}"\n` +
      `subset = ["public.organizations: id = 1"]\nsubset_skip = ["public.teams(lead_id)"]\n`;
    const plan = exit.parsePlan(body, file);
    const result = await exit.runExitPlan(plan, { resolvers: exit.envResolvers({ PGPASSWORD: db.password }) });
    assert.equal(result.ok, true, JSON.stringify(result.parts));
    const record = JSON.parse(fs.readFileSync(path.join(result.folder, 'acme', 'part.json'), 'utf8')) as exit.PartRecord;
    assert.match(record.files[0].path, /^subset_\d+_organizations-id-1_.*\.zip$/);
    const expected = expectedSubset(rows, { table: 'organizations', match: (r) => r.id === 1 }, { skip: ['teams(lead_id)'] });
    assert.equal(
      record.details?.rows,
      [...expected.values()].reduce((n, set) => n + set.size, 0),
    );
    const report = fs.readFileSync(path.join(result.folder, 'EXIT-REPORT.md'), 'utf8');
    assert.match(report, /subset of public\.organizations: id = 1 \(1 row\)/);
  });

  it('a root in another table: the channels of organisation 2 and what they tie to', async () => {
    const result = await exportSubset({ roots: [{ name: 'channels', predicate: 'org_id = 2' }] });
    const expected = expectedSubset(rows, { table: 'channels', match: (r) => r.org_id === 2 });
    const client = await reload(result.archive);
    opened.push(client);
    assertSameRows(await reloadedRows(client), expected);
  });

  it('dry run: rows per table and per key, as --json says, and nothing written', async () => {
    const out = tempDir();
    const r = cli(
      ['warehouse', 'export', '--db', connectionUrl(db), '--out', out, '--subset', 'organizations: id = 1', '--dry-run', '--json'],
      {
        PGPASSWORD: db.password,
      },
    );
    assert.equal(r.status, 0, r.stderr);
    const report = JSON.parse(r.stdout) as {
      tables: { schema: string; name: string; rows: number }[];
      edges: { from: string; to: string; columns: string[]; direction: string; rows: number }[];
    };
    const expected = expectedSubset(rows, { table: 'organizations', match: (row) => row.id === 1 });
    assert.deepEqual(
      Object.fromEntries(report.tables.map((t) => [t.name, t.rows])),
      Object.fromEntries([...expected].map(([t, s]) => [t, s.size])),
    );
    const bySender = report.edges.find((e) => e.from === 'public.messages' && e.columns.join() === 'sender_id' && e.direction === 'up')!;
    assert.ok(bySender.rows > 0);
    assert.equal(bySender.to, 'public.users');
    // Every row but the root came in by exactly one key (counted under the first that brought it).
    const total = report.tables.reduce((n, t) => n + t.rows, 0);
    assert.equal(total, 1 + report.edges.reduce((n, e) => n + e.rows, 0));
    assert.deepEqual(spawnSync('ls', ['-A', out], { encoding: 'utf8' }).stdout, '', 'nothing written');
    const human = cli(['warehouse', 'export', '--db', connectionUrl(db), '--subset', 'organizations: id = 1', '--dry-run', '--quiet'], {
      PGPASSWORD: db.password,
    });
    assert.equal(human.status, 0, human.stderr);
    assert.match(human.stdout, /Foreign keys followed down/);
    assert.match(human.stdout, /public\.settings/);
  });

  it('a bad predicate, a missing root table and a predicate that matches nothing: one sentence each, nothing written', async () => {
    const out = tempDir();
    const cases: [string, RegExp][] = [
      [
        'public.organizations: id = = 1',
        /^exit-plan: The subset predicate for "public"\."organizations" \(id = = 1\) is not valid SQL over that table: syntax error at or near "="; nothing was exported\.\n$/,
      ],
      [
        'public.orgs: id = 1',
        /^exit-plan: The subset's root table "public"\."orgs" does not exist in subset_\d+; nothing was exported\.\n$/,
      ],
      [
        'organizations: id = 99',
        /^exit-plan: The subset predicate id = 99 matches no rows of "public"\."organizations"; nothing was exported\.\n$/,
      ],
      [
        'organizations id = 1',
        /^exit-plan: The subset "organizations id = 1" is not "schema\.table: predicate": a colon must follow the table name\.\n$/,
      ],
    ];
    for (const [spec, message] of cases) {
      const r = cli(['warehouse', 'export', '--db', connectionUrl(db), '--out', out, '--subset', spec, '--quiet'], {
        PGPASSWORD: db.password,
      });
      assert.equal(r.status, 1, spec);
      assert.match(r.stderr, message);
    }
    const skip = cli(
      [
        'warehouse',
        'export',
        '--db',
        connectionUrl(db),
        '--out',
        out,
        '--subset',
        'organizations: id = 1',
        '--subset-skip',
        'users(email)',
        '--quiet',
      ],
      { PGPASSWORD: db.password },
    );
    assert.equal(skip.status, 1);
    assert.match(
      skip.stderr,
      /^exit-plan: No foreign key "users"\("email"\) to skip: that table's foreign keys are \(invited_by\), \(org_id\); nothing was exported\.\n$/,
    );
    assert.deepEqual(spawnSync('ls', ['-A', out], { encoding: 'utf8' }).stdout, '', 'nothing written');
    // A predicate cannot end the read-only transaction and write after it: the walk takes one statement only.
    const escape =
      'true)) SELECT 1; COMMIT; CREATE TABLE public.pwned (x int); ' +
      'WITH matched AS (SELECT tableoid, ctid FROM public.organizations WHERE (true';
    await assert.rejects(
      exportWarehouse({ connection: db, outDir: out, subset: { roots: [{ name: 'organizations', predicate: escape }] } }),
      /^ExitPlanError: The subset predicate for "public"\."organizations" \(true\)\) SELECT 1; .* is not valid SQL over that table: cannot insert multiple commands into a prepared statement; nothing was exported\.$/,
    );
    assert.equal((await source.query(`SELECT to_regclass('public.pwned') AS t`)).rows[0].t, null);
    await assert.rejects(
      dryRunSubset({ connection: db, subset: { roots: [{ name: 'organizations', predicate: 'id = 99' }] } }),
      /matches no rows/,
    );
  });
});

describe('subset export: partitions, cancel, a server that cannot keep key sets', function () {
  this.timeout(180_000);

  it('walks into and out of partitioned tables (rows by partition, counted under their table) and reloads', async () => {
    const db = await databaseWith(
      'subset_parts',
      `CREATE TABLE orgs (id int PRIMARY KEY);
       CREATE TABLE events (org_id int NOT NULL REFERENCES orgs, id int NOT NULL, kind text, PRIMARY KEY (org_id, id))
         PARTITION BY LIST (org_id);
       CREATE TABLE events_1 PARTITION OF events FOR VALUES IN (1);
       CREATE TABLE events_rest PARTITION OF events DEFAULT;
       CREATE TABLE notes (org_id int NOT NULL, event_id int NOT NULL, body text, FOREIGN KEY (org_id, event_id) REFERENCES events);
       -- An inheritance child is its own table: its rows are not its parent's.
       CREATE TABLE audit (org_id int REFERENCES orgs, what text);
       CREATE TABLE audit_old () INHERITS (audit);
       INSERT INTO orgs VALUES (1), (2), (3);
       INSERT INTO events SELECT 1 + g % 3, g, 'k' || g FROM generate_series(1, 90) g;
       INSERT INTO notes SELECT 1 + g % 3, g, 'n' || g FROM generate_series(1, 90, 2) g;
       INSERT INTO audit VALUES (1, 'a'), (2, 'b');
       INSERT INTO audit_old VALUES (1, 'old a'), (3, 'old c');`,
    );
    const result = await exportWarehouse({
      connection: db,
      outDir: tempDir(),
      subset: { roots: [{ name: 'orgs', predicate: 'id = 2' }] },
      jobs: 2,
    });
    const rowsOf = (name: string) => result.tables.find((t) => t.name === name)?.rows;
    assert.equal(rowsOf('orgs'), 1);
    assert.equal(rowsOf('events'), 30);
    assert.equal(rowsOf('notes'), 15);
    assert.equal(rowsOf('audit'), 1);
    // audit_old has no foreign key (inheritance does not copy them): unrelated, left out.
    assert.deepEqual(
      result.subset!.unrelated.map((u) => u.name),
      ['audit_old'],
    );
    const client = await reload(result.archive);
    try {
      assert.equal((await client.query('SELECT DISTINCT org_id FROM events')).rows.length, 1);
      assert.equal((await client.query(`SELECT count(*)::int AS n FROM events_rest`)).rows[0].n, 30);
      assert.ok((await validatedKeys(client)).every((k) => k.endsWith(' true')));
    } finally {
      await client.end();
    }
  });

  it('cancel during the walk stops the server’s statement too, and writes nothing', async () => {
    const db = await databaseWith('subset_cancel', `CREATE TABLE orgs (id int PRIMARY KEY); INSERT INTO orgs VALUES (1), (2);`);
    const admin = await (await postgres()).client(db.database);
    try {
      const controller = new AbortController();
      const out = tempDir();
      let walking = false;
      const running = exportWarehouse({
        connection: db,
        outDir: out,
        // Each row takes a minute to decide: only a cancel that reaches the server ends it soon.
        subset: { roots: [{ name: 'orgs', predicate: 'pg_sleep(60) IS NOT NULL' }] },
        signal: controller.signal,
        onProgress: (p) => {
          if (p.phase === 'subset' && p.subset?.step === 'roots') walking = true;
        },
      });
      const sleeping = async () =>
        (
          await admin.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM pg_stat_activity ` +
              `WHERE datname = $1 AND application_name = 'exit-plan' AND query LIKE '%pg_sleep(60)%'`,
            [db.database],
          )
        ).rows[0].n;
      for (const until = Date.now() + 30_000; !(walking && (await sleeping()) === 1);) {
        if (Date.now() > until) throw new Error('the walk did not start');
        await new Promise((r) => setTimeout(r, 50));
      }
      controller.abort();
      await assert.rejects(running, (err: Error) => {
        assert.equal(err.name, 'CancelledError');
        assert.match(err.message, /^Export cancelled; no archive was written\.$/);
        return true;
      });
      // The backend notices its client is gone within a second or so (client_connection_check_interval).
      for (const until = Date.now() + 20_000; (await sleeping()) > 0;) {
        if (Date.now() > until) throw new Error('the server still runs the walk after the cancel');
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.deepEqual(spawnSync('ls', ['-A', out], { encoding: 'utf8' }).stdout, '');
      // A dry run cancelled says it wrote nothing.
      const dry = new AbortController();
      const counting = dryRunSubset({
        connection: db,
        subset: { roots: [{ name: 'orgs', predicate: 'pg_sleep(60) IS NOT NULL' }] },
        signal: dry.signal,
        onProgress: (p) => {
          if (p.phase === 'subset') setTimeout(() => dry.abort(), 200);
        },
      });
      await assert.rejects(counting, /^CancelledError: Dry run cancelled; nothing was written\.$/);
    } finally {
      await admin.end();
    }
  });

  it('keeps the key sets on the server: a subset of 600,000 rows with two jobs in a 64 MB heap', async () => {
    const db = await databaseWith(
      'subset_memory',
      `CREATE TABLE orgs (id int PRIMARY KEY);
       CREATE TABLE events (id int PRIMARY KEY, org_id int NOT NULL REFERENCES orgs, payload text);
       CREATE TABLE marks (event_id int NOT NULL REFERENCES events, n int);
       INSERT INTO orgs VALUES (1), (2);
       INSERT INTO events SELECT g, 1 + (g % 5 = 0)::int, md5(g::text) FROM generate_series(1, 750000) g;
       INSERT INTO marks SELECT g, g FROM generate_series(1, 750000, 3) g;
       ANALYZE;`,
    );
    const out = tempDir();
    const result = await capture(
      process.execPath,
      [
        '--max-old-space-size=64',
        CLI,
        'warehouse',
        'export',
        '--db',
        connectionUrl(db),
        '--out',
        out,
        '--subset',
        'orgs: id = 1',
        '--jobs',
        '2',
        '--json',
        '--quiet',
      ],
      { env: { ...process.env, PGPASSWORD: db.password } },
    );
    assert.equal(result.code, 0, result.stderr);
    const json = JSON.parse(result.stdout) as { tables: { name: string; rows: number }[]; rows: number };
    assert.deepEqual(Object.fromEntries(json.tables.map((t) => [t.name, t.rows])), { events: 600000, marks: 200000, orgs: 1 });
  });

  it('a role whose transactions are read only (as on a standby): one sentence, nothing written', async () => {
    const db = await databaseWith('subset_ro', `CREATE TABLE orgs (id int PRIMARY KEY); INSERT INTO orgs VALUES (1);`);
    const admin = await (await postgres()).client(db.database);
    try {
      await admin.query(`CREATE ROLE subset_reader LOGIN PASSWORD 'reader-pw'; GRANT SELECT ON orgs TO subset_reader;`);
      await admin.query(`ALTER ROLE subset_reader SET default_transaction_read_only = on`);
      const reader = { ...db, user: 'subset_reader', password: 'reader-pw' };
      await assert.rejects(
        exportWarehouse({ connection: reader, outDir: tempDir(), subset: { roots: [{ name: 'orgs', predicate: 'true' }] } }),
        /^ExitPlanError: A subset export keeps its key sets in a temporary table, which this server refuses \(cannot execute CREATE TABLE in a read-only transaction\): run it against the primary, as a role that may create temporary tables; nothing was exported\.$/,
      );
      // A whole export needs no temporary table: the same role exports.
      const whole = await exportWarehouse({ connection: reader, outDir: tempDir() });
      assert.equal(whole.rows, 1);
    } finally {
      await admin.query(`DROP OWNED BY subset_reader; DROP ROLE subset_reader`).catch(() => undefined);
      await admin.end();
    }
  });
});
