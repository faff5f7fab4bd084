// `exit-plan status`: per part of the plan, its newest verified copy across the runs under `out`, its age, and
// whether the plan is ready (every part has a copy younger than max_age).
import * as path from 'node:path';
import { formatBytes } from '../shared/format';
import { formatDuration } from '../datasets/interval';
import { readRunManifest } from './report';
import { listRuns, readPartRecord } from './runs';
import type { ExitPlan, PartKind } from './types';

export interface PartStatus {
  name: string;
  kind: PartKind;
  /** finishedAt of the newest verified copy (ISO), if there is one. */
  lastVerified?: string;
  /** Its bytes. */
  bytes?: number;
  /** Its files. */
  files?: number;
  /** Its age at `now`. */
  ageMs?: number;
  /** The run folder that holds it. */
  folder?: string;
  /** No verified copy, or one older than max_age. */
  stale: boolean;
  /** The sentence of the part's failure in the newest complete run, when that run failed it. */
  lastError?: string;
}

export interface ExitStatus {
  /** Every part has a verified copy (younger than max_age when the plan has one). */
  ready: boolean;
  parts: PartStatus[];
  /** The newest complete run, if any. */
  newestComplete?: string;
}

/** The status of each part of the plan from the runs under `out` (complete or not: every part.json counts). */
export async function exitStatus(plan: ExitPlan, options: { now?: Date } = {}): Promise<ExitStatus> {
  const now = options.now ?? new Date();
  const runs = await listRuns(plan.out);
  const newestComplete = [...runs].reverse().find((r) => r.complete);
  const manifest = newestComplete ? await readRunManifest(newestComplete.folder) : undefined;
  const parts: PartStatus[] = [];
  for (const part of plan.parts) {
    const status: PartStatus = { name: part.name, kind: part.kind, stale: true };
    for (const run of [...runs].reverse()) {
      const record = await readPartRecord(path.join(run.folder, part.name), part);
      if (!record) continue;
      if (status.lastVerified === undefined || Date.parse(record.finishedAt) > Date.parse(status.lastVerified)) {
        status.lastVerified = record.finishedAt;
        status.bytes = record.bytes;
        status.files = record.files.length;
        status.folder = run.folder;
      }
    }
    if (status.lastVerified !== undefined) {
      status.ageMs = Math.max(0, now.getTime() - Date.parse(status.lastVerified));
      status.stale = plan.maxAge !== undefined && status.ageMs > plan.maxAge.ms;
    }
    const failed = manifest?.parts.find((p) => p.name === part.name && p.status === 'failed');
    if (failed && failed.status === 'failed' && (status.lastVerified === undefined || failed.finishedAt > status.lastVerified))
      status.lastError = failed.error;
    parts.push(status);
  }
  return { ready: parts.every((p) => !p.stale), parts, ...(newestComplete ? { newestComplete: newestComplete.folder } : {}) };
}

/** One line per part for people: `warehouse (warehouse): verified 2 hours ago, 1.2 MB` or `…: no verified copy`. */
export function describePartStatus(p: PartStatus, maxAge?: { text: string }): string {
  const head = `${p.name} (${p.kind})`;
  if (p.lastVerified === undefined) return `${head}: no verified copy${p.lastError ? ` (last run: ${p.lastError})` : ''}`;
  const age = `verified ${formatDuration(p.ageMs ?? 0)} ago, ${formatBytes(p.bytes ?? 0)}`;
  const stale = p.stale && maxAge ? ` — stale: older than max_age (${maxAge.text})` : '';
  return `${head}: ${age}${stale}${p.lastError ? ` (last run failed: ${p.lastError})` : ''}`;
}
