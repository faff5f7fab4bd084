// Adding a part to an exit plan file the user may have written by hand: the new table is appended as text, so
// everything already there (comments, order, spacing, line ends) stays byte for byte; the result is read back by
// the plan parser before anything is written, and written through a temporary file renamed over the plan.
// No `vscode` here, so plain mocha tests it.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ExitPlanError, describeWriteError, errorMessage, exit, systemCode } from '../exporters';

/** A part name the plan accepts (as the plan parser checks it): letters, digits, `.`, `-`, `_`, not `.` or `..`. */
export const SAFE_PART_NAME = /^[A-Za-z0-9._-]+$/;

/** Why `name` cannot name a new part of a plan whose parts are `taken`, or undefined. */
export function partNameProblem(name: string, taken: readonly string[]): string | undefined {
  if (name === '') return 'Give the part a name: its folder in every exit run.';
  if (!SAFE_PART_NAME.test(name) || name === '.' || name === '..')
    return 'Use letters, digits, ".", "-" and "_" only: the name is the part\'s folder in every exit run.';
  if (taken.includes(name)) return `The plan has a part "${name}" already: each part needs its own name.`;
  return undefined;
}

/** `wanted` made into a part name that is free in the plan: "My Bucket/photos" → "My-Bucket-photos", then "-2", "-3"… */
export function freePartName(wanted: string, taken: readonly string[]): string {
  let base = wanted.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[-.]+|[-.]+$/g, '') || 'part';
  if (base === '.' || base === '..') base = 'part';
  let name = base;
  for (let i = 2; taken.includes(name); i++) name = `${base}-${i}`;
  return name;
}

/** A TOML basic string (JSON's escapes are TOML's, except DEL, which TOML wants escaped). */
export function tomlString(value: string): string {
  return JSON.stringify(value).replace(/\x7f/g, '\\u007f');
}

/** One `key = value` line; a list of strings as a TOML array. */
function assignment(key: string, value: string | string[]): string {
  return `${key} = ${Array.isArray(value) ? `[${value.map(tomlString).join(', ')}]` : tomlString(value)}`;
}

/** What is appended: comment lines (each without `#`), the table's kind, and its keys in order. */
export interface AppendedTable {
  comments: string[];
  kind: string;
  keys: [string, string | string[]][];
}

/**
 * The plan's text with `table` appended: the old text unchanged, then (after a blank line) the comments and the
 * table, in the file's own line ends (CRLF if it uses them). Also the 1-based lines of the new header and last key.
 */
export function appendTable(text: string, table: AppendedTable): { text: string; firstLine: number; lastLine: number } {
  const eol = /\r\n/.test(text) ? '\r\n' : '\n';
  let head = text;
  if (head !== '' && !head.endsWith('\n')) head += eol;
  // One blank line between the old text and the new table (none added when the file already ends with one).
  if (head !== '' && !/(\r?\n){2}$/.test(head) && head.trim() !== '') head += eol;
  const lines = [
    ...table.comments.map((c) => (c === '' ? '#' : `# ${c.replace(/[\r\n]+/g, ' ')}`)),
    `[[${table.kind}]]`,
    ...table.keys.map(([key, value]) => assignment(key, value)),
  ];
  const before = head === '' ? 0 : head.split(/\r?\n/).length - 1;
  return {
    text: head + lines.join(eol) + eol,
    firstLine: before + table.comments.length + 1,
    lastLine: before + lines.length,
  };
}

/**
 * Appends `table` to the plan file `file` (which must exist): the new text is parsed with the plan parser
 * (`check` then looks at the parsed plan, e.g. that the new part is in it as it was meant), written to a
 * temporary file next to the plan (the plan's mode kept), and renamed over it, unless the file changed since it
 * was read. A symbolic link to the plan stays a link: the file it points to is replaced. Returns the new plan and
 * where the new table is.
 */
export async function appendToPlanFile(
  file: string,
  table: AppendedTable,
  check: (plan: exit.ExitPlan) => string | undefined,
): Promise<{ plan: exit.ExitPlan; firstLine: number; lastLine: number; text: string }> {
  let real: string;
  let before: string;
  let mode: number;
  try {
    real = await fs.promises.realpath(file);
    before = await fs.promises.readFile(real, 'utf8');
    mode = (await fs.promises.stat(real)).mode & 0o7777;
  } catch (err) {
    throw new ExitPlanError(`Cannot read the exit plan ${file}: ${errorMessage(err)}; nothing was added.`, systemCode(err), { cause: err });
  }
  const appended = appendTable(before, table);
  // The plan parser reads the new text as the run will, with the plan's own name for its messages.
  let plan: exit.ExitPlan;
  try {
    plan = exit.parsePlan(appended.text, file);
  } catch (err) {
    throw new ExitPlanError(`${errorMessage(err).replace(/\.$/, '')}; the plan was left as it is.`, systemCode(err), { cause: err });
  }
  const problem = check(plan);
  if (problem) throw new ExitPlanError(`${problem}; the plan was left as it is.`);

  const temp = path.join(path.dirname(real), `.${path.basename(real)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    await fs.promises.writeFile(temp, appended.text, { flag: 'wx', mode });
    // writeFile's mode is filtered by the umask: the plan keeps exactly the mode it had.
    await fs.promises.chmod(temp, mode);
    const handle = await fs.promises.open(temp, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
    // Someone (an editor, another window) wrote the plan meanwhile: their text wins, ours is dropped.
    if ((await fs.promises.readFile(real, 'utf8')) !== before) {
      throw new ExitPlanError(`The exit plan ${file} changed while the part was being added; nothing was added (add it again).`);
    }
    await fs.promises.rename(temp, real);
  } catch (err) {
    await fs.promises.rm(temp, { force: true }).catch(() => undefined);
    if (err instanceof ExitPlanError) throw err;
    throw new ExitPlanError(
      `${(describeWriteError(err, file) ?? `Cannot write ${file}: ${errorMessage(err)}`).replace(/\.$/, '')}; the plan was left as it is.`,
      systemCode(err),
      { cause: err },
    );
  }
  return { plan, firstLine: appended.firstLine, lastLine: appended.lastLine, text: appended.text };
}
