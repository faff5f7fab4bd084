// Helpers for the integration suite, which runs inside the real extension host with the real `vscode` API.
// The user's answers to prompts are scripted (the UI suite types them into the real workbench instead);
// every message the extension shows is recorded, so a test can assert on it and fail on an unexpected error.
import * as assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Client } from 'pg';
import * as vscode from 'vscode';
import type { ExitPlanTestApi } from '../../src/extension';
import { quoteIdent } from '../../src/exporters/warehouse/catalog';
import { listFiles, tempDir } from '../helpers/archive';
import { postgres } from '../helpers/postgres';

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
  /**
   * Text for an input box, a label for a quick pick (labels joined by newlines for a multi-select one) or a
   * message button, a path for an open dialog; undefined = Escape; BACK = the Back button of a wizard step.
   */
  answer: string | undefined;
  /** Instead of answering: press the title-bar button of the input box (a wizard step) with this tooltip. */
  button?: string;
  /** The value the input box (a wizard step) must show when it opens: a default, or the answer kept by Back or Edit. */
  value?: string;
}

/** The answer that presses a wizard step's Back button. */
export const BACK = '\u0000back';

export interface Shown {
  severity: 'information' | 'warning' | 'error';
  message: string;
}

const STUBBED = [
  'createInputBox',
  'createQuickPick',
  'showInputBox',
  'showQuickPick',
  'showOpenDialog',
  'showInformationMessage',
  'showWarningMessage',
  'showErrorMessage',
] as const;

/**
 * Stands in for the person at the keyboard: answers prompts in order from a script, and records every
 * notification. `done()` puts the real functions back and fails if an answer was left unused.
 */
export class ScriptedUser {
  readonly shown: Shown[] = [];
  readonly asked: string[] = [];
  /** Answers a wizard step refused (its validation message), reported by done(). */
  readonly refused: string[] = [];
  /** The buttons each notification offered (besides its message, in `shown`), in the same order. */
  readonly offered: { message: string; buttons: string[] }[] = [];
  /** The options of each open dialog shown (e.g. the folder it opens in, `defaultUri`). */
  readonly dialogs: vscode.OpenDialogOptions[] = [];
  /** What each showQuickPick offered: its title and placeholder (as `when` matches them) and its items. */
  readonly picks: { text: string; items: vscode.QuickPickItem[] }[] = [];
  /** The options of each showInputBox (e.g. the value it was prefilled with). */
  readonly inputs: vscode.InputBoxOptions[] = [];
  private readonly originals = new Map<string, unknown>();
  private readonly script: Answer[] = [];

