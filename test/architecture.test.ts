import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const root = path.resolve(__dirname, '../..');
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));

function sourceFiles(dir: string): string[] {
  return (fs.readdirSync(dir, { recursive: true }) as string[]).filter((f) => f.endsWith('.ts')).map((f) => path.join(dir, f));
}

describe('architecture', () => {
  it('the core (src/exporters) never imports vscode', () => {
    const offenders = sourceFiles(path.join(root, 'src/exporters')).filter((f) =>
      /from\s+['"]vscode['"]|require\(\s*['"]vscode['"]\s*\)|import\(\s*['"]vscode['"]\s*\)/.test(fs.readFileSync(f, 'utf8')),
    );
    assert.deepEqual(offenders, []);
  });

  it('activates lazily, never on "*"', () => {
    assert.ok(!(pkg.activationEvents ?? []).includes('*'));
  });

  it('names every command exitPlan.<verb> and gives it the Exit Plan category', () => {
    const commands: { command: string; category?: string }[] = pkg.contributes?.commands ?? [];
    assert.ok(commands.length > 0);
    for (const c of commands) {
      assert.match(c.command, /^exitPlan\.[a-z][A-Za-z]+$/);
      assert.equal(c.category, 'Exit Plan', c.command);
    }
  });

  it('every contributed command has a handler in the command table, and no handler is hidden', () => {
    const registry = fs.readFileSync(path.join(root, 'src/commands/registry.ts'), 'utf8');
    assert.ok(registry.includes('export const COMMANDS'), 'the command table lives in src/commands/registry.ts');
    const ids: string[] = (pkg.contributes?.commands ?? []).map((c: { command: string }) => c.command);
    for (const id of ids) assert.ok(registry.includes(`'${id}'`), `${id} is not in src/commands/registry.ts`);
    const inRegistry = [...registry.matchAll(/'(exitPlan\.[A-Za-z]+)'/g)].map((m) => m[1]);
    for (const id of inRegistry) assert.ok(ids.includes(id), `${id} is registered but not contributed in package.json`);
  });

  it('ships an allow-list .vscodeignore', () => {
    const lines = fs
      .readFileSync(path.join(root, '.vscodeignore'), 'utf8')
      .split('\n')
      .filter((l) => l.trim() && !l.startsWith('#'));
    assert.equal(lines[0], '**');
    assert.ok(lines.includes('!dist/extension.js'));
  });

  it('ships every file package.json points at (the activity-bar and view icons): vsce lists them in the package', function () {
    this.timeout(60_000);
    const c = pkg.contributes ?? {};
    const icons: string[] = [
      ...(c.viewsContainers?.activitybar ?? []).map((v: { icon: string }) => v.icon),
      ...Object.values(c.views ?? {}).flatMap((views) => (views as { icon?: string }[]).map((v) => v.icon)),
    ].filter((icon): icon is string => typeof icon === 'string' && !icon.startsWith('$('));
    assert.ok(icons.length >= 2, 'package.json names its icons');
    const listed = execFileSync(process.execPath, [require.resolve('@vscode/vsce/vsce'), 'ls', '--no-dependencies'], {
      cwd: root,
      encoding: 'utf8',
    }).split('\n');
    for (const icon of new Set(icons)) {
      assert.ok(fs.existsSync(path.join(root, icon)), `${icon} does not exist`);
      assert.ok(listed.includes(icon), `${icon} is not in the packaged extension (.vscodeignore)`);
    }
  });

  it('keeps settings free of secrets: no password, key or connection string setting', () => {
    const props = Object.keys(pkg.contributes?.configuration?.properties ?? {});
    assert.deepEqual(
      props.filter((p) => /password|secret|key$|connectionString/i.test(p)),
      [],
    );
  });
});
