// Add Storage Remote Part in the real extension host: the quick pick of remote kinds, the fields of the kind picked
// (Back keeps answers), the part's name (unique in the plan); the [[rclone]] table appended to a hand-written plan
// whose text and comments stay as they were, read back by the plan parser; the view shows the new part. A secret
// typed into a field is refused, and a plan with unsaved edits or one that does not parse is left alone.
import * as assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import * as vscode from 'vscode';
import { exit, rclone } from '../../../src/exporters';
import { S3RVER_KEYS, startS3rver } from '../../helpers/s3rver';
import { BACK, ScriptedUser, SettingsSnapshot, TempDirs, closeAllEditors, eventually, exitPlan, setSetting, treeItems } from '../host';

const TITLE = 'Add Storage Remote Part';
const S3 = 'Amazon S3 (or an S3-compatible service)';

/** A plan as a person writes one: comments, odd spacing, no final newline; its folder part is named "photos". */
const HAND_WRITTEN = [
  '# Exit plan of the field office — keep the comments!',
  'out = "./exits"    # runs go here',
  '',
  '[[folder]]',
  '# the photos on the shared disk',
  'name = "photos"',
  "path = './photos'",
].join('\n');

describe('Add Storage Remote Part (real VS Code)', function () {
  this.timeout(60_000);
  const temp = new TempDirs();
  let settings: SettingsSnapshot;
  let planFile: string;

  before(async () => {
    settings = new SettingsSnapshot(['exitPlan.planFile', 'exitPlan.rclonePath']);
    const dir = temp.make('exit-remote');
    planFile = path.join(dir, 'exit-plan.toml');
    fs.writeFileSync(planFile, HAND_WRITTEN);
    await setSetting('exitPlan.planFile', planFile);
  });

  after(async () => {
    await closeAllEditors();
    await settings.restore();
    temp.removeAll();
  });

  it('asks the kind and its fields (Back keeps answers), then a free name; appends [[rclone]], the old text untouched', async () => {
    const api = await exitPlan();
    const user = new ScriptedUser().answer(
      // Before a kind is picked, only the kind and the name are known steps.
      { when: new RegExp(`^${TITLE}: Kind \\(1/2\\) \\| Which storage to copy the files from`), answer: S3 },
      { when: new RegExp(`^${TITLE}: Bucket \\(2/6\\) \\| ${escape(S3)}: Bucket \\| my-bucket$`), answer: 'photos' },
      { when: new RegExp(`^${TITLE}: Folder in it \\(optional\\) \\(3/6\\)`), answer: BACK },
      // Back shows the bucket typed before.
      { when: new RegExp(`^${TITLE}: Bucket \\(2/6\\)`), answer: 'photos', value: 'photos' },
      { when: new RegExp(`^${TITLE}: Folder in it \\(optional\\) \\(3/6\\) \\| .*leave empty for none`), answer: '/2024/enquête ü/' },
      { when: new RegExp(`^${TITLE}: Region \\(optional\\) \\(4/6\\)`), answer: '' },
      { when: new RegExp(`^${TITLE}: Endpoint, for a service other than AWS \\(optional\\) \\(5/6\\)`), answer: 'http://127.0.0.1:9000' },
      // "photos" (the bucket) is taken by the folder part: the name offered is the next free one.
      { when: new RegExp(`^${TITLE}: Part name \\(6/6\\) \\| The part's name`), answer: 'field-photos', value: 'photos-2' },
    );
    try {
      await vscode.commands.executeCommand('exitPlan.addRclonePart');
      user.assertNoErrors();
      assert.equal(user.shown.length, 1, JSON.stringify(user.shown));
      assert.match(
        user.shown[0].message,
        /^Added the part "field-photos" to exit-plan\.toml; keys come from the environment: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY .*\.$/,
      );
    } finally {
      user.done();
    }

    const remote = ":s3,provider=Other,env_auth=true,endpoint='http://127.0.0.1:9000':photos/2024/enquête ü";
    const text = fs.readFileSync(planFile, 'utf8');
    assert.ok(text.startsWith(`${HAND_WRITTEN}\n\n`), 'the old text is untouched, followed by one blank line');
    const added = text.slice(HAND_WRITTEN.length + 2).split('\n');
    assert.match(added[0], /^# Amazon S3 \(or an S3-compatible service\), copied with rclone/);
    assert.match(added[1], /^# Keys come from the environment/);
    assert.deepEqual(added.slice(2), ['[[rclone]]', 'name = "field-photos"', `remote = ${JSON.stringify(remote)}`, '']);
    assert.doesNotMatch(text, /secret_access_key|access_key_id\s*=/, 'no key in the plan');
    const plan = await exit.readPlan(planFile);
    assert.deepEqual(
      plan.parts.map((p) => [p.kind, p.name, p.kind === 'rclone' ? p.remote : undefined]),
      [
        ['folder', 'photos', undefined],
        ['rclone', 'field-photos', remote],
      ],
    );

    // The plan is open with the new table selected.
    const editor = vscode.window.activeTextEditor;
    assert.equal(editor?.document.uri.fsPath, planFile);
    assert.equal(editor.document.lineAt(editor.selection.start.line).text, '[[rclone]]');
    assert.equal(editor.document.lineAt(editor.selection.end.line).text, `remote = ${JSON.stringify(remote)}`);

    const rows = await eventually('the new part in the view', async () => {
      const items = await treeItems(api.exitPlanTree);
      return items.some((r) => r.label === 'field-photos') ? items : undefined;
    });
    assert.deepEqual(
      rows.map((r) => [r.contextValue, r.label, r.description]),
      [
        ['exitPlanFile', 'exit-plan.toml', path.dirname(planFile)],
        ['exitPartStale', 'photos', 'folder · no verified copy'],
        ['exitPartStale', 'field-photos', 'rclone · no verified copy'],
      ],
    );
  });

  it('refuses a secret typed into a field, and then writes nothing', async () => {
    const before = fs.readFileSync(planFile, 'utf8');
    const user = new ScriptedUser().answer(
      { when: new RegExp(`^${TITLE}: Kind \\(1/2\\)`), answer: 'WebDAV server (Nextcloud, ownCloud, …)' },
      {
        when: new RegExp(`^${TITLE}: URL of the share \\(2/6\\)`),
        answer: 'https://ana:hunter2@cloud.example.org/remote.php/dav/files/ana',
      },
    );
    try {
      await vscode.commands.executeCommand('exitPlan.addRclonePart');
      user.assertNoErrors();
      assert.deepEqual(user.shown, []);
      assert.equal(user.refused.length, 1);
      assert.match(user.refused[0], /is refused: The remote's url is a URL with a password in it: secrets never go in the remote/);
      user.refused.splice(0);
    } finally {
      user.done();
    }
    assert.equal(fs.readFileSync(planFile, 'utf8'), before);
  });

  it('leaves a plan with unsaved edits alone, and one that does not parse, each with one sentence', async () => {
    const before = fs.readFileSync(planFile, 'utf8');
    const document = await vscode.workspace.openTextDocument(planFile);
    await vscode.window.showTextDocument(document);
    const edit = new vscode.WorkspaceEdit();
    edit.insert(document.uri, new vscode.Position(0, 0), '# an unsaved line\n');
    assert.ok(await vscode.workspace.applyEdit(edit));
    const dirty = new ScriptedUser();
    try {
      await vscode.commands.executeCommand('exitPlan.addRclonePart');
      assert.deepEqual(
        dirty.errors().map((e) => e.message),
        ['exit-plan.toml has unsaved changes in the editor: save or revert them, then add the part again (nothing was added).'],
      );
    } finally {
      dirty.done();
    }
    await vscode.commands.executeCommand('workbench.action.files.revert');
    await closeAllEditors();
    assert.equal(fs.readFileSync(planFile, 'utf8'), before);

    const broken = `${before}\n[[rclone]]\nname = "no-remote"\n`;
    fs.writeFileSync(planFile, broken);
    const user = new ScriptedUser();
    try {
      await vscode.commands.executeCommand('exitPlan.addRclonePart');
      const errors = user.errors().map((e) => e.message);
      assert.equal(errors.length, 1, JSON.stringify(errors));
      assert.match(errors[0], /exit-plan\.toml, line \d+: \[\[rclone\]\] "no-remote" has no "remote"/);
    } finally {
      user.done();
    }
    assert.equal(fs.readFileSync(planFile, 'utf8'), broken);
    fs.writeFileSync(planFile, before);
  });
  it('runs the added part: every object of an S3 bucket (s3rver) copied and verified, with rclone from exitPlan.rclonePath', async () => {
    const api = await exitPlan();
    const s3 = await startS3rver(['field-photos']);
    const dir = temp.make('exit-remote-run');
    const objects: Record<string, string> = { 'enquête ü/photo 1.jpg': 'jpeg bytes', 'notes.txt': 'line one\nline two\n' };
    const upload = temp.make('exit-remote-upload');
    for (const [name, body] of Object.entries(objects)) {
      fs.mkdirSync(path.dirname(path.join(upload, name)), { recursive: true });
      fs.writeFileSync(path.join(upload, name), body);
    }
    const { env, args } = rclone.rcloneEnvironment({ ...process.env, RCLONE_S3_LIST_URL_ENCODE: 'false' });
    // Not execFileSync: s3rver answers from this very process (the extension host), which must keep running.
    await promisify(execFile)('rclone', [...args, 'copy', upload, s3.remote('field-photos')], { env });
    // rclone through the setting: a wrapper that leaves a mark, then runs the real one.
    const marker = path.join(dir, 'rclone-ran-from-the-setting');
    const wrapper = path.join(dir, 'my rclone');
    fs.writeFileSync(wrapper, `#!/bin/sh\ntouch '${marker}'\nexec rclone "$@"\n`, { mode: 0o755 });
    // The secret goes where the notification says: the environment VS Code (here: its extension host) runs with.
    const saved = { ...process.env };
    Object.assign(process.env, {
      AWS_ACCESS_KEY_ID: S3RVER_KEYS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: S3RVER_KEYS.secretAccessKey,
      RCLONE_S3_LIST_URL_ENCODE: 'false',
      RCLONE_RETRIES: '1',
      RCLONE_LOW_LEVEL_RETRIES: '1',
    });
    const plan = path.join(dir, 'exit-plan.toml');
    fs.writeFileSync(plan, '# only a command part so far\n[[command]]\nname = "hello"\ncmd = "echo hi > \\"$OUTPUT_DIR/hi.txt\\""\n');
    await setSetting('exitPlan.planFile', plan);
    await setSetting('exitPlan.rclonePath', wrapper);
    try {
      const add = new ScriptedUser().answer(
        { when: new RegExp(`^${TITLE}: Kind \\(1/2\\)`), answer: S3 },
        { when: new RegExp(`^${TITLE}: Bucket \\(2/6\\)`), answer: 'field-photos' },
        { when: new RegExp(`^${TITLE}: Folder in it`), answer: '' },
        { when: new RegExp(`^${TITLE}: Region`), answer: '' },
        { when: new RegExp(`^${TITLE}: Endpoint`), answer: s3.endpoint },
        { when: new RegExp(`^${TITLE}: Part name \\(6/6\\)`), answer: 'field-photos', value: 'field-photos' },
      );
      try {
        await vscode.commands.executeCommand('exitPlan.addRclonePart');
        add.assertNoErrors();
      } finally {
        add.done();
      }
      await eventually('the part in the view', async () => (await treeItems(api.exitPlanTree)).some((r) => r.label === 'field-photos'));

      const run = new ScriptedUser();
      try {
        await vscode.commands.executeCommand('exitPlan.runExitPlan');
        run.assertNoErrors();
      } finally {
        run.done();
      }
      assert.match(run.shown[0]?.message ?? '', /^Exit run complete: all 2 parts verified \(.+\)\.$/, JSON.stringify(run.shown));
      assert.ok(fs.existsSync(marker), 'rclone ran from exitPlan.rclonePath');
      const out = path.join(dir, 'exits');
      const [folder] = fs.readdirSync(out).filter((f) => f.startsWith('exit_'));
      const part = path.join(out, folder, 'field-photos');
      for (const [name, body] of Object.entries(objects)) assert.equal(fs.readFileSync(path.join(part, 'files', name), 'utf8'), body, name);
      assert.ok(fs.existsSync(path.join(part, 'part.json')), 'verified');
      assert.ok(fs.existsSync(path.join(part, 'files-manifest.csv')));
      const row = await eventually('the part verified in the view', async () => {
        const items = await treeItems(api.exitPlanTree);
        const found = items.find((r) => r.label === 'field-photos');
        return found?.contextValue === 'exitPart' ? found : undefined;
      });
      assert.match(row.description, /^rclone · verified (just now|\d+ min ago) · [\d.]+ \w+$/);
    } finally {
      for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
      Object.assign(process.env, saved);
      await setSetting('exitPlan.rclonePath', undefined);
      await setSetting('exitPlan.planFile', planFile);
      await s3.stop();
    }
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
