import * as fs from 'node:fs';
import { ExitPlanError, errorMessage, systemCode, throwIfAborted } from '../shared/errors';
import type { OperationOptions } from '../shared/operation';
import { listBackups, type BackupEntry } from './list';
import { planRotation, summarizeRotation, type RotationDecision, type RotationPolicy, type RotationSummary } from './rotation';
import { sidecarPath } from './sidecar';

export interface RotationPlan {
  dir: string;
  policy: RotationPolicy;
  decisions: RotationDecision<BackupEntry>[];
  summary: RotationSummary;
}

/** The preview: every backup in the folder with keep/remove and the rules that keep it. Changes nothing. */
export async function previewRotation(dir: string, policy: RotationPolicy, now: Date = new Date()): Promise<RotationPlan> {
  const entries = await listBackups(dir);
  const decisions = planRotation(entries, policy, now);
  return { dir, policy, decisions, summary: summarizeRotation(decisions) };
}

/** Rotation reports no progress (removing files is quick); it takes a signal and logs what it removes. */
export interface RotationOptions extends Omit<OperationOptions<never>, 'onProgress'> {
  /** The files a user saw to be removed in a preview: only those that still are to be removed are. */
  confirmed?: readonly string[];
  now?: Date;
}

export interface RotationResult extends RotationPlan {
  /** Files actually removed (absolute paths). */
  removed: string[];
}

/**
 * Removes what the policy removes: each backup and its sidecar. The plan is computed again here, and
 * when `confirmed` is given (the files a user saw in a preview) only those that are still to be removed
 * are; anything new since the preview is left alone. Its signal stops it between two files (what was removed
 * stays removed); it logs each file it removes.
 */
export async function applyRotation(dir: string, policy: RotationPolicy, options: RotationOptions = {}): Promise<RotationResult> {
  const plan = await previewRotation(dir, policy, options.now);
  const allowed = options.confirmed && new Set(options.confirmed);
  const removed: string[] = [];
  for (const d of plan.decisions) {
    if (d.action !== 'remove' || (allowed && !allowed.has(d.item.file))) continue;
    throwIfAborted(options.signal, `Rotation cancelled after removing ${removed.length} backups.`);
    try {
      await fs.promises.unlink(d.item.file);
    } catch (err) {
      if (systemCode(err) === 'ENOENT') continue;
      throw new ExitPlanError(
        `Cannot remove ${d.item.file}: ${errorMessage(err)}` +
          `${removed.length > 0 ? ` (${removed.length} other backups were removed before this)` : ''}.`,
        systemCode(err),
        { cause: err },
      );
    }
    await fs.promises.rm(sidecarPath(d.item.file), { force: true });
    removed.push(d.item.file);
    options.log?.(`Rotation removed ${d.item.file}`);
  }
  return { ...plan, removed };
}
