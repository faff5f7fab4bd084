// Helpers for the integration suite, which runs inside the real extension host with the real `vscode` API.
// The user's answers to prompts are scripted (the UI suite types them into the real workbench instead);
// every message the extension shows is recorded, so a test can assert on it and fail on an unexpected error.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { ExitPlanTestApi } from '../../src/extension';

export const EXTENSION_ID = 'exit-plan.exit-plan';

export async function exitPlan(): Promise<ExitPlanTestApi> {
  const extension = vscode.extensions.getExtension<ExitPlanTestApi | undefined>(EXTENSION_ID);
  assert.ok(extension, `${EXTENSION_ID} is not installed in this VS Code`);
  const api = await extension.activate();
  assert.ok(api, 'the extension gives its test API only in ExtensionMode.Test');
  return api;
}

/** One answer to the next prompt whose title, prompt or placeholder matches `when`. */
export interface Answer {
  when: RegExp;
  /** Text for an input box, a label for a quick pick or a message button, a path for an open dialog; undefined = Escape. */
  answer: string | undefined;
}

export interface Shown {
  severity: 'information' | 'warning' | 'error';
  message: string;
}

const STUBBED = ['showInputBox', 'showQuickPick', 'showOpenDialog', 'showInformationMessage', 'showWarningMessage', 'showErrorMessage'] as const;

/**
 * Stands in for the person at the keyboard: answers prompts in order from a script, and records every
 * notification. `done()` puts the real functions back and fails if an answer was left unused.
 */
export class ScriptedUser {
  readonly shown: Shown[] = [];
  readonly asked: string[] = [];
  private readonly originals = new Map<string, unknown>();
  private readonly script: Answer[] = [];

  constructor() {
    const win = vscode.window as unknown as Record<string, unknown>;
    for (const name of STUBBED) this.originals.set(name, win[name]);
    win.showInputBox = async (options?: vscode.InputBoxOptions) => {
      const text = [options?.title, options?.prompt, options?.placeHolder].filter(Boolean).join(' | ');
      const answer = this.take(text);
      if (answer !== undefined && options?.validateInput) {
        const problem = await options.validateInput(answer);
        const message = typeof problem === 'string' ? problem : problem?.message;
        if (message) throw new Error(`"${answer}" is refused at "${text}": ${message}`);
      }
      return answer;
    };
    win.showQuickPick = async (items: readonly (string | vscode.QuickPickItem)[] | Thenable<readonly (string | vscode.QuickPickItem)[]>, options?: vscode.QuickPickOptions) => {
      const list = await items;
      const text = [options?.title, options?.placeHolder].filter(Boolean).join(' | ');
      const answer = this.take(text);
      if (answer === undefined) return undefined;
      const found = list.find((item) => (typeof item === 'string' ? item : item.label) === answer);
      if (!found) throw new Error(`No item "${answer}" at "${text}"; offered: ${list.map((i) => (typeof i === 'string' ? i : i.label)).join(', ')}`);
      return options?.canPickMany ? [found] : found;
    };
    win.showOpenDialog = async (options?: vscode.OpenDialogOptions) => {
      const answer = this.take([options?.title, options?.openLabel].filter(Boolean).join(' | '));
      return answer === undefined ? undefined : [vscode.Uri.file(answer)];
    };
    const message = (severity: Shown['severity']) => async (text: string, ...rest: unknown[]) => {
      this.shown.push({ severity, message: text });
      const modal = typeof rest[0] === 'object' && rest[0] !== null && 'modal' in rest[0] && (rest[0] as vscode.MessageOptions).modal;
      if (!modal) return undefined;
      // A modal question waits for the user: answer it from the script.
      const buttons = rest.filter((r) => typeof r === 'string' || (typeof r === 'object' && r !== null && 'title' in r));
      const answer = this.take(text);
      return buttons.find((b) => (typeof b === 'string' ? b : (b as vscode.MessageItem).title) === answer);
    };
    win.showInformationMessage = message('information');
    win.showWarningMessage = message('warning');
    win.showErrorMessage = message('error');
  }

  /** Adds answers, used in order. */
  answer(...answers: Answer[]): this {
    this.script.push(...answers);
    return this;
  }

  private take(text: string): string | undefined {
    this.asked.push(text);
    const next = this.script.shift();
    if (!next) throw new Error(`Unexpected prompt: "${text}"`);
    if (!next.when.test(text)) throw new Error(`Expected a prompt like ${next.when}, got "${text}"`);
    return next.answer;
  }

  errors(): Shown[] {
    return this.shown.filter((s) => s.severity === 'error');
  }

  /** Fails on any error notification, unless expected. */
  assertNoErrors(): void {
    assert.deepEqual(this.errors(), [], 'the extension showed an error');
  }

  done(): void {
    const win = vscode.window as unknown as Record<string, unknown>;
    for (const [name, fn] of this.originals) win[name] = fn;
    const left = this.script.splice(0);
    assert.deepEqual(left.map((a) => String(a.when)), [], 'answers left unused: the command did not ask what was expected');
  }
}

/** Waits until `check` returns a value (not undefined/false), polling; fails with `what` after `ms`. */
export async function eventually<T>(what: string, check: () => T | undefined | false | Promise<T | undefined | false>, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Children of a tree node as the view shows them: label, description and contextValue. */
export async function treeItems<T>(provider: vscode.TreeDataProvider<T>, parent?: T): Promise<{ node: T; label: string; description: string; contextValue: string }[]> {
  const children = (await provider.getChildren(parent)) ?? [];
  return Promise.all(
    children.map(async (node) => {
      const item = await provider.getTreeItem(node);
      const label = typeof item.label === 'string' ? item.label : item.label?.label ?? '';
      return { node, label, description: typeof item.description === 'string' ? item.description : '', contextValue: item.contextValue ?? '' };
    }),
  );
}

export async function setSetting(key: string, value: unknown): Promise<void> {
  await vscode.workspace.getConfiguration().update(key, value, vscode.ConfigurationTarget.Global);
}
