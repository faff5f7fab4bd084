// Issue 10, "errors a user can act on": what the CLI prints when names, options, URLs, configs and data are hostile.
// Everything runs the built dist/cli.js against the embedded PostgreSQL, as a user would.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import type { Client } from 'pg';
import type { PgConnectionOptions } from '../src/exporters';
import { connectionUrl } from '../scripts/lib/embeddedPostgres';
import { listFiles, tempDir } from './helpers/archive';
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
    await client.query(`CREATE TABLE ${evil} ("col\x07umn" int); INSERT INTO ${evil} VALUES (1), (2)`);
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
      assert.equal(parsed.tables[0].columns[0].name, 'col\x07umn');
    });

    it('warehouse export: progress on stderr and the summary on stdout show the name escaped', async () => {
      const out = tempDir('exit-plan-trust-');
      const r = await runCli(['warehouse', 'export', '--db', connectionUrl(source), '--out', out], env);
      assert.equal(r.code, 0, r.stderr);
      assert.doesNotMatch(r.stderr, RAW_CONTROL);
      assert.doesNotMatch(r.stdout, RAW_CONTROL);
      assert.ok(r.stderr.split('\n').some((l) => l.includes(`Table 1/1 public.${EVIL_SHOWN} — `)), r.stderr);
      const summary = r.stdout.split('\n');
      assert.equal(summary[1], `  public.${EVIL_SHOWN}             2 rows      12 B  1 file`);
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
      assert.equal(r.stderr, `exit-plan: User "trust_reader" has no SELECT permission on table "public"."${EVIL_SHOWN}"; nothing was exported.\n`);
      assert.deepEqual(listFiles(out), []);
    });
  });

  describe('a bad option value prints one line and a --help hint', () => {
    const cases: [string[], string][] = [
      [['warehouse', 'export', '--jobs', 'x'], `error: option '--jobs <n>' argument 'x' is invalid. expected a whole number from 1 to 16.\nRun 'exit-plan warehouse export --help' for usage.\n`],
      [['warehouse', 'tables', '--bogus'], `error: unknown option '--bogus'\nRun 'exit-plan warehouse tables --help' for usage.\n`],
      [['azure', 'size', '--container', 'c', '--folder'], `error: option '--folder <prefix>' argument missing\nRun 'exit-plan azure size --help' for usage.\n`],
      [['datasets', 'report', '--shrink-alert', '2', 'dir'], `error: option '--shrink-alert <share>' argument '2' is invalid. expected a share from 0 to 1 (e.g. 0.2) or a percentage (e.g. 20%).\nRun 'exit-plan datasets report --help' for usage.\n`],
      [['backups', 'rotate', '--dir', 'd', '--keep-last', 'x'], `error: option '--keep-last <n>' argument 'x' is invalid. expected a whole number from 0 up, or "unlimited".\nRun 'exit-plan backups rotate --help' for usage.\n`],
      [['nope'], `error: unknown command 'nope'\nRun 'exit-plan --help' for usage.\n`],
    ];
    for (const [args, stderr] of cases) {
      it(`exit-plan ${args.join(' ')}`, async () => {
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
        'exit-plan: warning: the --db URL holds a password, which other users can see in `ps` and which stays in the shell history; give it in PGPASSWORD instead.\n',
      );
      assert.ok(r.stdout.includes(`public.${EVIL_SHOWN}`));
    });

    const port = () => source.port;
    const urlCases: [string, () => string, string][] = [
      ['a % that starts no escape in the password', () => `postgres://postgres:50%off@127.0.0.1:${port()}/trust_errors`, 'The password in the database URL has a % that does not start a valid escape: write a literal % as %25.'],
      ['a broken escape in the user name', () => `postgres://ro%zzt@127.0.0.1:${port()}/trust_errors`, 'The user name in the database URL has a % that does not start a valid escape: write a literal % as %25.'],
      ['%00 in the database name', () => `postgres://postgres@127.0.0.1:${port()}/trust%00errors`, 'The database name in the database URL contains %00 (a NUL character), which PostgreSQL does not allow.'],
      ['%00 in the password', () => `postgres://postgres:pw%00@127.0.0.1:${port()}/trust_errors`, 'The password in the database URL contains %00 (a NUL character), which PostgreSQL does not allow.'],
      [
        'a port out of range',
        () => 'postgres://postgres@127.0.0.1:99999/trust_errors',
        'The database URL is not valid: expected postgres://user@host:port/database, with a port from 1 to 65535 and any @, /, ?, # or % in the user name or password written as %40, %2F, %3F, %23 or %25.',
      ],
      ['port 0', () => 'postgres://postgres@127.0.0.1:0/trust_errors', 'The port "0" is not a number from 1 to 65535.'],
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
