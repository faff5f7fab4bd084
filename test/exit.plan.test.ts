import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { exit } from '../src/exporters';
import { tempDir } from './helpers/archive';

const FILE = '/plans/exit-plan.toml';

const at = (line: number, rest: string) => `${FILE}, line ${line}: ${rest}`;

function problem(text: string): string {
  try {
    exit.parsePlan(text, FILE);
  } catch (err) {
    return (err as Error).message;
  }
  assert.fail('expected the plan to be refused');
}

describe('exit plan file: parsing, the template, init', () => {
  it('reads the template back as one part of every kind, in file order, with paths resolved against the plan', () => {
    const plan = exit.parsePlan(exit.templatePlanText(), FILE);
    assert.deepEqual(
      plan.parts.map((p) => p.kind),
      ['warehouse', 'azure', 'rclone', 'folder', 'command', 'backups', 'datasets'],
    );
    assert.equal(plan.out, '/plans/exits');
    assert.equal(plan.keep, 3);
    assert.deepEqual(plan.maxAge, { text: '7 days', ms: 7 * 24 * 3600 * 1000 });
    assert.deepEqual(plan.notIncluded, ['Windmill run logs', 'CapRover configuration']);
    const [warehouse, azure, rclone, , command, , datasets] = plan.parts;
    assert.equal(rclone.kind === 'rclone' && rclone.remote, ':s3,provider=AWS,env_auth=true:media-bucket/uploads');
    assert.equal(warehouse.kind === 'warehouse' && warehouse.passwordEnv, 'WAREHOUSE_PASSWORD');
    assert.equal(azure.kind === 'azure' && azure.prefix, 'photos/');
    assert.deepEqual(command.kind === 'command' && command.timeout, { text: '30 min', ms: 30 * 60 * 1000 });
    assert.deepEqual(datasets.kind === 'datasets' && datasets.dirs, [path.join(os.homedir(), 'exports')]);
  });

  it('writes a plan from parts (as VS Code does) that reads back as the same parts', () => {
    const parts: exit.PlanTextPart[] = [
      { kind: 'azure', name: 'lake', connection: 'Production "storage"', container: 'data', prefix: 'a/b/' },
      { kind: 'warehouse', name: 'wh', connection: 'Warehouse', excludeColumns: ['*_token'], jobs: 2, includeViews: true },
      { kind: 'folder', name: 'files', path: '/srv/files' },
      { kind: 'rclone', name: 'media', remote: ":sftp,host=files.example.org,user='o''brien':/srv/média files", flags: ['--transfers=2'] },
      { kind: 'command', name: 'dash', cmd: 'echo "x\\y" > "$OUTPUT_DIR/a"', timeout: { text: '5 min', ms: 300_000 } },
      { kind: 'backups', name: 'backups', dir: '/srv/backups' },
      { kind: 'datasets', name: 'ds', dirs: ['/a', '/b'] },
    ];
    const plan = exit.parsePlan(exit.planText({ out: '/exits', notIncluded: ['logs'], parts }), FILE);
    assert.deepEqual(
      plan.parts.map(({ line: _line, ...p }) => p),
      parts,
    );
    assert.equal(plan.out, '/exits');
    assert.equal(plan.keep, undefined);
    assert.deepEqual(plan.notIncluded, ['logs']);
  });

  it('names the file, the line and the key of every problem, in one sentence', () => {
    assert.equal(
      problem('out = "x"\n\n[[folder]]\nname = "a"\npath = "p"\nbogus = 1\n'),
      at(6, `unknown key "bogus" in [[folder]] "a" (known keys: name, path, gzip).`),
    );
    assert.equal(
      problem('colour = "red"\n[[folder]]\nname = "a"\npath = "p"\n'),
      at(
        1,
        'unknown key "colour" (known keys: out, keep, max_age, not_included, ' +
          'warehouse, azure, rclone, folder, command, backups, datasets).',
      ),
    );
    assert.equal(
      problem('[[folder]]\nname = "a"\npath = "p"\n\n[[backups]]\nname = "a"\ndir = "d"\n'),
      at(6, `the part name "a" is used twice (first on line 2): each part needs its own.`),
    );
    assert.equal(problem('[[folder]]\nname = "x"\n'), at(1, `[[folder]] "x" has no "path".`));
    assert.equal(problem('[[backups]]\ndir = "d"\n'), at(1, `[[backups]] has no "name".`));
    assert.equal(
      problem('[[folder]]\nname = ".."\npath = "p"\n'),
      at(2, `the part name ".." is not a safe folder name: use letters, digits, ".", "-" and "_" only.`),
    );
    assert.equal(
      problem('[[folder]]\nname = "a b/c"\npath = "p"\n'),
      at(2, `the part name "a b/c" is not a safe folder name: use letters, digits, ".", "-" and "_" only.`),
    );
    assert.equal(
      problem('[[warehouse]]\nname = "w"\ndb = "postgres://u:hunter2@h/d"\n'),
      at(
        3,
        `"db" in [[warehouse]] "w" holds a password: secrets never go in the plan, name an environment variable in password_env instead.`,
      ),
    );
    assert.equal(
      problem('[[warehouse]]\nname = "w"\ndb = "postgres://u@h/d"\nconnection = "c"\n'),
      at(4, `[[warehouse]] "w" has both "db" and "connection": give one (db for the CLI, connection for a saved VS Code connection).`),
    );
    assert.equal(
      problem('[[warehouse]]\nname = "w"\ndb = "postgres://u@h/d"\nsubset = ["organizations id = 1"]\n'),
      at(
        4,
        `"subset" in [[warehouse]] "w": the subset "organizations id = 1" is not "schema.table: predicate": ` +
          `a colon must follow the table name.`,
      ),
    );
    assert.equal(
      problem('[[warehouse]]\nname = "w"\ndb = "postgres://u@h/d"\nsubset_skip = ["users(invited_by)"]\n'),
      at(4, `[[warehouse]] "w" has subset options but no "subset" roots.`),
    );
    assert.equal(
      problem('[[warehouse]]\nname = "w"\n'),
      at(1, `[[warehouse]] "w" needs "db" (postgres://user@host:port/database) or "connection" (a saved VS Code connection).`),
    );
    assert.equal(
      problem('[[warehouse]]\nname = "w"\ndb = "postgres://u@h/d"\npassword_env = "hunter2 secret"\n'),
      at(4, `"password_env" in [[warehouse]] "w" must be the name of an environment variable (letters, digits, _), not its value.`),
    );
    assert.equal(
      problem('max_age = "soon"\n[[folder]]\nname = "x"\npath = "p"\n'),
      at(1, `"max_age": "soon" is not a duration: write it like "1 day", "1 day, 2 hours" or "1w2d3h5m4s" (units w, d, h, m, s).`),
    );
    assert.equal(
      problem('keep = "three"\n[[folder]]\nname = "x"\npath = "p"\n'),
      at(1, `"keep" must be a whole number of complete runs (0 or absent keeps all).`),
    );
    assert.equal(problem('[[folder]]\nname = "x"\npath = 3\n'), at(3, `"path" in [[folder]] "x" must be a non-empty string.`));
    assert.equal(
      problem('[[command]]\nname = "x"\ncmd = "true"\ntimeout = "30 parsecs"\n'),
      at(4, `"timeout": "30 parsecs" is not a duration: write it like "1 day", "1 day, 2 hours" or "1w2d3h5m4s" (units w, d, h, m, s).`),
    );
    assert.equal(
      problem('out = "x"\n'),
      `${FILE} has no parts: add at least one [[warehouse]], [[azure]], [[rclone]], [[folder]], [[command]], [[backups]] or [[datasets]].`,
    );
    assert.equal(
      problem('out = \n'),
      `${FILE}, line 1, column 8 is not valid TOML: ` +
        'unexpected character, expecting string, number, datetime, boolean, inline array or inline table.',
    );
  });

  it('init writes the template and never over an existing file', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'exit-plan.toml');
    assert.equal(await exit.initPlan(file), file);
    const text = fs.readFileSync(file, 'utf8');
    assert.equal(text, exit.templatePlanText());
    fs.writeFileSync(file, 'mine');
    await assert.rejects(exit.initPlan(file), {
      message: `${file} already exists: the exit plan there is left as it is (edit it, or give another file).`,
    });
    assert.equal(fs.readFileSync(file, 'utf8'), 'mine');
    const none = path.join(dir, 'none.toml');
    await assert.rejects(exit.readPlan(none), {
      message: `There is no exit plan at ${none} (make one with "exit-plan plan init ${none}").`,
    });
  });
});
