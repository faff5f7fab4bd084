// Issue 10, "errors a user can act on": what the CLI prints when names, options, URLs, configs and data are hostile.
// Everything runs the built dist/cli.js against the embedded PostgreSQL, as a user would.
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Client } from 'pg';
import { datasets, type PgConnectionOptions } from '../src/exporters';
import { connectionUrl } from '../scripts/lib/embeddedPostgres';
import { sourceEncoding, toUtf8 } from '../src/exporters/warehouse/textEncoding';
import { listFiles, tempDir, unzipArchive } from './helpers/archive';
import { CLI, runCli } from './helpers/backups';
import { postgres } from './helpers/postgres';

/** A table name that would recolour the terminal and break the line if printed raw. */
const EVIL = 'evil\x1b[31mred\nnext';
const EVIL_SHOWN = 'evil\\x1b[31mred\\nnext';
/** C0 controls (but newline and tab, which the CLI lays out with), DEL and C1 controls (0x9b is CSI). */
const RAW_CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/;

describe('trust: errors a user can act on (CLI)', () => {
  let source: PgConnectionOptions;
  let client: Client;
  let env: Record<string, string>;

  before(async function () {
    assert.ok(fs.existsSync(CLI), 'dist/cli.js is missing: run `npm run build` first');
    const pg = await postgres();
    source = await pg.createDatabase('trust_errors');
    client = await pg.client('trust_errors');
    const evil = `"${EVIL.replace(/"/g, '""')}"`;
    await client.query(`CREATE TABLE ${evil} ("col\x07umn\u009b" int); INSERT INTO ${evil} VALUES (1), (2)`);
    env = { PGPASSWORD: source.password! };
  });

  after(async () => {
    await client?.end();
  });

  describe('control characters in names are shown as escapes', () => {
    it('warehouse tables prints the name escaped, on its own line; --json keeps the real name', async () => {
      const r = await runCli(['warehouse', 'tables', '--db', connectionUrl(source)], env);
      assert.equal(r.code, 0, r.stderr);
      assert.doesNotMatch(r.stdout, RAW_CONTROL);
      assert.match(r.stdout, new RegExp(`^public\\.${EVIL_SHOWN.replace(/[\\[]/g, '\\$&')}\\ttable\\t[^\\n]*\\n$`));

      const json = await runCli(['warehouse', 'tables', '--db', connectionUrl(source), '--json'], env);
      assert.equal(json.code, 0, json.stderr);
      assert.doesNotMatch(json.stdout, RAW_CONTROL);
      const parsed = JSON.parse(json.stdout) as { tables: { name: string; columns: { name: string }[] }[] };
      assert.equal(parsed.tables[0].name, EVIL);
      assert.equal(parsed.tables[0].columns[0].name, 'col\x07umn\u009b');
    });

    it('warehouse export: progress on stderr and the summary on stdout show the name escaped', async () => {
      const out = tempDir('exit-plan-trust-');
      const r = await runCli(['warehouse', 'export', '--db', connectionUrl(source), '--out', out], env);
      assert.equal(r.code, 0, r.stderr);
      assert.doesNotMatch(r.stderr, RAW_CONTROL);
      assert.doesNotMatch(r.stdout, RAW_CONTROL);
      assert.ok(
        r.stderr.split('\n').some((l) => l.includes(`Table 1/1 public.${EVIL_SHOWN} — `)),
        r.stderr,
      );
      const summary = r.stdout.split('\n');
      assert.equal(summary[1], `  public.${EVIL_SHOWN}             2 rows      14 B  1 file`);
      assert.equal(summary.length, 4, r.stdout);
    });

    it('an error naming the table shows it escaped, still one line', async () => {
      const pg = await postgres();
      const admin = await pg.client('trust_errors');
      try {
        await admin.query(`DROP ROLE IF EXISTS trust_reader; CREATE ROLE trust_reader LOGIN PASSWORD 'reader-pw'`);
      } finally {
        await admin.end();
      }
      const out = tempDir('exit-plan-trust-');
      const reader = { ...source, user: 'trust_reader' };
      const r = await runCli(['warehouse', 'export', '--db', connectionUrl(reader), '--out', out, '--quiet'], { PGPASSWORD: 'reader-pw' });
      assert.equal(r.code, 1);
      assert.equal(
        r.stderr,
        `exit-plan: User "trust_reader" has no SELECT permission on table "public"."${EVIL_SHOWN}"; nothing was exported.\n`,
      );
      assert.deepEqual(listFiles(out), []);
    });
  });

  describe('a bad option value prints one line and a --help hint', () => {
    const cases: [string[], string][] = [
      [
        ['warehouse', 'export', '--jobs', 'x'],
        `error: option '--jobs <n>' argument 'x' is invalid. expected a whole number from 1 to 16.\nRun 'exit-plan warehouse export ` +
          `--help' for usage.\n`,
      ],
      [
        ['warehouse', 'export', '--jbos', '2'],
        `error: unknown option '--jbos'\n(Did you mean --jobs?)\nRun 'exit-plan warehouse export --help' for usage.\n`,
      ],
      [
        ['warehouse', 'export', '--jobs', '\x1b[2Jx'],
        `error: option '--jobs <n>' argument '\\x1b[2Jx' is invalid. expected a whole number from 1 to 16.\nRun 'exit-plan warehouse ` +
          `export --help' for usage.\n`,
      ],
      [['warehouse', 'tables', '--bogus'], `error: unknown option '--bogus'\nRun 'exit-plan warehouse tables --help' for usage.\n`],
      [
        ['azure', 'size', '--container', 'c', '--folder'],
        `error: option '--folder <prefix>' argument missing\nRun 'exit-plan azure size --help' for usage.\n`,
      ],
      [
        ['datasets', 'report', '--shrink-alert', '2', 'dir'],
        `error: option '--shrink-alert <share>' argument '2' is invalid. expected a share from 0 to 1 (e.g. 0.2) or a percentage (e.g. ` +
          `20%).\nRun 'exit-plan datasets report --help' for usage.\n`,
      ],
      [
        ['backups', 'rotate', '--dir', 'd', '--keep-last', 'x'],
        `error: option '--keep-last <n>' argument 'x' is invalid. expected a whole number from 0 up, or "unlimited".\nRun 'exit-plan ` +
          `backups rotate --help' for usage.\n`,
      ],
      [['nope'], `error: unknown command 'nope'\nRun 'exit-plan --help' for usage.\n`],
    ];
    for (const [args, stderr] of cases) {
      it(`exit-plan ${args.join(' ').replace(/\x1b/g, '\\x1b')}`, async () => {
        const r = await runCli(args);
        assert.equal(r.code, 1);
        assert.equal(r.stdout, '');
        assert.equal(r.stderr, stderr);
      });
    }
  });

  describe('database URLs', () => {
    it('--help of warehouse export shows a URL without a password, and PGPASSWORD', async () => {
      const r = await runCli(['warehouse', 'export', '--help']);
      assert.equal(r.code, 0);
      const help = r.stdout.replace(/\s+/g, ' ');
      assert.ok(help.includes('--db <url> postgres://user@host:5432/database (password in PGPASSWORD;'), r.stdout);
      assert.ok(!help.includes('password@'), r.stdout);
    });

    it('a password in the URL works, with one warning on stderr that never shows it', async () => {
      const url = connectionUrl(source).replace('postgres@', `postgres:${encodeURIComponent(source.password!)}@`);
      const r = await runCli(['warehouse', 'tables', '--db', url], { PGPASSWORD: undefined });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(
        r.stderr,
        'exit-plan: warning: the --db URL holds a password, which other users can see in `ps` and which stays in the shell history; give ' +
          'it in PGPASSWORD instead.\n',
      );
      assert.ok(r.stdout.includes(`public.${EVIL_SHOWN}`));
    });

    const port = () => source.port;
    const urlCases: [string, () => string, string][] = [
      [
        'a % that starts no escape in the password',
        () => `postgres://postgres:50%off@127.0.0.1:${port()}/trust_errors`,
        'The password in the database URL has a % that does not start a valid escape: write a literal % as %25.',
      ],
      [
        'a broken escape in the user name',
        () => `postgres://ro%zzt@127.0.0.1:${port()}/trust_errors`,
        'The user name in the database URL has a % that does not start a valid escape: write a literal % as %25.',
      ],
      [
        '%00 in the database name',
        () => `postgres://postgres@127.0.0.1:${port()}/trust%00errors`,
        'The database name in the database URL contains %00 (a NUL character), which PostgreSQL does not allow.',
      ],
      [
        '%00 in the password',
        () => `postgres://postgres:pw%00@127.0.0.1:${port()}/trust_errors`,
        'The password in the database URL contains %00 (a NUL character), which PostgreSQL does not allow.',
      ],
      [
        'a port out of range',
        () => 'postgres://postgres@127.0.0.1:99999/trust_errors',
        'The database URL is not valid: expected postgres://user@host:port/database, with a port from 1 to 65535 and any @, /, ?, # or % in the user name or password written as %40, %2F, %3F, %23 or %25.',
      ],
      ['port 0', () => 'postgres://postgres@127.0.0.1:0/trust_errors', 'The port "0" is not a number from 1 to 65535.'],
      [
        'no // before the host',
        () => `postgres:127.0.0.1:${port()}/trust_errors`,
        'The database URL must start with postgres:// and then user@host:port/database.',
      ],
    ];
    for (const [what, url, sentence] of urlCases) {
      it(`${what}: one sentence naming the part, never its value`, async () => {
        const r = await runCli(['warehouse', 'export', '--db', url(), '--out', tempDir('exit-plan-trust-')], env);
        assert.equal(r.code, 1);
        assert.equal(r.stdout, '');
        const lines = r.stderr.split('\n').filter((l) => l !== '' && !l.startsWith('exit-plan: warning:'));
        assert.deepEqual(lines, [`exit-plan: ${sentence}`]);
        assert.ok(!r.stderr.includes('50%off') && !r.stderr.includes('pw%00'), 'the password never shows');
      });
    }
  });
});

