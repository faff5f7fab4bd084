/*
 * A way for a command to say how to fix the error it throws: "Edit Connection" on a connection that cannot be
 * reached, for example. The one command wrapper (registry.ts) offers these buttons before Show Log.
 */

/** A button on an error notification and what it does. */
export interface ErrorAction {
  title: string;
  run: () => unknown;
}

const ACTIONS = Symbol('exitPlan.errorActions');

type WithActions = { [ACTIONS]?: ErrorAction[] };

/** Adds `action` to `err` (any thrown value that is an object) and returns `err`, to rethrow it. */
export function withErrorAction<E>(err: E, action: ErrorAction): E {
  if (typeof err === 'object' && err !== null) {
    const carrier = err as WithActions;
    const actions = carrier[ACTIONS] ?? [];
    if (!actions.some((a) => a.title === action.title)) carrier[ACTIONS] = [...actions, action];
  }
  return err;
}

/** The fixes a thrown value carries, in the order they were added. */
export function errorActions(err: unknown): ErrorAction[] {
  return typeof err === 'object' && err !== null ? ((err as WithActions)[ACTIONS] ?? []) : [];
}
