// Command backups in the real extension host (a service's own dump tool; here tar and printf stand in for mongodump,
// which cannot run on this project's machines): Back Up Now runs a target's commands into
// <name>_backup__<time>.<extension> with a checksum sidecar; the tree shows them in their groups; Verify runs the
// verifyCmd of the target's definition; Restore runs its restoreCmd only after the modal (which shows the command,
// masked) and the command's name typed, and refuses a command without restoreCmd.
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { listFiles } from '../../helpers/archive';
import { sha256Of } from '../../helpers/backups';
import { ScriptedUser, SettingsSnapshot, TempDirs, eventually, exitPlan, setSetting, treeItems } from '../host';

const TARGET = 'Kobo services';
const STAMP = String.raw`\d{4}\.\d{2}\.\d{2}\.\d{2}_\d{2}`;
/** A password in the restore command (as a URL's), which the confirmation shows masked. */
const PASSWORD = 'kobo-s3cret-pw';
const MEDIA: Record<string, string> = {
  'attachments/photo #1 ü.jpg': 'jpeg bytes',
  'notes.txt': 'line one\nline two\n',
};

/** Records each warning's `detail` (a modal's text under its message), after the ScriptedUser's stubs are in place. */
function recordWarningDetails(): string[] {
  const seen: string[] = [];
  const win = vscode.window as unknown as { showWarningMessage: (message: string, ...rest: unknown[]) => Thenable<unknown> };
  const show = win.showWarningMessage;
  win.showWarningMessage = (message, ...rest) => {
    const options = rest[0] as vscode.MessageOptions | undefined;
    if (typeof options === 'object' && options !== null && 'detail' in options) seen.push(options.detail ?? '');
    return show(message, ...rest);
  };
  return seen;
}

/** A tooltip's text as the user reads it (markdown escapes and non-breaking spaces undone). */
function plainText(md: vscode.MarkdownString): string {
  return md.value.replace(/&nbsp;/g, ' ').replace(/\\(.)/g, '$1');
}