  constructor() {
    // A test that failed before its done() must not leave its stubs (and their script) to the next one.
    activeUser?.restore();
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the module remembers the one user whose stubs are in place
    activeUser = this;
    const win = vscode.window as unknown as Record<string, unknown>;
    for (const name of STUBBED) this.originals.set(name, win[name]);
    win.showInputBox = async (options?: vscode.InputBoxOptions) => {
      const text = [options?.title, options?.prompt, options?.placeHolder].filter(Boolean).join(' | ');
      this.inputs.push({ ...options });
      const answer = this.take(text);
      if (answer !== undefined && options?.validateInput) {
        const problem = await options.validateInput(answer);
        const message = typeof problem === 'string' ? problem : problem?.message;
        if (message) throw new Error(`"${answer}" is refused at "${text}": ${message}`);
      }
      return answer;
    };
    win.showQuickPick = async (
      items: readonly (string | vscode.QuickPickItem)[] | Thenable<readonly (string | vscode.QuickPickItem)[]>,
      options?: vscode.QuickPickOptions,
    ) => {
      const list = await items;
      const text = [options?.title, options?.placeHolder].filter(Boolean).join(' | ');
      this.picks.push({ text, items: list.map((i) => (typeof i === 'string' ? { label: i } : { ...i })) });
      const answer = this.take(text);
      if (answer === undefined) return undefined;
      const label = (item: string | vscode.QuickPickItem) => (typeof item === 'string' ? item : item.label);
      // A multi-select one takes the labels to check, joined by newlines ('' checks none).
      const wanted = options?.canPickMany ? answer.split('\n').filter(Boolean) : [answer];
      const found = wanted.map((w) => list.find((item) => label(item) === w));
      const missing = wanted.filter((_, i) => !found[i]);
      if (missing.length > 0) throw new Error(`No item "${missing.join('", "')}" at "${text}"; offered: ${list.map(label).join(', ')}`);
      return options?.canPickMany ? found : found[0];
    };
    win.createInputBox = () => this.fakeInputBox();
    win.createQuickPick = () => this.fakeQuickPick();
    win.showOpenDialog = async (options?: vscode.OpenDialogOptions) => {
      this.dialogs.push(options ?? {});
      const answer = this.take([options?.title, options?.openLabel].filter(Boolean).join(' | '));
      return answer === undefined ? undefined : [vscode.Uri.file(answer)];
    };
    const message =
      (severity: Shown['severity']) =>
      async (text: string, ...rest: unknown[]) => {
        this.shown.push({ severity, message: text });
        const modal = typeof rest[0] === 'object' && rest[0] !== null && 'modal' in rest[0] && (rest[0] as vscode.MessageOptions).modal;
        const buttons = rest.filter((r) => typeof r === 'string' || (typeof r === 'object' && r !== null && 'title' in r));
        this.offered.push({ message: text, buttons: buttons.map((b) => (typeof b === 'string' ? b : (b as vscode.MessageItem).title)) });
        if (!modal) return undefined;
        // A modal question waits for the user: answer it from the script.
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
    return this.takeAnswer(text).answer;
  }

  private takeAnswer(text: string): Answer {
    this.asked.push(text);
    const next = this.script.shift();
    if (!next) throw new Error(`Unexpected prompt: "${text}"`);
    if (!next.when.test(text)) throw new Error(`Expected a prompt like ${next.when}, got "${text}"`);
    return next;
  }

  /**
   * A stand-in for `createInputBox` (the wizard's steps): when shown, it takes the next answer for
   * "<title> (<step>/<total>) | <prompt> | <placeholder>", as VS Code renders the title, and types it and
   * presses Enter, Back, a title-bar button or Escape. A refused answer (validation message) ends the wizard
   * and fails done().
   */
  private fakeInputBox(): vscode.InputBox {
    const box = new FakeQuickInput(this) as FakeQuickInput & Record<string, unknown>;
    Object.assign(box, { value: '', prompt: undefined, password: false, validationMessage: undefined, valueSelection: undefined });
    box.respond = (answer) => {
      if (answer.button !== undefined) {
        const button = (box.buttons as vscode.QuickInputButton[]).find((b) => b.tooltip === answer.button);
        if (!button) return box.fail(`no button "${answer.button}"`);
        box.triggerButton.fire(button);
        return;
      }
      if (answer.value !== undefined && box.value !== answer.value) {
        return box.fail(`the box shows "${String(box.value)}", expected "${answer.value}"`);
      }
      const text = answer.answer as string;
      box.value = text;
      box.changeValue.fire(text);
      box.accept.fire();
      // Still showing after Enter: the step refused the value.
      if (box.showing && !box.disposed) box.fail(`"${text}" is refused: ${String(box.validationMessage)}`);
    };
    return box as unknown as vscode.InputBox;
  }

  /** A stand-in for `createQuickPick`, answered like showQuickPick (a label, or labels joined by newlines). */
  private fakeQuickPick(): vscode.QuickPick<vscode.QuickPickItem> {
    const pick = new FakeQuickInput(this) as FakeQuickInput & Record<string, unknown>;
    Object.assign(pick, { items: [], selectedItems: [], activeItems: [], canSelectMany: false, matchOnDescription: false, value: '' });
    const changeSelection = new vscode.EventEmitter<readonly vscode.QuickPickItem[]>();
    pick.onDidChangeSelection = changeSelection.event;
    pick.onDidChangeActive = new vscode.EventEmitter<readonly vscode.QuickPickItem[]>().event;
    pick.respond = (answer) => {
      const items = pick.items as vscode.QuickPickItem[];
      const labels = (answer.answer as string).split('\n');
      const found = labels.map((label) => items.find((i) => i.label === label));
      if (found.some((i) => !i)) return pick.fail(`no item "${labels.join('", "')}"; offered: ${items.map((i) => i.label).join(', ')}`);
      if (pick.canSelectMany) {
        pick.selectedItems = found;
        changeSelection.fire(found as vscode.QuickPickItem[]);
      } else pick.activeItems = found;
      pick.accept.fire();
      if (pick.showing && !pick.disposed) pick.fail(`"${labels.join('", "')}" is refused: ${String(pick.placeholder)}`);
    };
    return pick as unknown as vscode.QuickPick<vscode.QuickPickItem>;
  }

  /** Called by a fake quick input when it is shown: the next answer for `text`. */
  answerFor(text: string): Answer {
    return this.takeAnswer(text);
  }

  /** Puts the real functions back (once). */
  private restore(): void {
    const win = vscode.window as unknown as Record<string, unknown>;
    for (const [name, fn] of this.originals) win[name] = fn;
    this.originals.clear();
    if (activeUser === this) activeUser = undefined;
  }

  errors(): Shown[] {
    return this.shown.filter((s) => s.severity === 'error');
  }

  /** Fails on any error notification, unless expected. */
  assertNoErrors(): void {
    assert.deepEqual(this.errors(), [], 'the extension showed an error');
  }

  done(): void {
    this.restore();
    assert.deepEqual(this.refused, [], 'a wizard step refused an answer');
    const left = this.script.splice(0);
    assert.deepEqual(
      left.map((a) => String(a.when)),
      [],
      'answers left unused: the command did not ask what was expected',
    );
  }
}

/**
 * What the fakes of createInputBox and createQuickPick share: the properties and events of a quick input.
 * Showing it answers it from the script on the next turn of the event loop, as a person would.
 */
class FakeQuickInput {
  title: string | undefined;
  step: number | undefined;
  totalSteps: number | undefined;
  placeholder: string | undefined;
  prompt: string | undefined;
  buttons: readonly vscode.QuickInputButton[] = [];
  busy = false;
  enabled = true;
  ignoreFocusOut = false;
  showing = false;
  disposed = false;
  readonly changeValue = new vscode.EventEmitter<string>();
  readonly accept = new vscode.EventEmitter<void>();
  readonly hide = new vscode.EventEmitter<void>();
  readonly triggerButton = new vscode.EventEmitter<vscode.QuickInputButton>();
  readonly onDidChangeValue = this.changeValue.event;
  readonly onDidAccept = this.accept.event;
  readonly onDidHide = this.hide.event;
  readonly onDidTriggerButton = this.triggerButton.event;
  respond: (answer: Answer) => void = () => undefined;

