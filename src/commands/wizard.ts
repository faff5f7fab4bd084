import * as vscode from 'vscode';

/*
 * Multi-step input, as in VS Code's extension samples (quickinput-sample's multiStepInput): one quick input
 * per step, each titled "<wizard>: <step>" with VS Code's own "(n/total)" counter, a Back button from the
 * second step on, and the answers kept in one state object, so Back shows what was typed and an Edit wizard
 * starts from the saved values. Escape (or a click elsewhere, with ignoreFocusOut off) ends the wizard with
 * nothing saved: the caller gets `undefined`.
 *
 * The count is true: steps whose `when` is false for the current answers are neither shown nor counted.
 */

/** What a step shares: its title after the wizard's, and whether it applies to the answers so far. */
interface StepBase<S> {
  /** Shown as "<wizard title>: <title> (n/total)", e.g. "Host". */
  title: string;
  /** The step is skipped (and not counted) when this is false. */
  when?: (state: S) => boolean;
}

/** A button on an input step's title bar, e.g. "Browse…" for a folder: it may change the value. */
export interface WizardButton<S> {
  icon: vscode.ThemeIcon;
  tooltip: string;
  /** Returns the new value of the box (or undefined to leave it). */
  run: (value: string, state: S) => Promise<string | undefined> | string | undefined;
}

/** One input box. */
export interface InputStep<S> extends StepBase<S> {
  kind: 'input';
  prompt: string | ((state: S) => string);
  placeholder?: string;
  password?: boolean;
  /** The box's value when the step opens: the answer given before (Back, Edit) or a default. */
  value: (state: S) => string | undefined;
  /** An error sentence, or undefined when the value is fine. Enter is refused while there is an error. */
  validate?: (value: string, state: S) => string | undefined;
  /** Stores the accepted value in the state. */
  apply: (value: string, state: S) => void;
  buttons?: WizardButton<S>[];
}

/** One item of a pick step; `id` says which it is. */
export interface WizardItem extends vscode.QuickPickItem {
  id: string;
}

/** One quick pick (one item, or several with `many`). */
export interface PickStep<S> extends StepBase<S> {
  kind: 'pick';
  placeholder?: string | ((state: S) => string);
  items: (state: S) => WizardItem[];
  many?: boolean;
  /** Ids of the items picked (many) or focused (one) when the step opens: the previous answer or a default. */
  selected?: (state: S) => string[];
  /** Stores the picked items (one item unless `many`). */
  apply: (picked: WizardItem[], state: S) => void;
  /** With `many`: an error when the selection cannot be accepted (e.g. none picked). */
  validate?: (picked: readonly WizardItem[], state: S) => string | undefined;
}

/**
 * A step the wizard cannot describe with a box or a list (e.g. a loop adding folders). It gets the title and
 * counter to use and returns 'next', 'back', or undefined to end the wizard.
 */
export interface CustomStep<S> extends StepBase<S> {
  kind: 'custom';
  run: (frame: StepFrame, state: S) => Promise<'next' | 'back' | undefined>;
}

export type WizardStep<S> = InputStep<S> | PickStep<S> | CustomStep<S>;

/** Where a step stands: the title to show, its number and the total, and whether Back applies. */
export interface StepFrame {
  title: string;
  step: number;
  totalSteps: number;
  canGoBack: boolean;
}

const BACK = Symbol('back');
type Answer<T> = T | typeof BACK | undefined;

/**
 * Runs the steps in order over `state` (changed in place) and returns it, or undefined when the user left.
 * `title` is the wizard's, e.g. "Add Warehouse Connection" or "Edit Warehouse Connection".
 */
export async function runWizard<S>(title: string, steps: readonly WizardStep<S>[], state: S): Promise<S | undefined> {
  const visited: number[] = [];
  let index = nextApplicable(steps, state, 0);
  while (index < steps.length) {
    const step = steps[index];
    const applicable = steps.filter((s) => !s.when || s.when(state));
    const frame: StepFrame = {
      title: `${title}: ${step.title}`,
      step: applicable.indexOf(step) + 1,
      totalSteps: applicable.length,
      canGoBack: visited.length > 0,
    };
    const outcome = await runStep(step, frame, state);
    if (outcome === undefined) return undefined;
    if (outcome === 'back') {
      index = visited.pop() ?? index;
      continue;
    }
    visited.push(index);
    index = nextApplicable(steps, state, index + 1);
  }
  return state;
}

function nextApplicable<S>(steps: readonly WizardStep<S>[], state: S, from: number): number {
  let i = from;
  while (i < steps.length && steps[i].when && !steps[i].when!(state)) i++;
  return i;
}

