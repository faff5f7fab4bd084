import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { backups, describeConnection, errorMessage, expandHome, plural } from '../exporters';
import type { CommandContext } from './context';
import { executeCommand } from './invoke';
import { inputBox, isBack, pickItems, runWizard, type StepFrame, type WizardItem, type WizardStep } from './wizard';

/** The rotation choices; `keep` (an edit of a policy written by hand) keeps the saved one. */
const ROTATIONS: { id: string; label: string; description: string; rotation?: Record<string, number> }[] = [
  {
    id: 'recommended',
    label: '7 daily, 4 weekly, 12 monthly',
    description: 'recommended',
    rotation: { keepDaily: 7, keepWeekly: 4, keepMonthly: 12 },
  },
  { id: 'last14', label: 'The last 14 backups', description: 'keep-last 14', rotation: { keepLast: 14 } },
  { id: 'none', label: 'No rotation', description: 'keep every backup until removed by hand' },
];

/** Schedules offered by name; any other is a cron expression typed in the next step. */
const SCHEDULES = ['0 2 * * *', '0 3 * * 0', '0 */6 * * *'];
const NO_SCHEDULE = 'none';
const CUSTOM_SCHEDULE = 'custom';
const NO_DATABASE = '';

/** The answers of the Add and Edit Backup Target wizards. */
export interface TargetAnswers {
  name: string;
  /** The backup folder as typed (absolute, or starting with ~). */
  dir: string;
  /** A saved warehouse connection's name, or '' for none. */
  database: string;
  folders: { name: string; path: string }[];
  /** A preset's cron expression, NO_SCHEDULE or CUSTOM_SCHEDULE. */
  scheduleChoice: string;
  /** The cron expression (of the preset, or typed). */
  schedule: string;
  /** A ROTATIONS id, or 'keep'. */
  rotation: string;
  /**
   * Set by Edit: the target's name is fixed, its hand-written rotation can be kept, and its commands (written in
   * settings, not asked here) are kept and count as something to back up.
   */
  editing?: { rotation?: string; commands?: string[] };
}