  constructor(private readonly user: ScriptedUser) {}

  /** The text a test's `when` matches: the title as VS Code shows it (with "(n/total)"), prompt, placeholder. */
  text(): string {
    const title = this.title && this.step ? `${this.title} (${this.step}${this.totalSteps ? `/${this.totalSteps}` : ''})` : this.title;
    return [title, this.prompt, this.placeholder].filter(Boolean).join(' | ');
  }

  show(): void {
    if (this.showing || this.disposed) return;
    this.showing = true;
    setTimeout(() => {
      let answer: Answer;
      try {
        answer = this.user.answerFor(this.text());
      } catch (err) {
        this.fail(err instanceof Error ? err.message : String(err));
        return;
      }
      if (answer.answer === undefined && answer.button === undefined) this.hideNow();
      else if (answer.answer === BACK) this.triggerButton.fire(vscode.QuickInputButtons.Back);
      else {
        // A button (a dialog) hides the box until the handler shows it again.
        if (answer.button !== undefined) this.showing = false;
        this.respond(answer);
      }
    }, 0);
  }

  /** Records why the script could not go on and leaves the step, as Escape would. */
  fail(problem: string): void {
    this.user.refused.push(`${this.text()}: ${problem}`);
    this.hideNow();
  }

  hideNow(): void {
    if (!this.showing) return;
    this.showing = false;
    this.hide.fire();
  }