describe('Command backups (real VS Code, real sh and tar)', function () {
  this.timeout(60_000);
  const temp = new TempDirs();
  let settings: SettingsSnapshot;
  let media: string;
  let dir: string;
  let restored: string;
  let targets: Record<string, unknown>[];

  before(async () => {
    settings = new SettingsSnapshot(['exitPlan.backups.targets', 'exitPlan.backups.verifyAfterBackup']);
    await setSetting('exitPlan.backups.verifyAfterBackup', undefined);
    media = temp.make('command-media');
    for (const [name, body] of Object.entries(MEDIA)) {
      fs.mkdirSync(path.dirname(path.join(media, name)), { recursive: true });
      fs.writeFileSync(path.join(media, name), body);
    }
    dir = temp.make('command-backups');
    restored = temp.make('command-restored');
    targets = [
      {
        name: TARGET,
        dir,
        commands: [
          {
            // To stdout, as `mongodump --archive --gzip` does.
            name: 'media',
            cmd: `tar -cf - -C '${media}' .`,
            extension: 'tar',
            verifyCmd: 'tar -tf "$BACKUP_PATH" > /dev/null',
            restoreCmd: `URI='mongodb://kobo:${PASSWORD}@127.0.0.1/kobo' tar -xf "$BACKUP_PATH" -C '${restored}'`,
            timeout: '1 min',
          },
          {
            // To $OUTPUT_PATH, as `mongodump --archive="$OUTPUT_PATH"` does; no restoreCmd.
            name: 'notes',
            cmd: `printf 'hello from notes' > "$OUTPUT_PATH"`,
            extension: 'notes.txt',
            verifyCmd: 'grep -q hello "$BACKUP_PATH"',
          },
        ],
      },
    ];
    await setSetting('exitPlan.backups.targets', targets);
  });

  after(async () => {
    await settings.restore();
    temp.removeAll();
  });

  async function targetNode() {
    const api = await exitPlan();
    return eventually('the target in the Backups view', async () => (await treeItems(api.backupsTree)).find((t) => t.label === TARGET));
  }

  async function backupRows() {
    const api = await exitPlan();
    const groups = await treeItems(api.backupsTree, (await targetNode()).node);
    return Promise.all(groups.map(async (g) => ({ group: g, backups: await treeItems(api.backupsTree, g.node) })));
  }

  it('Back Up Now runs each command into <name>_backup__<time>.<extension> with its sidecar; the tree shows them verified', async () => {
    const target = await targetNode();
    assert.equal(target.contextValue, 'backupTargetWithRestore');
    const user = new ScriptedUser();
    try {
      await vscode.commands.executeCommand('exitPlan.backUpNow', target.node);
      user.assertNoErrors();
    } finally {
      user.done();
    }
    assert.equal(user.shown.length, 1);
    const m = new RegExp(
      String.raw`^Backed up "${TARGET}", verified: (media_backup__${STAMP}\.tar) \(.+\), (notes_backup__${STAMP}\.notes\.txt) \(.+\)\.$`,
    ).exec(user.shown[0].message);
    assert.ok(m, user.shown[0].message);
    const [, tar, notes] = m;
    assert.deepEqual(
      fs.readdirSync(dir).sort(),
      [tar, `${tar}.json`, notes, `${notes}.json`].sort(),
      'the backups and sidecars, nothing else',
    );
    for (const file of [tar, notes]) {
      const sidecar = JSON.parse(fs.readFileSync(path.join(dir, `${file}.json`), 'utf8')) as {
        sha256: string;
        bytes: number;
        verification?: { state: string };
      };
      assert.equal(sidecar.sha256, sha256Of(path.join(dir, file)), file);
      assert.equal(sidecar.bytes, fs.statSync(path.join(dir, file)).size);
      assert.equal(sidecar.verification?.state, 'verified', file);
    }
    assert.equal(fs.readFileSync(path.join(dir, notes), 'utf8'), 'hello from notes');

    // Groups in the order of their newest backup; here by label.
    const rows = (await backupRows()).sort((a, b) => a.group.label.localeCompare(b.group.label));
    assert.deepEqual(
      rows.map((r) => [r.group.label, r.group.contextValue, r.backups.map((b) => b.contextValue)]),
      [
        ['Command media', 'backupGroupCommand', ['backupCommand']],
        ['Command notes', 'backupGroupCommand', ['backupCommand']],
      ],
    );
    for (const r of rows) assert.match(r.backups[0].description, / · verified$/);
    // The group's tooltip: the target's commands (the password masked), how they are verified and restored.
    const api = await exitPlan();
    const tooltip = plainText((await api.backupsTree.getTreeItem(rows[0].group.node)).tooltip as vscode.MarkdownString);
    assert.match(tooltip, /\*\*Restore:\*\* URI='mongodb:\/\/kobo:…@127\.0\.0\.1\/kobo' tar -xf "\$BACKUP_PATH" -C /);
    assert.ok(!tooltip.includes(PASSWORD), 'the password is masked');
    const notesTooltip = plainText((await api.backupsTree.getTreeItem(rows[1].group.node)).tooltip as vscode.MarkdownString);
    assert.match(notesTooltip, /not from VS Code \(no restoreCmd\)/);
  });

  it('Verify runs the verifyCmd of the target’s definition (a changed one applies at once) and says which failed', async () => {
    // The notes' verifyCmd now looks for a word the backup does not hold.
    const changed = structuredClone(targets);
    (changed[0].commands as Record<string, unknown>[])[1].verifyCmd = 'grep -q goodbye "$BACKUP_PATH"';
    await setSetting('exitPlan.backups.targets', changed);
    try {
      const notes = await eventually('the notes group', async () => (await backupRows()).find((r) => r.group.label === 'Command notes'));
      const user = new ScriptedUser();
      try {
        await vscode.commands.executeCommand('exitPlan.verifyBackups', notes.group.node);
      } finally {
        user.done();
      }
      assert.deepEqual(
        user.shown.map((s) => s.severity),
        ['warning'],
      );
      assert.match(
        user.shown[0].message,
        new RegExp(
          String.raw`^1 of 1 backups of "${TARGET}" failed verification; first: notes_backup__${STAMP}\.notes\.txt: Checksum matches but `,
        ),
      );
      const after = await eventually('the failed state in the tree', async () => {
        const row = (await backupRows()).find((r) => r.group.label === 'Command notes');
        return row && / · failed$/.test(row.backups[0].description) ? row : undefined;
      });
      assert.ok(after);
    } finally {
      await setSetting('exitPlan.backups.targets', targets);
    }
    // With the target's own verifyCmd again, it verifies.
    const notes = (await backupRows()).find((r) => r.group.label === 'Command notes')!;
    const again = new ScriptedUser();
    try {
      await vscode.commands.executeCommand('exitPlan.verifyBackups', notes.backups[0].node);
      again.assertNoErrors();
    } finally {
      again.done();
    }
    assert.match(again.shown[0].message, /^notes_backup__.* is verified: Checksum matches and the verify command accepted it\.$/);
  });

  it('Restore runs the restoreCmd only after the modal and the command’s name typed; without restoreCmd it refuses', async () => {
    const media = (await backupRows()).find((r) => r.group.label === 'Command media')!.backups[0];
    const file = (media.node as { entry: { name: string } }).entry.name;
    const question = new RegExp(`^Restore ${file.replace(/\./g, '\\.')} with the restore command of "media"\\?$`);
    const typed = new RegExp(`^Restore ${file.replace(/\./g, '\\.')} \\| Type the command's name "media"`);

    // Cancelled at the modal, then at the typed name: nothing runs.
    for (const answers of [
      [{ when: question, answer: undefined }],
      [
        { when: question, answer: 'Continue…' },
        { when: typed, answer: undefined },
      ],
    ]) {
      const user = new ScriptedUser().answer(...answers);
      try {
        await vscode.commands.executeCommand('exitPlan.restoreBackup', media.node);
        user.assertNoErrors();
      } finally {
        user.done();
      }
      assert.deepEqual(fs.readdirSync(restored), [], 'nothing restored');
    }

    const user = new ScriptedUser().answer({ when: question, answer: 'Continue…' }, { when: typed, answer: 'media' });
    const details = recordWarningDetails();
    try {
      await vscode.commands.executeCommand('exitPlan.restoreBackup', media.node);
      user.assertNoErrors();
    } finally {
      user.done();
    }
    assert.equal(details.length, 1);
    assert.match(details[0], /^Verified: Checksum matches and the verify command accepted it\./);
    assert.match(details[0], /tar -xf "\$BACKUP_PATH" -C /, 'the command that runs is shown');
    assert.ok(!details[0].includes(PASSWORD), 'masked');
    assert.deepEqual(user.shown.slice(-1), [{ severity: 'information', message: `Restored ${file} with the restore command of "media".` }]);
    assert.deepEqual(listFiles(restored), Object.keys(MEDIA).sort());
    for (const [name, body] of Object.entries(MEDIA)) assert.equal(fs.readFileSync(path.join(restored, name), 'utf8'), body, name);

    // The notes have no restoreCmd: one sentence, nothing asked.
    const notes = (await backupRows()).find((r) => r.group.label === 'Command notes')!.backups[0];
    const refused = new ScriptedUser();
    try {
      await vscode.commands.executeCommand('exitPlan.restoreBackup', notes.node);
    } finally {
      refused.done();
    }
    assert.deepEqual(
      refused.errors().map((e) => e.message),
      [
        `The command "notes" of backup target "${TARGET}" has no restoreCmd: add one to it in exitPlan.backups.targets to restore ` +
          `${(notes.node as { entry: { name: string } }).entry.name} from VS Code; nothing was changed.`,
      ],
    );
  });

  it('a command that fails, or hangs past its timeout, leaves no file and says so in one error; the hung one is stopped', async () => {
    const broken = temp.make('command-broken');
    await setSetting('exitPlan.backups.targets', [
      ...targets,
      {
        name: 'Broken service',
        dir: broken,
        commands: [{ name: 'mongo', cmd: "echo 'cannot reach mongo' >&2; exit 3", extension: 'mongorestore.tar.gz' }],
      },
      {
        name: 'Hung service',
        dir: broken,
        // A duration no other process here has, to find it afterwards.
        commands: [{ name: 'hung', cmd: 'sleep 37.25', extension: 'bin', timeout: 1 }],
      },
    ]);
    try {
      for (const [name, why] of [
        ['Broken service', /\b3\b/],
        ['Hung service', /ran longer than 1 second and was stopped/],
      ] as const) {
        const user = new ScriptedUser();
        try {
          await vscode.commands.executeCommand('exitPlan.backUpNow', { targetName: name });
        } finally {
          user.done();
        }
        const errors = user.errors().map((e) => e.message);
        assert.equal(errors.length, 1, JSON.stringify(user.shown));
        assert.match(errors[0], why);
        assert.doesNotMatch(errors[0], /\.\s+\S/, `one sentence: ${errors[0]}`);
        assert.deepEqual(fs.readdirSync(broken), [], `${name}: nothing left in the folder`);
      }
      const ps = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' });
      assert.ok(!ps.includes('sleep 37.25'), 'the hung command was stopped');
    } finally {
      await setSetting('exitPlan.backups.targets', targets);
    }
  });

  it('Test Backup Target looks for each command’s program without running it; a missing one offers Edit Backup Target', async () => {
    const ready = new ScriptedUser();
    try {
      await vscode.commands.executeCommand('exitPlan.testBackupTarget', { targetName: TARGET });
      ready.assertNoErrors();
    } finally {
      ready.done();
    }
    assert.match(
      ready.shown[0]?.message ?? '',
      new RegExp(`^Backup target "${TARGET}" is ready to back up: .* · ✓ tar found · ✓ printf found\\.$`),
    );

    const missing = temp.make('command-missing');
    await setSetting('exitPlan.backups.targets', [
      ...targets,
      {
        name: 'Kobo mongo',
        dir: missing,
        commands: [{ name: 'mongo', cmd: 'mongodump --archive --gzip', extension: 'mongorestore.tar.gz' }],
      },
    ]);
    const buttons: string[][] = [];
    const failing = new ScriptedUser();
    const win = vscode.window as unknown as { showErrorMessage: (message: string, ...items: unknown[]) => Thenable<unknown> };
    const show = win.showErrorMessage;
    win.showErrorMessage = (message, ...items) => {
      buttons.push(items.filter((i): i is string => typeof i === 'string'));
      return show(message, ...items);
    };
    try {
      await vscode.commands.executeCommand('exitPlan.testBackupTarget', { targetName: 'Kobo mongo' });
    } finally {
      failing.done();
      await setSetting('exitPlan.backups.targets', targets);
    }
    assert.deepEqual(
      failing.errors().map((e) => e.message),
      ['Backup target "Kobo mongo" failed 1 of 3 checks: The command "mongo" starts with mongodump, which is not found on PATH.'],
    );
    assert.deepEqual(buttons, [['Edit Backup Target', 'Show Log']]);
    assert.deepEqual(fs.readdirSync(missing), [], 'nothing was run or written');
  });
});
