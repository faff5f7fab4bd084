import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { azure, errorMessage, exit, ExitPlanError } from '../exporters';
import type { CommandContext } from './context';
import { freePartName } from './planAppend';

/** A part name the plan accepts, free among `taken` (which then holds it too). */
function partName(wanted: string, taken: Set<string>): string {
  const name = freePartName(wanted, [...taken]);
  taken.add(name);
  return name;
}

/** The parts the sidebar knows: warehouse connections, Azure containers, backup targets, dataset roots. */
async function knownParts(ctx: CommandContext): Promise<exit.PlanTextPart[]> {
  const taken = new Set<string>();
  const parts: exit.PlanTextPart[] = [];
  for (const profile of ctx.connections.list()) {
    parts.push({ kind: 'warehouse', name: partName(profile.name, taken), connection: profile.name });
  }
  for (const profile of ctx.azureConnections.list()) {
    let containers: string[];
    try {
      const account = await ctx.azureConnections.open(profile);
      containers = [];
      let continuation: string | undefined;
      do {
        const page = await azure.listContainers(account, continuation);
        containers.push(...page.items.map((c) => c.name));
        continuation = page.continuation;
      } while (continuation);
    } catch (err) {
      ctx.log.warn(`Create Exit Plan: the containers of "${profile.name}" could not be listed, so they are left out: ${errorMessage(err)}`);
      continue;
    }
    for (const container of containers) {
      parts.push({ kind: 'azure', name: partName(container, taken), connection: profile.name, container });
    }
  }
  for (const target of ctx.backups.list()) {
    parts.push({ kind: 'backups', name: partName(`backups-${target.name}`, taken), dir: target.dir });
  }
  for (const root of ctx.datasets.roots()) {
    const base = path.basename(root);
    parts.push({ kind: 'datasets', name: partName(/^datasets?\b/i.test(base) ? base : `datasets-${base}`, taken), dirs: [root] });
  }
  return parts;
}

/**
 * Writes exit-plan.toml (or the file of exitPlan.planFile) from what the sidebar knows, referencing saved
 * connections by name (their secrets stay in SecretStorage), never over an existing file, and opens it. With
 * nothing known yet, the commented template.
 */
export async function createExitPlan(ctx: CommandContext): Promise<void> {
  const file = ctx.exitPlans.planFile();
  if (!file) throw new ExitPlanError('Exit Plan: open a folder first; the exit plan is written to exit-plan.toml in the workspace folder.');
  if (fs.existsSync(file)) {
    await vscode.window.showTextDocument(vscode.Uri.file(file));
    void vscode.window.showInformationMessage(`There is an exit plan already at ${file}; it was left as it is.`);
    return;
  }
  const parts = await knownParts(ctx);
  if (parts.length === 0) {
    await fs.promises.mkdir(path.dirname(file), { recursive: true });
    await exit.initPlan(file);
    ctx.log.info(`Wrote the exit plan template ${file} (no connection, backup target or dataset root to take from the sidebar)`);
  } else {
    const text = exit.planText({ out: './exits', keep: 3, maxAge: '7 days', notIncluded: [], parts });
    await fs.promises.mkdir(path.dirname(file), { recursive: true });
    // `wx`: never over a file that appeared meanwhile.
    await fs.promises.writeFile(file, text, { flag: 'wx' });
    ctx.log.info(`Wrote the exit plan ${file} with ${parts.map((p) => `${p.kind} "${p.name}"`).join(', ')}`);
  }
  ctx.exitPlans.refresh();
  await vscode.window.showTextDocument(vscode.Uri.file(file));
}
