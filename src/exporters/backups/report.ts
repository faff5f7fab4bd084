import { errorMessage } from '../shared/errors';
import { listBackups, newestBackup, type BackupEntry } from './list';
import { groupLabel } from './names';
import { planRotation, summarizeRotation, type RotationPolicy, type RotationSummary } from './rotation';
import { scheduleStatus, type ScheduleStatus } from './schedule';
import { readFolderState, type DrillSummary } from './sidecar';

/** A backup target as the report needs it: a folder, its schedule and its rotation policy. */
export interface ReportTarget {
  name: string;
  dir: string;
  schedule?: string;
  rotation?: RotationPolicy;
  /** When the target was added: scheduled times before it were never missed. */
  addedAt?: Date;
}

export interface TargetReport {
  name: string;
  dir: string;
  backups: BackupEntry[];
  totalBytes: number;
  newest?: BackupEntry;
  /** Per group (kind and source), newest first. */
  groups: { key: string; label: string; backups: BackupEntry[] }[];
  schedule?: ScheduleStatus;
  /** A bad schedule or listing problem, in one sentence. */
  problems: string[];
  /** The last successful drill of any database in this folder. */
  lastSuccessfulDrill?: DrillSummary;
  lastDrill?: DrillSummary;
  /** What rotation would remove now (nothing when no policy is set). */
  rotation?: { summary: RotationSummary; remove: BackupEntry[]; suspects: BackupEntry[] };
  counts: { verified: number; failed: number; unverified: number };
}

/** Everything the tree and the sidebar report show for a target, read from its folder. */
export async function targetReport(target: ReportTarget, now: Date = new Date()): Promise<TargetReport> {
  const problems: string[] = [];
  let backups: BackupEntry[] = [];
  try {
    backups = await listBackups(target.dir);
  } catch (err) {
    problems.push(errorMessage(err));
  }
  const groups = new Map<string, { key: string; label: string; backups: BackupEntry[] }>();
  for (const b of backups) {
    const g = groups.get(b.group) ?? { key: b.group, label: groupLabel(b.kind, b.source), backups: [] };
    g.backups.push(b);
    groups.set(b.group, g);
  }
  const newest = newestBackup(backups, now);
  let schedule: ScheduleStatus | undefined;
  if (target.schedule?.trim()) {
    try {
      schedule = scheduleStatus(target.schedule, newest?.time, now, target.addedAt);
    } catch (err) {
      problems.push(errorMessage(err));
    }
  }
  let rotation: TargetReport['rotation'];
  if (target.rotation) {
    try {
      const decisions = planRotation(backups, target.rotation, now);
      rotation = {
        summary: summarizeRotation(decisions),
        remove: decisions.filter((d) => d.action === 'remove').map((d) => d.item),
        suspects: decisions.filter((d) => d.suspect).map((d) => d.item),
      };
    } catch (err) {
      problems.push(errorMessage(err));
    }
  }
  const state = await readFolderState(target.dir);
  let lastSuccessfulDrill: DrillSummary | undefined;
  let lastDrill: DrillSummary | undefined;
  for (const d of Object.values(state.drills)) {
    if (d.lastSuccessful && (!lastSuccessfulDrill || d.lastSuccessful.at > lastSuccessfulDrill.at)) lastSuccessfulDrill = d.lastSuccessful;
    if (d.last && (!lastDrill || d.last.at > lastDrill.at)) lastDrill = d.last;
  }
  return {
    name: target.name,
    dir: target.dir,
    backups,
    totalBytes: backups.reduce((n, b) => n + b.bytes, 0),
    newest,
    groups: [...groups.values()],
    schedule,
    problems,
    lastSuccessfulDrill,
    lastDrill,
    rotation,
    counts: {
      verified: backups.filter((b) => b.state === 'verified').length,
      failed: backups.filter((b) => b.state === 'failed').length,
      unverified: backups.filter((b) => b.state === 'unverified').length,
    },
  };
}
