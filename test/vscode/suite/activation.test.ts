import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { EXTENSION_ID, exitPlan } from '../host';

describe('activation (real VS Code)', () => {
  it('activates in the real extension host and registers every command of package.json', async () => {
    await exitPlan();
    const extension = vscode.extensions.getExtension(EXTENSION_ID)!;
    assert.equal(extension.isActive, true);
    const manifest = JSON.parse(fs.readFileSync(path.join(extension.extensionPath, 'package.json'), 'utf8')) as {
      contributes: { commands: { command: string }[] };
    };
    const declared = manifest.contributes.commands.map((c) => c.command);
    assert.ok(declared.length >= 28, `package.json declares ${declared.length} commands`);
    const registered = new Set(await vscode.commands.getCommands(true));
    assert.deepEqual(
      declared.filter((id) => !registered.has(id)),
      [],
      'commands declared but not registered',
    );
  });

  it('runs against VS Code 1.90 or later, as package.json promises', () => {
    const [major, minor] = vscode.version.split('.').map(Number);
    assert.ok(major > 1 || minor >= 90, vscode.version);
  });
});
