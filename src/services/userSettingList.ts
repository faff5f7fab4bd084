import * as vscode from 'vscode';

/** A trimmed, non-empty string, or undefined. */
export const settingText = (value: unknown): string | undefined =>
  typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;

function nameOf(entry: unknown): string | undefined {
  return typeof entry === 'object' && entry !== null ? settingText((entry as Record<string, unknown>).name) : undefined;
}

/**
 * A list of named entries in a user-level setting (`exitPlan.<key>`), read from the global value only, so a
 * workspace can never add or redirect one. Edits keep the entries this code cannot read, so nothing is lost.
 */
export class UserSettingList {
  constructor(
    private readonly section: string,
    private readonly key: string,
  ) {}

  /** The raw entries as the user wrote them. */
  entries(): unknown[] {
    const raw = vscode.workspace.getConfiguration(this.section).inspect<unknown>(this.key)?.globalValue;
    return Array.isArray(raw) ? raw : [];
  }

  /** The usable entries, parsed; the first of each name wins. */
  parsed<T extends { name: string }>(parse: (entry: unknown) => T | undefined): T[] {
    const out: T[] = [];
    for (const entry of this.entries()) {
      const item = parse(entry);
      if (item && !out.some((o) => o.name === item.name)) out.push(item);
    }
    return out;
  }

  /** Adds an entry, replacing any of the same name. */
  async put(entry: object): Promise<void> {
    const name = nameOf(entry);
    await this.save([...this.entries().filter((e) => nameOf(e) !== name), entry]);
  }

  async remove(name: string): Promise<void> {
    await this.save(this.entries().filter((e) => nameOf(e) !== name));
  }

  private async save(entries: unknown[]): Promise<void> {
    await vscode.workspace.getConfiguration(this.section).update(this.key, entries, vscode.ConfigurationTarget.Global);
  }
}