  dispose(): void {
    this.disposed = true;
    this.hideNow();
  }
}

/** The ScriptedUser whose stubs are in place, if any. */
let activeUser: ScriptedUser | undefined;

/** Waits until `check` returns a value (not undefined/false), polling; fails with `what` after `ms`. */
export async function eventually<T>(
  what: string,
  check: () => T | undefined | false | Promise<T | undefined | false>,
  ms = 30_000,
): Promise<T> {
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
export async function treeItems<T>(
  provider: vscode.TreeDataProvider<T>,
  parent?: T,
): Promise<{ node: T; label: string; description: string; contextValue: string }[]> {
  const children = (await provider.getChildren(parent)) ?? [];
  return Promise.all(
    children.map(async (node) => {
      const item = await provider.getTreeItem(node);
      const label = typeof item.label === 'string' ? item.label : (item.label?.label ?? '');
      return {
        node,
        label,
        description: typeof item.description === 'string' ? item.description : '',
        contextValue: item.contextValue ?? '',
      };
    }),
  );
}

export async function setSetting(key: string, value: unknown): Promise<void> {
  await vscode.workspace.getConfiguration().update(key, value, vscode.ConfigurationTarget.Global);
}

// ---------------------------------------------------------------------------------------------------------
// Fixtures shared by the suite files: temp folders, settings put back, warehouses with a role of their own,
// the connection commands driven end to end, and the files VS Code writes (settings, logs) read back.

/** Temp folders a suite made; `removeAll()` in its `after` hook. */
export class TempDirs {
  private readonly made: string[] = [];

  make(prefix: string): string {
    const dir = tempDir(`exit-plan-vscode-${prefix}-`);
    this.made.push(dir);
    return dir;
  }

  removeAll(): void {
    for (const dir of this.made.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The user-level values of some settings, taken now and put back by `restore()` (an `after` hook). */
export class SettingsSnapshot {
  private readonly values: Map<string, unknown>;

  constructor(keys: string[]) {
    this.values = new Map(keys.map((key) => [key, vscode.workspace.getConfiguration().inspect(key)?.globalValue]));
  }

  async restore(): Promise<void> {
    for (const [key, value] of this.values) await setSetting(key, value);
  }
}

/** code-server's --user-data-dir (settings, logs, state), passed down by scripts/vscode/codeServer.ts. */
export function userDataDir(): string {
  const dir = process.env.EXIT_PLAN_VSCODE_USER_DATA;
  assert.ok(
    dir && fs.existsSync(dir),
    'EXIT_PLAN_VSCODE_USER_DATA names no folder: run the suite through npm run test:vscode or test:electron',
  );
  return dir;
}

/** The folder VS Code has open. */
export function workspaceDir(): string {
  const folder = vscode.workspace.workspaceFolders?.[0];
  assert.ok(folder, 'VS Code has no folder open');
  return folder.uri.fsPath;
}

/**
 * The files under `dirs` that hold any of `needles`, as UTF-8 or UTF-16 (how SQLite and some caches store
 * text), or JSON-escaped. Files that vanish while being read (logs rotating, locks) are skipped.
 */
export function filesContaining(dirs: string[], needles: string[]): string[] {
  const forms = needles.flatMap((n) =>
    [...new Set([n, JSON.stringify(n).slice(1, -1)])].flatMap((t) => [Buffer.from(t, 'utf8'), Buffer.from(t, 'utf16le')]),
  );
  const hits: string[] = [];
  for (const dir of dirs) {
    for (const file of listFiles(dir).map((f) => path.join(dir, f))) {
      let bytes: Buffer;
      try {
        bytes = fs.readFileSync(file);
      } catch {
        continue;
      }
      if (forms.some((f) => bytes.includes(f))) hits.push(file);
    }
  }
  return hits;
}

/** The file of the "Exit Plan" log output channel (a LogOutputChannel) under the user data dir's logs/. */
export function exitPlanLogFile(): string | undefined {
  const logs = path.join(userDataDir(), 'logs');
  if (!fs.existsSync(logs)) return undefined;
  return listFiles(logs)
    .map((f) => path.join(logs, f))
    .find((f) => path.basename(f) === 'Exit Plan.log' && f.includes(`${path.sep}${EXTENSION_ID}${path.sep}`));
}

/** A database owned by a login role of its own (scram-sha-256, like every role of the test server), filled by `sql` run as that role. */
export interface Warehouse {
  host: string;
  port: number;
  database: string;
  user: string;
  password: string;
  /** A client connected as the role (caller ends it). */
  client(): Promise<Client>;
}

export async function makeWarehouse(options: { database: string; user: string; sql: string }): Promise<Warehouse> {
  const pg = await postgres();
  // Random, so that finding it in a file can only mean it leaked there.
  const password = `ep-${randomBytes(12).toString('hex')}-pw`;
  const admin = await pg.client();
  try {
    await admin.query(`CREATE ROLE ${quoteIdent(options.user)} LOGIN PASSWORD '${password}'`);
    await admin.query(`CREATE DATABASE ${quoteIdent(options.database)} OWNER ${quoteIdent(options.user)}`);
  } finally {
    await admin.end();
  }
  const { host, port } = pg.connection;
  const warehouse: Warehouse = {
    host,
    port,
    database: options.database,
    user: options.user,
    password,
    async client() {
      const c = new Client({ host, port, database: options.database, user: options.user, password, ssl: false });
      c.on('error', () => undefined);
      await c.connect();
      return c;
    },
  };
  const c = await warehouse.client();
  try {
    await c.query(options.sql);
  } finally {
    await c.end();
  }
  return warehouse;
}

/** The seven answers of Add Warehouse Connection, in its order, each checked against its step's title and count. */
export function addWarehouseAnswers(name: string, w: Warehouse): Answer[] {
  return [
    { when: /^Add Warehouse Connection: Name \(1\/7\) \| A name for this connection/, answer: name },
    { when: /^Add Warehouse Connection: Host \(2\/7\) \| Host name/, answer: w.host, value: 'localhost' },
    { when: /^Add Warehouse Connection: Port \(3\/7\) \| Port/, answer: String(w.port), value: '5432' },
    { when: /^Add Warehouse Connection: User \(4\/7\) \| User name/, answer: w.user },
    // The database defaults to the user's name, as PostgreSQL's clients do.
    { when: /^Add Warehouse Connection: Database \(5\/7\) \| Database name/, answer: w.database, value: w.user },
    { when: /^Add Warehouse Connection: TLS \(6\/7\) \| TLS \(sslmode\)$/, answer: 'disable' },
    { when: /^Add Warehouse Connection: Password \(7\/7\) \| Password for /, answer: w.password },
  ];
}

/** Runs Add Warehouse Connection as a user would, and checks that it connected and saved. */
export async function addWarehouseConnection(name: string, w: Warehouse): Promise<void> {
  const user = new ScriptedUser().answer(...addWarehouseAnswers(name, w));
  try {
    await vscode.commands.executeCommand('exitPlan.addWarehouseConnection');
    assert.deepEqual(user.shown, [
      { severity: 'information', message: `Connected to ${w.user}@${w.host}:${w.port}/${w.database} and saved it as "${name}".` },
    ]);
  } finally {
    user.done();
  }
}

/** Runs a Remove … command on the tree node named `label` of `provider`, confirming its modal question. */
export async function removeThroughTree<T>(
  provider: vscode.TreeDataProvider<T>,
  label: string,
  command: string,
  question: RegExp,
  button = 'Remove',
): Promise<void> {
  const node = (await treeItems(provider)).find((i) => i.label === label)?.node;
  if (node === undefined) return;
  const user = new ScriptedUser().answer({ when: question, answer: button });
  try {
    await vscode.commands.executeCommand(command, node);
    user.assertNoErrors();
  } finally {
    user.done();
  }
}

/** Closes every editor and panel tab (config.toml, the SAS panel…), as a clean start for the next test. */
export async function closeAllEditors(): Promise<void> {
  await vscode.commands.executeCommand('workbench.action.closeAllEditors');
}
