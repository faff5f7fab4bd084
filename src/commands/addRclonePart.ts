import * as path from 'node:path';
import * as vscode from 'vscode';
import { ExitPlanError, errorMessage, rclone } from '../exporters';
import type { CommandContext } from './context';
import { appendToPlanFile, freePartName, partNameProblem } from './planAppend';
import { runWizard, type WizardStep } from './wizard';

const TITLE = 'Add Storage Remote Part';

/** The answers: the kind of remote, the value of each of its fields, the part's name. */
interface RemoteAnswers {
  kind: string;
  fields: Record<string, string>;
  name: string;
  /** The names of the plan's parts (the new name must differ). */
  taken: string[];
}

type RemoteKind = rclone.RemoteKind;

function kindOf(id: string): RemoteKind | undefined {
  return rclone.REMOTE_KINDS.find((k) => k.id === id);
}

/** The remote the answers describe (checked: no secrets), or the one sentence why not. */
function remoteOf(state: RemoteAnswers): { remote?: string; problem?: string } {
  const kind = kindOf(state.kind);
  if (!kind) return { problem: 'Pick a kind of remote.' };
  try {
    return { remote: rclone.checkRemote(rclone.buildRemote(kind.id, state.fields)) };
  } catch (err) {
    return { problem: errorMessage(err) };
  }
}

/**
 * Why one answer cannot be taken, or undefined: a required field left empty, or what rclone's checks say of the
 * remote with this answer (a secret, a line break, a bad name). Fields not answered yet stand in as their examples,
 * so only this answer is judged.
 */
function fieldProblem(kind: RemoteKind, field: rclone.RemoteField, value: string, state: RemoteAnswers): string | undefined {
  if (field.required && value === '') return `Give the ${field.label.toLowerCase()}.`;
  const answers: Record<string, string> = {};
  for (const f of kind.fields) answers[f.id] = f.id === field.id ? value : (state.fields[f.id] ?? (f.required ? f.placeholder : ''));
  try {
    rclone.checkRemote(rclone.buildRemote(kind.id, answers));
    return undefined;
  } catch (err) {
    return errorMessage(err);
  }
}

/** The wizard: the kind, then each field that kind needs (only its own are shown and counted), then the part's name. */
function steps(): WizardStep<RemoteAnswers>[] {
  const fieldSteps = rclone.REMOTE_KINDS.flatMap((kind) =>
    kind.fields.map((field): WizardStep<RemoteAnswers> => ({
      kind: 'input',
      title: field.label,
      when: (s) => s.kind === kind.id,
      prompt: `${kind.label}: ${field.label.replace(/ \(optional\)$/, '')}${field.required ? '' : ' (optional: leave empty for none)'}`,
      placeholder: field.placeholder,
      value: (s) => s.fields[field.id] ?? field.default ?? '',
      validate: (value, s) => fieldProblem(kind, field, value.trim(), s),
      apply: (value, s) => {
        s.fields[field.id] = value.trim();
      },
    })),
  );
  return [
    {
      kind: 'pick',
      title: 'Kind',
      placeholder: 'Which storage to copy the files from (with rclone)',
      items: () => rclone.REMOTE_KINDS.map((k) => ({ id: k.id, label: k.label, detail: k.detail })),
      selected: (s) => (s.kind ? [s.kind] : []),
      apply: ([picked], s) => {
        // Another kind: the answers given for the kind picked before do not apply to it.
        if (picked.id !== s.kind) s.fields = {};
        s.kind = picked.id;
      },
    },
    ...fieldSteps,
    {
      kind: 'input',
      title: 'Part name',
      prompt: (s) => `The part's name, its folder in every exit run; it copies ${remoteOf(s).remote ?? 'the remote'}`,
      value: (s) => s.name || freePartName(suggestedName(s), s.taken),
      validate: (value, s) => partNameProblem(value.trim(), s.taken) ?? remoteOf(s).problem,
      apply: (value, s) => {
        s.name = value.trim();
      },
    },
  ];
}