async function runStep<S>(step: WizardStep<S>, frame: StepFrame, state: S): Promise<'next' | 'back' | undefined> {
  if (step.kind === 'custom') return step.run(frame, state);
  if (step.kind === 'input') {
    const value = await inputBox(frame, {
      prompt: typeof step.prompt === 'function' ? step.prompt(state) : step.prompt,
      placeholder: step.placeholder,
      password: step.password,
      value: step.value(state) ?? '',
      validate: step.validate && ((v) => step.validate!(v, state)),
      buttons: step.buttons?.map((b) => ({ ...b, run: (v: string) => b.run(v, state) })),
    });
    if (value === BACK) return 'back';
    if (value === undefined) return undefined;
    step.apply(value, state);
    return 'next';
  }
  const picked = await pickItems(frame, {
    placeholder: typeof step.placeholder === 'function' ? step.placeholder(state) : step.placeholder,
    items: step.items(state),
    many: step.many,
    selected: step.selected?.(state) ?? [],
    validate: step.validate && ((p) => step.validate!(p, state)),
  });
  if (picked === BACK) return 'back';
  if (picked === undefined) return undefined;
  step.apply(picked, state);
  return 'next';
}

/** One input box of a wizard (also for custom steps): the value, BACK, or undefined when left. */
export function inputBox(
  frame: StepFrame,
  options: {
    prompt?: string;
    placeholder?: string;
    password?: boolean;
    value: string;
    validate?: (value: string) => string | undefined;
    buttons?: { icon: vscode.ThemeIcon; tooltip: string; run: (value: string) => Promise<string | undefined> | string | undefined }[];
  },
): Promise<Answer<string>> {
  const box = vscode.window.createInputBox();
  box.title = frame.title;
  box.step = frame.step;
  box.totalSteps = frame.totalSteps;
  box.prompt = options.prompt;
  box.placeholder = options.placeholder;
  box.password = options.password ?? false;
  box.value = options.value;
  box.ignoreFocusOut = true;
  const extra = (options.buttons ?? []).map((b) => ({ iconPath: b.icon, tooltip: b.tooltip, run: b.run }));
  box.buttons = [...(frame.canGoBack ? [vscode.QuickInputButtons.Back] : []), ...extra];
  const check = (value: string) => (box.validationMessage = options.validate?.(value));
  check(box.value);
  return new Promise<Answer<string>>((resolve) => {
    let done = false;
    // While a button's dialog is open (in a remote window, VS Code's own file dialog is a quick input that
    // replaces this one), the box's hiding is not the user leaving.
    let suspended = false;
    const finish = (answer: Answer<string>) => {
      if (done) return;
      done = true;
      resolve(answer);
      box.dispose();
    };
    box.onDidChangeValue(check);
    box.onDidAccept(() => {
      if (check(box.value)) return;
      finish(box.value);
    });
    box.onDidTriggerButton(async (button) => {
      if (button === vscode.QuickInputButtons.Back) return finish(BACK);
      const own = extra.find((b) => b.iconPath === button.iconPath && b.tooltip === button.tooltip);
      if (!own) return;
      suspended = true;
      box.busy = true;
      try {
        const next = await own.run(box.value);
        if (next !== undefined) {
          box.value = next;
          check(next);
        }
      } finally {
        box.busy = false;
        suspended = false;
        if (!done) box.show();
      }
    });
    box.onDidHide(() => {
      if (!suspended) finish(undefined);
    });
    box.show();
  });
}

/** One quick pick of a wizard (also for custom steps): the picked items, BACK, or undefined when left. */
export function pickItems(
  frame: StepFrame,
  options: {
    placeholder?: string;
    items: WizardItem[];
    many?: boolean;
    selected?: string[];
    validate?: (picked: readonly WizardItem[]) => string | undefined;
  },
): Promise<Answer<WizardItem[]>> {
  const pick = vscode.window.createQuickPick<WizardItem>();
  pick.title = frame.title;
  pick.step = frame.step;
  pick.totalSteps = frame.totalSteps;
  pick.placeholder = options.placeholder;
  pick.ignoreFocusOut = true;
  pick.canSelectMany = options.many ?? false;
  pick.matchOnDescription = true;
  pick.items = options.items;
  const selected = options.items.filter((item) => options.selected?.includes(item.id));
  if (options.many) pick.selectedItems = selected;
  else if (selected.length > 0) pick.activeItems = [selected[0]];
  pick.buttons = frame.canGoBack ? [vscode.QuickInputButtons.Back] : [];
  return new Promise<Answer<WizardItem[]>>((resolve) => {
    let done = false;
    const finish = (answer: Answer<WizardItem[]>) => {
      if (done) return;
      done = true;
      resolve(answer);
      pick.dispose();
    };
    // A quick pick has no validation message (that API is proposed): a problem is shown as its placeholder.
    const say = (problem: string | undefined) => (pick.placeholder = problem ? `⚠ ${problem}` : options.placeholder);
    if (options.many && options.validate) pick.onDidChangeSelection((items) => say(options.validate!(items)));
    pick.onDidAccept(() => {
      const items = options.many ? [...pick.selectedItems] : pick.activeItems.slice(0, 1);
      if (!options.many && items.length === 0) return;
      const problem = options.validate?.(items);
      say(problem);
      if (problem) return;
      finish(items);
    });
    pick.onDidTriggerButton((button) => {
      if (button === vscode.QuickInputButtons.Back) finish(BACK);
    });
    pick.onDidHide(() => finish(undefined));
    pick.show();
  });
}

/** True for the answer a wizard primitive gives when the user pressed Back. */
export function isBack(answer: unknown): answer is typeof BACK {
  return answer === BACK;
}
