/*
 * The exit-run core as the extension calls it: the plan file, the plan text builder, the run, the status and the
 * progress text. The core (src/exporters/exit) is written alongside this view; until its `exit` namespace is
 * exported from src/exporters/index.ts, each function below finds it at run time and says plainly when it is
 * missing. Once it is there, this file becomes plain re-exports of `exit.*` (the signatures below are the ones
 * the extension relies on).
 */
import * as core from '../exporters';
import { ExitPlanError, type OperationOptions } from '../exporters';
import type { ExitPlan, ExitRunResult, PartKind, PartProgress, PartResolvers } from '../exporters/exit/types';

/** Progress of a run: part i/N and that part's own progress. */
export interface ExitProgress {
  /** 1-based. */
  index: number;
  total: number;
  name: string;
  kind: PartKind;
  part?: PartProgress;
}

export interface ExitRunOptions extends OperationOptions<ExitProgress> {
  resolvers: PartResolvers;
  /** Start a new run folder even when the newest one is unfinished. */
  fresh?: boolean;
  only?: string[];
  now?: () => Date;
}

/** One part in `exitStatus`: its newest verified copy across the runs. */
export interface ExitPartStatus {
  name: string;
  kind: PartKind;
  /** ISO time the newest verified copy finished, absent when there is none. */
  lastVerified?: string;
  bytes?: number;
  /** The run folder that holds it. */
  folder?: string;
}

export interface ExitStatus {
  ready: boolean;
  parts: ExitPartStatus[];
}

/** A part for the plan text builder: a PlanPart without its line, paths as written. */
export type PlanTextPart = Record<string, unknown> & { kind: PartKind; name: string };

export interface PlanTextInput {
  out?: string;
  keep?: number;
  /** As written, e.g. "7 days". */
  maxAge?: string;
  notIncluded?: string[];
  parts: PlanTextPart[];
}

interface ExitCore {
  readPlan(file: string): Promise<ExitPlan>;
  /** Writes the commented template to `file`, never over an existing file; returns the path. */
  initPlan(file: string): Promise<string>;
  planText(input: PlanTextInput): string;
  runExitPlan(plan: ExitPlan, options: ExitRunOptions): Promise<ExitRunResult>;
  exitStatus(plan: ExitPlan, options?: { now?: Date | (() => Date) }): Promise<ExitStatus>;
  describeExitProgress(p: ExitProgress): string;
  exitProgressFraction(p: ExitProgress): number | undefined;
}

function exitCore(): ExitCore {
  const found = (core as unknown as Record<string, unknown>)['exit'] as Partial<ExitCore> | undefined;
  if (!found || typeof found.readPlan !== 'function') {
    throw new ExitPlanError('Exit runs are not available in this build: the exit-run core is missing.');
  }
  return found as ExitCore;
}

export const readPlan: ExitCore['readPlan'] = (file) => exitCore().readPlan(file);
export const initPlan: ExitCore['initPlan'] = (file) => exitCore().initPlan(file);
export const planText: ExitCore['planText'] = (input) => exitCore().planText(input);
export const runExitPlan: ExitCore['runExitPlan'] = (plan, options) => exitCore().runExitPlan(plan, options);
export const exitStatus: ExitCore['exitStatus'] = (plan, options) => exitCore().exitStatus(plan, options);
export const describeExitProgress: ExitCore['describeExitProgress'] = (p) => exitCore().describeExitProgress(p);
export const exitProgressFraction: ExitCore['exitProgressFraction'] = (p) => exitCore().exitProgressFraction(p);
