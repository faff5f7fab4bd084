// Add Storage Remote Part in the real extension host: the quick pick of remote kinds, the fields of the kind picked
// (Back keeps answers), the part's name (unique in the plan); the [[rclone]] table appended to a hand-written plan
// whose text and comments stay as they were, read back by the plan parser; the view shows the new part. A secret
// typed into a field is refused, and a plan with unsaved edits or one that does not parse is left alone.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { exit } from '../../../src/exporters';
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
    settings = new SettingsSnapshot(['exitPlan.planFile']);
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
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
