// The multi-step wizard (src/commands/wizard.ts) every Add and Edit command is built on, in the real extension
// host: true step counts, Back that keeps answers, skipped steps not counted, refused values, a title-bar
// button (Browse…), Escape that keeps nothing. The scripted user answers its quick inputs as a person would.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { runWizard, type WizardStep } from '../../../src/commands/wizard';
import { BACK, ScriptedUser } from '../host';

interface Answers {
  name: string;
  kind?: string;
  port: string;
  folder: string;
  tags: string[];
}

function steps(): WizardStep<Answers>[] {
  return [
    {
      kind: 'input',
      title: 'Name',
      prompt: 'A name',
      value: (s) => s.name,
      validate: (v) => (v.trim() === '' ? 'Enter a name.' : undefined),
      apply: (v, s) => (s.name = v.trim()),
    },
    {
      kind: 'pick',
      title: 'Kind',
      placeholder: 'What it is',
      items: () => [
        { id: 'server', label: 'Server' },
        { id: 'file', label: 'File' },
      ],
      selected: (s) => (s.kind ? [s.kind] : []),
      apply: ([item], s) => (s.kind = item.id),
    },
    {
      kind: 'input',
      title: 'Port',
      prompt: 'Port',
      when: (s) => s.kind === 'server',
      value: (s) => s.port,
      validate: (v) => (/^\d+$/.test(v) ? undefined : 'Enter a number.'),
      apply: (v, s) => (s.port = v),
    },
    {
      kind: 'input',
      title: 'Folder',
      prompt: 'Where',
      value: (s) => s.folder,
      apply: (v, s) => (s.folder = v),
      buttons: [
        {
          icon: new vscode.ThemeIcon('folder-opened'),
          tooltip: 'Browse…',
          run: async () => (await vscode.window.showOpenDialog({ title: 'Pick the folder', canSelectFolders: true }))?.[0]?.fsPath,
        },
      ],
    },
    {
      kind: 'pick',
      title: 'Tags',
      many: true,
      items: () => ['a', 'b', 'c'].map((t) => ({ id: t, label: t })),
      selected: (s) => s.tags,
      validate: (picked) => (picked.length === 0 ? 'Pick at least one.' : undefined),
      apply: (picked, s) => (s.tags = picked.map((p) => p.id)),
    },
  ];
}

const fresh = (): Answers => ({ name: '', port: '5432', folder: '/srv', tags: ['b'] });

describe('wizard (real VS Code quick inputs, scripted)', () => {
  it('counts only the steps that apply, and Back shows the answer given before', async () => {
    const user = new ScriptedUser().answer(
      // No kind yet: the port step (servers only) is not counted.
      { when: /^Try: Name \(1\/4\) \| A name$/, answer: 'first' },
      { when: /^Try: Kind \(2\/4\) \| What it is$/, answer: 'Server' },
      { when: /^Try: Port \(3\/5\) \| Port$/, answer: BACK },
      // Back on the kind: choose File, and the port step disappears from the count.
      { when: /^Try: Kind \(2\/5\)/, answer: 'File' },
      { when: /^Try: Folder \(3\/4\) \| Where$/, answer: BACK },
      { when: /^Try: Kind \(2\/4\)/, answer: BACK },
      { when: /^Try: Name \(1\/4\)/, answer: 'second' },
      { when: /^Try: Kind \(2\/4\)/, answer: 'File' },
      { when: /^Try: Folder \(3\/4\)/, answer: undefined, button: 'Browse…' },
      { when: /^Pick the folder$/, answer: '/data/picked' },
      { when: /^Try: Folder \(3\/4\)/, answer: '/data/picked' },
      { when: /^Try: Tags \(4\/4\)/, answer: 'a\nc' },
    );
    try {
      const result = await runWizard('Try', steps(), fresh());
      assert.deepEqual(result, { name: 'second', kind: 'file', port: '5432', folder: '/data/picked', tags: ['a', 'c'] });
    } finally {
      user.done();
    }
  });

  it('a refused value ends the wizard and is reported; Escape keeps nothing', async () => {
    const refused = new ScriptedUser().answer({ when: /^Try: Name \(1\/4\)/, answer: '  ' });
    const state = fresh();
    assert.equal(await runWizard('Try', steps(), state), undefined);
    assert.match(refused.refused.join('\n'), /^Try: Name \(1\/4\) \| A name: " {2}" is refused: Enter a name\.$/);
    refused.refused.splice(0);
    refused.done();

    const escaped = new ScriptedUser().answer(
      { when: /^Try: Name \(1\/4\)/, answer: 'kept' },
      { when: /^Try: Kind \(2\/4\)/, answer: undefined },
    );
    try {
      assert.equal(await runWizard('Try', steps(), fresh()), undefined);
    } finally {
      escaped.done();
    }
  });

  it('an Edit wizard starts from the saved values: Enter through every step keeps them', async () => {
    const saved: Answers = { name: 'db', kind: 'server', port: '6543', folder: '/backups', tags: ['a', 'b'] };
    const user = new ScriptedUser();
    // Answer each step with what it offers, as pressing Enter would.
    const offered: string[] = [];
    const win = vscode.window as unknown as Record<string, unknown>;
    const fakeBox = win.createInputBox as typeof vscode.window.createInputBox;
    const fakePick = win.createQuickPick as typeof vscode.window.createQuickPick;
    win.createInputBox = () => {
      const b = fakeBox();
      const show = b.show.bind(b);
      b.show = () => {
        offered.push(b.value);
        user.answer({ when: /./, answer: b.value });
        show();
      };
      return b;
    };
    win.createQuickPick = () => {
      const p = fakePick();
      const show = p.show.bind(p);
      p.show = () => {
        const chosen = p.canSelectMany ? p.selectedItems : p.activeItems;
        offered.push(chosen.map((i) => i.label).join('+'));
        user.answer({ when: /./, answer: chosen.map((i) => i.label).join('\n') });
        show();
      };
      return p;
    };
    try {
      const result = await runWizard('Edit', steps(), { ...saved, tags: [...saved.tags] });
      assert.deepEqual(offered, ['db', 'Server', '6543', '/backups', 'a+b']);
      assert.deepEqual(result, saved);
    } finally {
      user.done();
    }
  });
});
