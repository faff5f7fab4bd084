// The Exit Plan view's pieces that run without VS Code: the exit report page's message guard, and the writer
// that appends a part to a plan file a person wrote (Add Storage Remote Part): what was there stays byte for
// byte, the new text is read back by the real plan parser, and a refused or failed write changes nothing.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { exit, rclone } from '../src/exporters';
import { appendTable, appendToPlanFile, freePartName, partNameProblem, type AppendedTable } from '../src/commands/planAppend';
import { isExitReportMessage } from '../src/views/webviewMessages';
import { tempDir } from './helpers/archive';

describe('exit report messages', () => {
  it('accepts ready, refresh, revealFolder and openMarkdown, and nothing else', () => {
    for (const m of [{ type: 'ready' }, { type: 'refresh' }, { type: 'revealFolder' }, { type: 'openMarkdown' }]) {
      assert.ok(isExitReportMessage(m), JSON.stringify(m));
    }
    for (const m of [undefined, null, 'ready', {}, { type: 'run' }, { type: 'openFile', file: '/etc/passwd' }, { type: ['ready'] }]) {
      assert.ok(!isExitReportMessage(m), JSON.stringify(m) ?? String(m));
    }
  });
});

/** A plan as a person writes one: comments everywhere, odd spacing, a trailing comment and no final newline. */
const HAND_WRITTEN = [
  '# Our exit plan — reviewed by Ana, 2024',
  'out   = "./exits"   # where runs go',
  '',
  '[[command]]',
  '# keep this first',
  'name = "configs"',
  'cmd = \'tar -cf "$OUTPUT_DIR/etc.tar" /etc/caprover\'',
  '',
  '# the end: nothing below yet',
].join('\n');

const COMMAND_TABLE = (name: string, cmd: string): AppendedTable => ({
  comments: ['Added by a test.', 'Second comment line'],
  kind: 'command',
  keys: [
    ['name', name],
    ['cmd', cmd],
  ],
});