/** "every day at 02:00" → "Every day at 02:00". */
function capitalized(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** A name that fits a folder: "Kobo server" → "kobo-server". */
function slug(name: string): string {
  return (
    name
      .trim()
      .toLowerCase()
      .replace(/[^a-z0-9._-]+/g, '-')
      .replace(/^[^a-z0-9]+|-+$/g, '') || 'backups'
  );
}

/** The nearest folder of `p` that exists (for a dialog to open in), or the home folder. */
function existingFolder(p: string): string {
  let dir = path.resolve(expandHome(p.trim() || os.homedir()));
  for (;;) {
    try {
      if (fs.statSync(dir).isDirectory()) return dir;
    } catch {
      // not there (yet): try its parent
    }
    const parent = path.dirname(dir);
    if (parent === dir) return os.homedir();
    dir = parent;
  }
}

/** Why a backup folder cannot be used, or undefined. */
function dirProblem(value: string): string | undefined {
  const v = value.trim();
  if (v === '') return 'Give the folder the backups go into.';
  const abs = expandHome(v);
  if (!path.isAbsolute(abs)) return 'Give an absolute path (or one starting with ~).';
  try {
    if (!fs.statSync(abs).isDirectory()) return 'This is a file, not a folder.';
  } catch {
    // missing: the first backup creates it
  }
  return undefined;
}

/** The steps of both wizards, over `state`; `title` is "Add Backup Target" or "Edit Backup Target". */
function targetSteps(ctx: CommandContext, title: string): WizardStep<TargetAnswers>[] {
  const taken = new Set(ctx.backups.list().map((t) => t.name));
  return [
    {
      kind: 'input',
      title: 'Name',
      when: (s) => !s.editing,
      prompt: 'A name for this target, shown in the Backups view, e.g. "Kobo server"',
      value: (s) => s.name,
      validate: (v) => (v.trim() === '' ? 'Give it a name.' : taken.has(v.trim()) ? 'A target with this name exists.' : undefined),
      apply: (v, s) => {
        const name = v.trim();
        // The default folder follows the name until the user chose one.
        if (s.dir === '' || s.dir === defaultDir(s.name)) s.dir = defaultDir(name);
        s.name = name;
      },
    },
    {
      kind: 'input',
      title: 'Folder',
      prompt: 'The folder the backups go into (created by the first backup if missing); ~ is your home folder',
      value: (s) => s.dir || defaultDir(s.name),
      validate: (v) => dirProblem(v),
      apply: (v, s) => (s.dir = v.trim()),
      buttons: [
        {
          icon: new vscode.ThemeIcon('folder-opened'),
          tooltip: 'Browse…',
          run: async (value) => {
            const picked = await vscode.window.showOpenDialog({
              title: `${title}: Folder`,
              defaultUri: vscode.Uri.file(existingFolder(value)),
              canSelectFolders: true,
              canSelectFiles: false,
              canSelectMany: false,
              openLabel: 'Back Up Here',
            });
            return picked?.[0]?.fsPath;
          },
        },
      ],
    },
    {
      kind: 'pick',
      title: 'Database',
      placeholder: () =>
        ctx.connections.list().length === 0
          ? 'No warehouse connection saved yet: add one first to back up a database'
          : 'A saved warehouse connection to back up with pg_dump (the password is the connection’s)',
      items: (s) => {
        const profiles = ctx.connections.list();
        const items: WizardItem[] = profiles.map((p) => ({ id: p.name, label: p.name, description: describeConnection(p) }));
        if (s.database && !profiles.some((p) => p.name === s.database)) {
          items.push({ id: s.database, label: s.database, description: 'not a saved warehouse connection any more' });
        }
        items.push({ id: NO_DATABASE, label: 'No database', description: 'only folders of files' });
        return items;
      },
      selected: (s) => [s.database],
      apply: (picked, s) => (s.database = picked[0].id),
    },
    { kind: 'custom', title: 'Folders of Files', run: (frame, s) => foldersStep(frame, s) },
    {
      kind: 'pick',
      title: 'Schedule',
      placeholder: 'When to back up while VS Code is open (local time)',
      items: (s) => {
        const items: WizardItem[] = [];
        const current = s.editing && s.schedule && !SCHEDULES.includes(s.schedule) ? s.schedule : undefined;
        if (current)
          items.push({ id: current, label: capitalized(backups.describeSchedule(current)), description: `${current} · current` });
        for (const cron of SCHEDULES) items.push({ id: cron, label: capitalized(backups.describeSchedule(cron)), description: cron });
        items.push(
          { id: CUSTOM_SCHEDULE, label: 'Custom cron expression…', description: 'minute hour day-of-month month day-of-week' },
          { id: NO_SCHEDULE, label: 'No schedule', description: 'back up with Back Up Now, or with cron on a server' },
        );
        return items;
      },
      selected: (s) => [s.scheduleChoice],
      apply: (picked, s) => {
        s.scheduleChoice = picked[0].id;
        if (picked[0].id !== CUSTOM_SCHEDULE && picked[0].id !== NO_SCHEDULE) s.schedule = picked[0].id;
      },
    },
    {
      kind: 'input',
      title: 'Cron Expression',
      when: (s) => s.scheduleChoice === CUSTOM_SCHEDULE,
      prompt: 'minute hour day-of-month month day-of-week, local time; e.g. "30 3 * * 1" is every Monday at 03:30',
      value: (s) => s.schedule || '0 2 * * *',
      validate: (v) => {
        try {
          backups.validateSchedule(v);
          return undefined;
        } catch (err) {
          return errorMessage(err);
        }
      },
      apply: (v, s) => (s.schedule = backups.validateSchedule(v)),
    },
    {
      kind: 'pick',
      title: 'Rotation',
      placeholder: 'Which backups to keep (rotation always shows what it would remove and asks first)',
      items: (s) => [
        ...(s.editing?.rotation ? [{ id: 'keep', label: s.editing.rotation, description: 'current' }] : []),
        ...ROTATIONS.map((r) => ({ id: r.id, label: r.label, description: r.description })),
      ],
      selected: (s) => [s.rotation],
      apply: (picked, s) => (s.rotation = picked[0].id),
    },
  ];
}

function defaultDir(name: string): string {
  return path.join(os.homedir(), 'backups', slug(name));
}

/**
 * Folders of files to archive: a list to add to, rename in or remove from, then Continue. A target needs a
 * database or at least one folder.
 */
async function foldersStep(frame: StepFrame, s: TargetAnswers): Promise<'next' | 'back' | undefined> {
  for (;;) {
    const commands = s.editing?.commands ?? [];
    const nothing = s.folders.length === 0 && !s.database && commands.length === 0;
    const optional = s.database
      ? ' (optional: the database is backed up)'
      : commands.length > 0
        ? ` (optional: the ${plural(commands.length, 'command')} ${commands.join(', ')} ${commands.length === 1 ? 'is' : 'are'} backed up)`
        : '';
    const picked = await pickItems(frame, {
      placeholder:
        s.folders.length === 0
          ? `Folders of files to archive with tar${optional}`
          : `${plural(s.folders.length, 'folder')} of files to archive; pick one to rename or remove it`,
      items: [
        ...s.folders.map((f, i) => ({ id: `folder:${i}`, label: `$(folder) ${f.name}`, description: f.path })),
        { id: 'add', label: '$(add) Add a folder of files…' },
        {
          id: 'continue',
          label: '$(arrow-right) Continue',
          description: nothing ? 'add a folder first, or go back and pick a database' : '',
        },
      ],
      validate: (p) =>
        p[0]?.id === 'continue' && nothing ? 'Nothing to back up: add a folder, or go back and pick a database.' : undefined,
    });
    if (isBack(picked)) return 'back';
    if (picked === undefined) return undefined;
    const id = picked[0].id;
    if (id === 'continue') return 'next';
    if (id === 'add') {
      const answer = await addFolder(frame, s);
      if (answer === undefined) return undefined;
      continue;
    }
    const index = Number(id.slice('folder:'.length));
    const folder = s.folders[index];
    const action = await pickItems(
      { ...frame, canGoBack: true },
      {
        placeholder: `${folder.name}: ${folder.path}`,
        items: [
          { id: 'rename', label: '$(edit) Rename…', description: 'the name in its backup file names' },
          { id: 'remove', label: '$(trash) Remove from This Target', description: 'the folder itself is not touched' },
        ],
      },
    );
    if (action === undefined) return undefined;
    if (isBack(action)) continue;
    if (action[0].id === 'remove') {
      s.folders.splice(index, 1);
      continue;
    }
    const name = await folderName(frame, s, folder.path, folder.name, index);
    if (name === undefined) return undefined;
    if (typeof name === 'string') folder.name = name;
  }
}

/** Adds a folder: the dialog, then its name. Undefined when the user left the wizard. */
async function addFolder(frame: StepFrame, s: TargetAnswers): Promise<true | undefined> {
  const last = s.folders[s.folders.length - 1];
  const picked = await vscode.window.showOpenDialog({
    title: frame.title,
    defaultUri: vscode.Uri.file(last ? path.dirname(last.path) : os.homedir()),
    canSelectFolders: true,
    canSelectFiles: false,
    canSelectMany: false,
    openLabel: 'Archive This Folder',
  });
  const source = picked?.[0]?.fsPath;
  if (!source) return true;
  const suggested =
    path
      .basename(source)
      .replace(/[^A-Za-z0-9._-]/g, '_')
      .replace(/^[^A-Za-z0-9]+/, '') || 'media';
  const name = await folderName(frame, s, source, suggested);
  if (name === undefined) return undefined;
  if (typeof name === 'string') s.folders.push({ name, path: source });
  return true;
}

/** A folder's name in backup file names: the name, BACK, or undefined when the user left the wizard. */
async function folderName(
  frame: StepFrame,
  s: TargetAnswers,
  source: string,
  value: string,
  self?: number,
): Promise<string | symbol | undefined> {
  const answer = await inputBox(
    { ...frame, canGoBack: true },
    {
      prompt: `Name for ${source} in backup file names (<name>_media__<time>.tar)`,
      value,
      validate: (v) => {
        try {
          backups.checkFilesName(v);
          return s.folders.some((f, i) => i !== self && f.name === v.trim()) ? 'Another folder of this target has this name.' : undefined;
        } catch (err) {
          return errorMessage(err);
        }
      },
    },
  );
  if (isBack(answer)) return Symbol('back');
  return answer === undefined ? undefined : answer.trim();
}

/** The setting entry from the answers, over `base` (an edit keeps what the wizard does not ask: gzip, minSizeBytes, addedAt). */
function entryOf(s: TargetAnswers, base: Record<string, unknown>): Record<string, unknown> {
  const entry: Record<string, unknown> = { ...base, name: s.name, dir: s.dir };
  if (s.database) entry.warehouseConnection = s.database;
  else delete entry.warehouseConnection;
  if (s.folders.length > 0) entry.folders = s.folders.map((f) => ({ name: f.name, path: f.path }));
  else delete entry.folders;
  if (s.scheduleChoice !== NO_SCHEDULE && s.schedule) entry.schedule = s.schedule;
  else delete entry.schedule;
  if (s.rotation !== 'keep') {
    const rotation = ROTATIONS.find((r) => r.id === s.rotation)?.rotation;
    if (rotation) entry.rotation = rotation;
    else delete entry.rotation;
  }
  return entry;
}

/** The rotation choice that matches a saved policy, or 'keep' for one written by hand. */
function rotationChoice(raw: unknown): string {
  if (typeof raw !== 'object' || raw === null) return 'none';
  const same = ROTATIONS.find((r) => r.rotation && JSON.stringify(r.rotation) === JSON.stringify(raw));
  return same?.id ?? 'keep';
}

/** Offers the next step after saving: back up now, or test first. */
function offerNext(message: string, name: string): void {
  const now = 'Back Up Now';
  const test = 'Test Backup Target';
  void vscode.window.showInformationMessage(message, now, test).then((choice) => {
    if (choice === now) void executeCommand('exitPlan.backUpNow', { targetName: name });
    if (choice === test) void executeCommand('exitPlan.testBackupTarget', { targetName: name });
  });
}

/**
 * Adds a backup target to the user setting `exitPlan.backups.targets`: a folder, a saved warehouse
 * connection and/or folders of files, a schedule and a rotation policy, one titled and counted step each
 * (Back keeps the answers). No secret goes into settings.
 */
export async function addBackupTarget(ctx: CommandContext): Promise<void> {
  const title = 'Add Backup Target';
  const state: TargetAnswers = {
    name: '',
    dir: '',
    database: NO_DATABASE,
    folders: [],
    scheduleChoice: SCHEDULES[0],
    schedule: SCHEDULES[0],
    rotation: 'recommended',
  };
  const answers = await runWizard(title, targetSteps(ctx, title), state);
  if (!answers) return;
  const entry = entryOf(answers, { addedAt: new Date().toISOString() });
  await ctx.backups.targets.add(entry);
  ctx.log.info(`Added backup target "${answers.name}" → ${answers.dir}`);
  ctx.backups.reveal(answers.name);
  offerNext(`Backup target "${answers.name}" added.`, answers.name);
}

/** Edits a saved backup target: the Add wizard over its saved values (its name stays); what it does not ask is kept. */
export async function editTargetWizard(ctx: CommandContext, name: string): Promise<void> {
  const target = ctx.backups.get(name);
  const raw = ctx.backups.targets.entry(name);
  if (!target || !raw) return;
  const title = 'Edit Backup Target';
  const rotation = rotationChoice(raw.rotation);
  const state: TargetAnswers = {
    name,
    dir: typeof raw.dir === 'string' ? raw.dir : target.dir,
    database: target.warehouseConnection ?? NO_DATABASE,
    folders: target.folders.map((f) => ({ ...f })),
    scheduleChoice: target.schedule ?? NO_SCHEDULE,
    schedule: target.schedule ?? '',
    rotation,
    editing: {
      rotation: rotation === 'keep' && target.rotation ? backups.describePolicy(target.rotation) : undefined,
      commands: target.commands.map((c) => c.name),
    },
  };
  const answers = await runWizard(`${title} "${name}"`, targetSteps(ctx, title), state);
  if (!answers) return;
  await ctx.backups.targets.replace(name, entryOf(answers, raw));
  ctx.log.info(`Edited backup target "${name}" → ${answers.dir}`);
  ctx.backups.reveal(name);
  const schedule = answers.scheduleChoice === NO_SCHEDULE ? 'no schedule' : backups.scheduleText(answers.schedule);
  offerNext(`Backup target "${name}" saved: ${schedule}.`, name);
}
