/*
 * The exit-run core as the extension calls it: the plan file, the plan text builder, the run, the status and the
 * progress text. The core (src/exporters/exit) is written alongside this view; until its `exit` namespace is
 * exported from src/exporters/index.ts, each function below finds it at run time and says plainly when it is
 * missing. Once it is there, this file becomes plain re-exports of `exit.*` (the types and signatures below are
 * copied from the core's).
 */
import * as core from '../exporters';
import { ExitPlanError, type OperationOptions } from '../exporters';
import type { ExitPlan, ExitRunResult, PartKind, PartProgress, PartResolvers, PlanPart } from '../exporters/exit/types';

/** What an exit run reports while it runs. */
export interface ExitProgress {
  /** 1-based number of the part among those this invocation runs. */
  partIndex: number;
  partCount: number;
  name: string;
  kind: PartKind;
  /** The part's own progress, when it has said something. */
  part?: PartProgress;
  /** `report`: writing the report and the manifest (after the last part). */
  phase: 'part' | 'report';
}

export interface ExitRunOptions extends OperationOptions<ExitProgress> {
  resolvers: PartResolvers;
  /** Start a new run folder even when the newest one is unfinished. */
  fresh?: boolean;
  only?: string[];
  now?: () => Date;
}

/** One part in `exitStatus`: its newest verified copy across the runs. */
export interface PartStatus {
  name: string;
  kind: PartKind;
  /** finishedAt of the newest verified copy (ISO), if there is one. */
  lastVerified?: string;
  bytes?: number;
  files?: number;
  ageMs?: number;
  /** The run folder that holds it. */
  folder?: string;
  /** No verified copy, or one older than max_age. */
  stale: boolean;
  /** The sentence of the part's failure in the newest complete run, when that run failed it. */
  lastError?: string;
}

export interface ExitStatus {
  ready: boolean;
  parts: PartStatus[];
  newestComplete?: string;
}

/** A part as planText takes it: a PlanPart without its line, with paths as they should be written. */
export type PlanTextPart = PlanPart extends infer P ? (P extends PlanPart ? Omit<P, 'line'> : never) : never;

export interface PlanTextInput {
  out?: string;
  keep?: number;
  /** A duration such as "7 days". */
  maxAge?: string;
  notIncluded?: string[];
  parts: PlanTextPart[];
}

interface ExitCore {
  readPlan(file: string): Promise<ExitPlan>;
  /** Writes the commented template to `file`, never over an existing file; returns the path. */
  initPlan(file?: string, text?: string): Promise<string>;
  planText(input: PlanTextInput): string;
  runExitPlan(plan: ExitPlan, options: ExitRunOptions): Promise<ExitRunResult>;
  exitStatus(plan: ExitPlan, options?: { now?: Date }): Promise<ExitStatus>;
  describeExitProgress(p: ExitProgress): string;
  exitProgressFraction(p: ExitProgress): number;
  /** The CLI's resolvers: `db` + password_env/PGPASSWORD, connection_string_env, azcopy from EXIT_PLAN_AZCOPY or PATH. */
  envResolvers(env?: Record<string, string | undefined>): PartResolvers;
}

function exitCore(): ExitCore {
  const found = (core as unknown as Record<string, unknown>)['exit'] as Partial<ExitCore> | undefined;
  if (!found || typeof found.readPlan !== 'function') {
    throw new ExitPlanError('Exit runs are not available in this build: the exit-run core is missing.');
  }
  return found as ExitCore;
}

export const readPlan: ExitCore['readPlan'] = (file) => exitCore().readPlan(file);
export const initPlan: ExitCore['initPlan'] = (file, text) => exitCore().initPlan(file, text);
export const planText: ExitCore['planText'] = (input) => exitCore().planText(input);
export const runExitPlan: ExitCore['runExitPlan'] = (plan, options) => exitCore().runExitPlan(plan, options);
export const exitStatus: ExitCore['exitStatus'] = (plan, options) => exitCore().exitStatus(plan, options);
export const describeExitProgress: ExitCore['describeExitProgress'] = (p) => exitCore().describeExitProgress(p);
export const exitProgressFraction: ExitCore['exitProgressFraction'] = (p) => exitCore().exitProgressFraction(p);
export const envResolvers: ExitCore['envResolvers'] = (env) => exitCore().envResolvers(env);