describe('appending a part to a hand-written exit plan', () => {
  let dir: string;
  let file: string;

  beforeEach(() => {
    dir = tempDir('exit-plan-append-');
    file = path.join(dir, 'exit-plan.toml');
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** The files in the plan's folder (a temporary file left behind would show here). */
  const entries = () => fs.readdirSync(dir).sort();

  it('keeps the old text byte for byte and adds the table after one blank line, which the plan parser reads back', async () => {
    fs.writeFileSync(file, HAND_WRITTEN);
    // Quotes, a backslash, a newline, DEL and non-Latin letters: what TOML must escape, and what it must not mangle.
    const cmd = 'echo "ünïcødé \\ 東京" > "$OUTPUT_DIR/a b.txt"\nprintf \x7f';
    const result = await appendToPlanFile(file, COMMAND_TABLE('dashboards', cmd), () => undefined);
    const text = fs.readFileSync(file, 'utf8');
    assert.ok(text.startsWith(`${HAND_WRITTEN}\n\n`), 'the old text, a newline it lacked, and one blank line');
    assert.equal(
      text.slice(HAND_WRITTEN.length + 2),
      [
        '# Added by a test.',
        '# Second comment line',
        '[[command]]',
        'name = "dashboards"',
        'cmd = "echo \\"ünïcødé \\\\ 東京\\" > \\"$OUTPUT_DIR/a b.txt\\"\\nprintf \\u007f"',
        '',
      ].join('\n'),
    );
    const plan = await exit.readPlan(file);
    assert.deepEqual(
      plan.parts.map((p) => [p.kind, p.name, p.kind === 'command' ? p.cmd : undefined]),
      [
        ['command', 'configs', 'tar -cf "$OUTPUT_DIR/etc.tar" /etc/caprover'],
        ['command', 'dashboards', cmd],
      ],
    );
    const lines = text.split('\n');
    assert.equal(lines[result.firstLine - 1], '[[command]]');
    assert.equal(lines[result.lastLine - 1].slice(0, 6), 'cmd = ');
    assert.equal(result.plan.parts.length, 2);
    assert.deepEqual(entries(), ['exit-plan.toml'], 'no temporary file left');
  });

  it('writes in the file’s own line ends (CRLF) and adds no second blank line', () => {
    const crlf = 'out = "./exits"\r\n\r\n[[backups]]\r\nname = "b"\r\ndir = "/srv/backups"\r\n\r\n';
    const { text, firstLine } = appendTable(crlf, COMMAND_TABLE('c', 'true'));
    assert.ok(text.startsWith(crlf));
    assert.equal(text.slice(crlf.length), '# Added by a test.\r\n# Second comment line\r\n[[command]]\r\nname = "c"\r\ncmd = "true"\r\n');
    assert.equal(text.split('\r\n')[firstLine - 1], '[[command]]');
    assert.equal(
      appendTable('', COMMAND_TABLE('c', 'true')).text.split('\n')[0],
      '# Added by a test.',
      'an empty file gets no blank line first',
    );
  });

  it('changes nothing when the new text does not parse as a plan (a name used twice), and says so in one sentence', async () => {
    fs.writeFileSync(file, HAND_WRITTEN);
    await assert.rejects(
      appendToPlanFile(file, COMMAND_TABLE('configs', 'true'), () => undefined),
      (err: Error) => {
        assert.match(err.message, /the part name "configs" is used twice .*; the plan was left as it is\.$/);
        assert.doesNotMatch(err.message, /\.\s+\S/, 'one sentence');
        return true;
      },
    );
    assert.equal(fs.readFileSync(file, 'utf8'), HAND_WRITTEN);
    assert.deepEqual(entries(), ['exit-plan.toml']);
  });

  it('changes nothing when the parsed plan is not what was meant', async () => {
    fs.writeFileSync(file, HAND_WRITTEN);
    await assert.rejects(
      appendToPlanFile(file, COMMAND_TABLE('other', 'true'), () => 'The new part is not as written'),
      (err: Error) => err.message === 'The new part is not as written; the plan was left as it is.',
    );
    assert.equal(fs.readFileSync(file, 'utf8'), HAND_WRITTEN);
    assert.deepEqual(entries(), ['exit-plan.toml']);
  });

  it('keeps a symbolic link to the plan a link, and the plan’s mode', async () => {
    const real = path.join(dir, 'plans', 'real plan.toml');
    fs.mkdirSync(path.dirname(real));
    fs.writeFileSync(real, HAND_WRITTEN, { mode: 0o640 });
    fs.chmodSync(real, 0o640);
    fs.symlinkSync(real, file);
    await appendToPlanFile(file, COMMAND_TABLE('more', 'true'), () => undefined);
    assert.ok(fs.lstatSync(file).isSymbolicLink(), 'still a link');
    assert.match(fs.readFileSync(real, 'utf8'), /name = "more"/);
    assert.equal(fs.statSync(real).mode & 0o777, 0o640);
    assert.deepEqual(fs.readdirSync(path.dirname(real)), ['real plan.toml']);
  });

  it('appends an [[rclone]] part whose remote (quotes, a colon, non-Latin letters) the plan parser reads back unchanged', async () => {
    fs.writeFileSync(file, HAND_WRITTEN);
    const remote = rclone.buildRemote('webdav', { url: "https://cloud.example.org/dav/files/ana's", path: '/Fotos/東京 2024/' });
    assert.equal(remote, ":webdav,url='https://cloud.example.org/dav/files/ana''s':Fotos/東京 2024/");
    const table: AppendedTable = {
      comments: ['WebDAV'],
      kind: 'rclone',
      keys: [
        ['name', 'fotos'],
        ['remote', remote],
      ],
    };
    const { plan } = await appendToPlanFile(file, table, () => undefined);
    const part = plan.parts.find((p) => p.name === 'fotos');
    assert.deepEqual(part && { kind: part.kind, remote: part.kind === 'rclone' ? part.remote : undefined }, { kind: 'rclone', remote });
    assert.deepEqual(
      (await exit.readPlan(file)).parts.map((p) => p.name),
      ['configs', 'fotos'],
    );
  });

  it('refuses unsafe or taken part names and finds a free one', () => {
    assert.equal(partNameProblem('photos', ['photos-2']), undefined);
    assert.match(partNameProblem('photos', ['photos'])!, /has a part "photos" already/);
    assert.match(partNameProblem('my photos', [])!, /letters, digits/);
    assert.match(partNameProblem('..', [])!, /letters, digits/);
    assert.match(partNameProblem('', [])!, /Give the part a name/);
    assert.equal(freePartName('My Bucket/photos ü', ['My-Bucket-photos']), 'My-Bucket-photos-2');
    assert.equal(freePartName('..', []), 'part');
    assert.equal(freePartName('東京', []), 'part');
  });
});