describe('trust: errors a user can act on (datasets CLI)', () => {
  /** An export_manager dataset folder, written by hand. */
  const dataset = (dir: string, config: string) => {
    for (const sub of ['data', 'incomplete', 'log']) fs.mkdirSync(path.join(dir, sub), { recursive: true });
    fs.writeFileSync(path.join(dir, 'config.toml'), config);
    fs.writeFileSync(path.join(dir, 'metrics.csv'), 'parcel_id,success,files,bytes');
    return dir;
  };

  it('an interval of "9999999999 weeks" is refused in one sentence naming the dataset; the report still shows the others', async () => {
    const root = tempDir('exit-plan-trust-datasets-');
    const alpha = dataset(path.join(root, 'alpha'), 'cmd = "echo a > $PARCEL_PATH.txt"\ninterval = "1 day"\n');
    dataset(path.join(root, 'beta'), 'cmd = "echo b > $PARCEL_PATH.txt"\ninterval = "1 day"\n');
    const first = await runCli(['datasets', 'process', root]);
    assert.equal(first.code, 0, first.stderr);
    fs.writeFileSync(path.join(alpha, 'config.toml'), 'cmd = "echo a > $PARCEL_PATH.txt"\ninterval = "9999999999 weeks"\n');
    const sentence =
      `${path.join(alpha, 'config.toml')}, line 2: "interval": "9999999999 weeks" is too long: a duration can be at most ` +
      `36500 days (100 years).`;

    const report = await runCli(['datasets', 'report', root]);
    assert.equal(report.code, 0, report.stderr);
    const lines = report.stdout.split('\n');
    assert.equal(lines[0], `ERROR: alpha: ${sentence}`);
    assert.ok(
      lines.some((l) => /^beta +\d{4}-\d\d-\d\dT\d{6}Z$/.test(l)),
      report.stdout,
    );
    assert.ok(lines.includes('Metrics for beta:'), report.stdout);

    const processed = await runCli(['datasets', 'process', root]);
    assert.equal(processed.code, 2);
    assert.equal(processed.stderr, `alpha: ${sentence}\n`);
    assert.match(processed.stdout, /^beta: not due for /);
  });

  it('a dataset folder named with control characters is printed escaped by process and report', async () => {
    const root = tempDir('exit-plan-trust-datasets-');
    dataset(path.join(root, 'clear\x1b[2Jscreen'), 'cmd = "echo a > $PARCEL_PATH.txt"\ninterval = "1 day"\n');
    const processed = await runCli(['datasets', 'process', root]);
    assert.equal(processed.code, 0, processed.stderr);
    assert.match(processed.stdout, /^clear\\x1b\[2Jscreen: exported \S+ \(1 file, 2 B\)\.\n$/);
    const report = await runCli(['datasets', 'report', root]);
    assert.equal(report.code, 0, report.stderr);
    assert.doesNotMatch(report.stdout, RAW_CONTROL);
    assert.ok(
      report.stdout.split('\n').some((l) => /^clear\\x1b\[2Jscreen {2}\d{4}-/.test(l)),
      report.stdout,
    );
    assert.ok(report.stdout.includes('Metrics for clear\\x1b[2Jscreen:'), report.stdout);
  });

  it('an ingest glob that matches the dataset folder itself is one sentence, and nothing is moved', async () => {
    const root = tempDir('exit-plan-trust-datasets-');
    const gamma = dataset(path.join(root, 'gamma'), 'ingest.paths = ["../*"]\n');
    fs.writeFileSync(path.join(root, 'drop.csv'), 'a,b\n1,2\n');
    const r = await runCli(['datasets', 'process', gamma]);
    assert.equal(r.code, 2);
    assert.equal(
      r.stderr,
      `gamma: ${path.join(gamma, 'config.toml')}: ingest.paths "../*" matches ${gamma}, which is the dataset folder itself; a folder ` +
        `cannot be ingested into itself, so nothing was moved (make the glob match only the files to ingest).\n`,
    );
    assert.deepEqual(listFiles(root).sort(), ['drop.csv', 'gamma/config.toml', 'gamma/metrics.csv'].sort());

    const parent = dataset(path.join(root, 'delta'), 'ingest.paths = [".."]\n');
    const up = await runCli(['datasets', 'process', parent]);
    assert.equal(up.code, 2);
    assert.match(
      up.stderr,
      /^delta: .*config\.toml: ingest\.paths "\.\." matches .*, which is a folder holding the dataset; a folder cannot be ingested into itself, so nothing was moved/,
    );
    assert.ok(fs.existsSync(path.join(root, 'drop.csv')));
  });
});

describe('trust: dataset durations (core)', () => {
  it('a timeout longer than a Node timer can hold is refused instead of killing the command at once', () => {
    assert.throws(() => datasets.parseConfig('cmd = "sleep 1"\ntimeout = "30 days"\n', '/d/config.toml'), {
      message: '/d/config.toml, line 2: "timeout" can be at most 24 days (got 30 days).',
    });
    assert.equal(datasets.parseConfig('cmd = "sleep 1"\ntimeout = "24 days"\n', '/d/config.toml').timeout?.ms, 24 * 24 * 3600 * 1000);
  });
});

describe('trust: export errors name the view or table, and SQL_ASCII text (CLI)', () => {
  let pgEnv: Record<string, string>;
  let ascii: PgConnectionOptions;
  let views: PgConnectionOptions;
  const db = (c: PgConnectionOptions) => connectionUrl(c);

  before(async () => {
    const pg = await postgres();
    pgEnv = { PGPASSWORD: pg.connection.password! };
    const admin = await pg.client();
    try {
      await admin.query(`CREATE DATABASE trust_ascii ENCODING 'SQL_ASCII' TEMPLATE template0 LC_COLLATE 'C' LC_CTYPE 'C'`);
    } finally {
      await admin.end();
    }
    ascii = pg.database('trust_ascii');
    const a = await pg.client('trust_ascii');
    try {
      // Bytes as a LATIN1 or WIN1252 application wrote them: é is 0xE9, € is 0x80 in WIN1252.
      await a.query(`CREATE TABLE people (id int, name text); INSERT INTO people VALUES (1, E'Ren\\xe9'), (2, E'\\x80uro'), (3, 'plain')`);
    } finally {
      await a.end();
    }
    views = await pg.createDatabase('trust_views');
    const v = await pg.client('trust_views');
    try {
      await v.query(`CREATE TABLE base (id int); INSERT INTO base VALUES (1);
        CREATE FUNCTION boom() RETURNS int LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'kaboom'; END $$;
        CREATE VIEW raising AS SELECT boom() AS x;
        DROP ROLE IF EXISTS trust_view_owner; CREATE ROLE trust_view_owner;
        CREATE VIEW locked AS SELECT * FROM base; ALTER VIEW locked OWNER TO trust_view_owner;`);
    } finally {
      await v.end();
    }
  });

  it('a view that raises while it is read is named, as a view', async () => {
    const out = tempDir('exit-plan-trust-');
    const r = await runCli(
      ['warehouse', 'export', '--db', db(views), '--out', out, '--include-views', '--tables', 'base,raising', '--quiet'],
      pgEnv,
    );
    assert.equal(r.code, 1);
    assert.equal(
      r.stderr,
      'exit-plan: The view "public"."raising" failed while it was read: kaboom; no archive was written and the partial file was removed.\n',
    );
    assert.deepEqual(listFiles(out), []);
  });

  it("a view whose owner cannot read its table is named, with the owner's rights as the reason", async () => {
    const out = tempDir('exit-plan-trust-');
    const r = await runCli(
      ['warehouse', 'export', '--db', db(views), '--out', out, '--include-views', '--tables', 'base,locked', '--quiet'],
      pgEnv,
    );
    assert.equal(r.code, 1);
    assert.equal(
      r.stderr,
      `exit-plan: The view "public"."locked" cannot be read: permission denied for table base (a view reads its tables with its owner's ` +
        `rights, so its owner needs SELECT on them); no archive was written.\n`,
    );
    assert.deepEqual(listFiles(out), []);
  });

  it('text that is not UTF-8 in a SQL_ASCII database: one sentence naming the table and --encoding', async () => {
    const out = tempDir('exit-plan-trust-');
    const r = await runCli(['warehouse', 'export', '--db', db(ascii), '--out', out, '--quiet'], pgEnv);
    assert.equal(r.code, 1);
    assert.equal(
      r.stderr,
      'exit-plan: Table "public"."people" holds text that is not valid UTF-8 (invalid byte sequence for encoding "UTF8": 0xe9), as a ' +
        'SQL_ASCII database allows: ' +
        'name the encoding its text is written in with --encoding, e.g. LATIN1 or WIN1252 (as pg_dump --encoding); no archive was ' +
        'written and the partial file was removed.\n',
    );
    assert.deepEqual(listFiles(out), []);
  });

  it('--encoding WIN1252 (or LATIN1) converts a SQL_ASCII database to UTF-8 CSV, as pg_dump --encoding', async () => {
    for (const [encoding, euro] of [
      ['WIN1252', '€uro'],
      ['LATIN1', '\u0080uro'],
    ]) {
      const out = tempDir('exit-plan-trust-');
      const r = await runCli(['warehouse', 'export', '--db', db(ascii), '--out', out, '--encoding', encoding, '--json', '--quiet'], pgEnv);
      assert.equal(r.code, 0, r.stderr);
      const { dir, manifest } = unzipArchive((JSON.parse(r.stdout) as { archive: string }).archive);
      assert.equal(manifest.csv.encoding, 'UTF-8');
      assert.equal(fs.readFileSync(path.join(dir, 'public', 'people.csv'), 'utf8'), `id,name\n1,René\n2,${euro}\n3,plain\n`);
    }
  });

  it('a name that is not UTF-8 in a SQL_ASCII database: one sentence that does not promise --encoding fixes it', async () => {
    const pg = await postgres();
    const admin = await pg.client();
    try {
      await admin.query(`CREATE DATABASE trust_ascii_names ENCODING 'SQL_ASCII' TEMPLATE template0 LC_COLLATE 'C' LC_CTYPE 'C'`);
    } finally {
      await admin.end();
    }
    // psql sends the name's bytes as they are (a LATIN1 é), as an old application would have.
    const sql = Buffer.concat([Buffer.from('CREATE TABLE "caf'), Buffer.from([0xe9]), Buffer.from('" (id int);\n')]);
    execFileSync('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', db(pg.database('trust_ascii_names'))], {
      input: sql,
      env: { ...process.env, ...pgEnv, PGCLIENTENCODING: 'SQL_ASCII' },
    });
    for (const args of [[], ['--encoding', 'LATIN1']]) {
      const r = await runCli(
        ['warehouse', 'export', '--db', db(pg.database('trust_ascii_names')), '--out', tempDir('exit-plan-trust-'), '--quiet', ...args],
        pgEnv,
      );
      assert.equal(r.code, 1);
      assert.equal(
        r.stderr,
        'exit-plan: The database "trust_ascii_names" has names or definitions (of schemas, tables, columns, defaults or constraints) ' +
          'that are not valid UTF-8 (invalid byte sequence for encoding "UTF8": 0xe9), ' +
          'as a SQL_ASCII database allows: rename or redefine them in ASCII or UTF-8; no archive was written.\n',
      );
    }
  });

  it('--encoding is refused for a database that is not SQL_ASCII, and an unknown name is one sentence', async () => {
    const utf8 = await runCli(
      ['warehouse', 'export', '--db', db(views), '--out', tempDir('exit-plan-trust-'), '--encoding', 'LATIN1', '--quiet'],
      pgEnv,
    );
    assert.equal(utf8.code, 1);
    assert.equal(
      utf8.stderr,
      'exit-plan: The database "trust_views" is UTF8, not SQL_ASCII: its server converts the text to UTF-8 itself, so no encoding needs ' +
        'to be named; nothing was exported.\n',
    );
    const unknown = await runCli(
      ['warehouse', 'export', '--db', db(ascii), '--out', tempDir('exit-plan-trust-'), '--encoding', 'EBCDIC', '--quiet'],
      pgEnv,
    );
    assert.equal(unknown.code, 1);
    assert.equal(
      unknown.stderr,
      'exit-plan: Unknown encoding "EBCDIC": give the encoding the text is written in as PostgreSQL names it, e.g. LATIN1, WIN1252, ' +
        'LATIN9, KOI8R or SJIS.\n',
    );
  });
});

describe('trust: text encodings (core)', () => {
  const convert = async (chunks: Buffer[], name: string) => {
    async function* source() {
      yield* chunks;
    }
    const out: Buffer[] = [];
    for await (const chunk of toUtf8(source(), sourceEncoding(name), 'Table "public"."t"')) out.push(chunk);
    return Buffer.concat(out).toString('utf8');
  };

  it('converts characters split across COPY chunks, and names the table when the bytes are not that encoding', async () => {
    const sjis = Buffer.from([0x93, 0xfa, 0x96, 0x7b, 0x0a]); // 日本\n in Shift JIS
    assert.equal(await convert([sjis.subarray(0, 1), sjis.subarray(1, 3), sjis.subarray(3)], 'SJIS'), '日本\n');
    await assert.rejects(convert([Buffer.from([0x41, 0x81, 0x0a])], 'SJIS'), {
      message: 'Table "public"."t" holds text that is not valid SJIS: name the encoding its text is really written in.',
    });
  });
});