/** A name from the last thing typed that names a place (a folder, a bucket, a container), else the kind: "photos", "s3". */
function suggestedName(s: RemoteAnswers): string {
  const kind = kindOf(s.kind);
  const places = ['bucket', 'container', 'remote', 'host', 'path'];
  for (const id of places) {
    const last = (s.fields[id] ?? '')
      .split(/[/:\\]/)
      .filter(Boolean)
      .pop();
    if (last && kind?.fields.some((f) => f.id === id)) return last;
  }
  return kind?.id ?? 'remote';
}

/**
 * Adds an `[[rclone]]` part to the exit plan: asks which kind of remote and the fields it needs (no secret: those
 * go in rclone's environment or its config), then the part's name; appends the table to the plan file without
 * touching what is there, reveals it, and says where the secret goes.
 */
export async function addRclonePart(ctx: CommandContext): Promise<void> {
  const file = ctx.exitPlans.planFile();
  if (!file) throw new ExitPlanError('Exit Plan: open a folder first; the exit plan is exit-plan.toml in the workspace folder.');
  // The plan must read as it is now: a part is added to a plan that runs, never to one that is broken.
  const plan = await ctx.exitPlans.plan();
  const dirty = vscode.workspace.textDocuments.find((d) => d.uri.scheme === 'file' && samePath(d.uri.fsPath, file) && d.isDirty);
  if (dirty) {
    throw new ExitPlanError(
      `${path.basename(file)} has unsaved changes in the editor: save or revert them, then add the part again (nothing was added).`,
    );
  }
  const answers = await runWizard<RemoteAnswers>(TITLE, steps(), {
    kind: '',
    fields: {},
    name: '',
    taken: plan.parts.map((p) => p.name),
  });
  if (!answers) return;
  const kind = kindOf(answers.kind)!;
  const { remote, problem } = remoteOf(answers);
  if (!remote) throw new ExitPlanError(`${(problem ?? 'The remote is not complete').replace(/\.$/, '')}; nothing was added to the plan.`);

  const added = await appendToPlanFile(
    file,
    {
      comments: [`${kind.label}, copied with rclone and checked with rclone check (added by ${TITLE}).`, kind.secretHint],
      kind: 'rclone',
      keys: [
        ['name', answers.name],
        ['remote', remote],
      ],
    },
    (parsed) => {
      const part = parsed.parts.find((p) => p.name === answers.name);
      if (!part || part.kind !== 'rclone' || part.remote !== remote)
        return `The plan parser did not read the new part "${answers.name}" back as written`;
      return undefined;
    },
  );
  ctx.log.info(`Added the rclone part "${answers.name}" (${kind.label}) to ${file}, lines ${added.firstLine}-${added.lastLine}`);
  ctx.exitPlans.refresh();
  await revealLines(file, added.text, added.firstLine, added.lastLine);
  // One sentence: what was added, and where its secret goes (nothing secret was asked for or written).
  const hint = kind.secretHint.replace(/^[A-Z](?=[a-z])/, (c) => c.toLowerCase());
  void vscode.window.showInformationMessage(`Added the part "${answers.name}" to ${path.basename(file)}; ${hint}`);
}

function samePath(a: string, b: string): boolean {
  return path.resolve(a) === path.resolve(b);
}

/** Opens the plan with the new table selected (once the editor has the new text, if it had the file open). */
async function revealLines(file: string, text: string, first: number, last: number): Promise<void> {
  const document = await vscode.workspace.openTextDocument(vscode.Uri.file(file));
  const normal = (t: string) => t.replace(/\r\n/g, '\n');
  for (let i = 0; i < 30 && normal(document.getText()) !== normal(text); i++) await new Promise((r) => setTimeout(r, 100));
  const editor = await vscode.window.showTextDocument(document);
  const range = new vscode.Range(first - 1, 0, last - 1, document.lineAt(Math.min(last - 1, document.lineCount - 1)).text.length);
  editor.selection = new vscode.Selection(range.start, range.end);
  editor.revealRange(range, vscode.TextEditorRevealType.InCenterIfOutsideViewport);
}
