import { ExitPlanError } from '../exporters';
import { ExitReportPanel } from '../views/exitReport';
import { isExitPlanNode } from '../views/exitPlanTree';
import type { CommandContext } from './context';
import { isRef } from './invoke';

/** The run folder a command is about: a reference from code, the Last run row, or else the newest run of the plan. */
export async function exitRunFolder(ctx: CommandContext, arg: unknown): Promise<string> {
  if (isRef(arg, 'folder')) return arg.folder;
  if (isExitPlanNode(arg, 'lastRun')) return arg.run.folder;
  const plan = await ctx.exitPlans.plan();
  const newest = (await ctx.exitPlans.runs(plan))[0];
  if (!newest) throw new ExitPlanError(`Exit Plan: there is no exit run yet in ${plan.out}; run the plan first.`);
  return newest.folder;
}

/** Opens the exit report of a run (the newest by default): parts, sizes, verification, failures, not included. */
export async function openExitReport(ctx: CommandContext, arg?: unknown): Promise<void> {
  const folder = await exitRunFolder(ctx, arg);
  ExitReportPanel.show({ extensionUri: ctx.extensionUri, service: ctx.exitPlans, log: ctx.log }, folder);
}
