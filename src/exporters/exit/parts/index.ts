import type { PartKind, PartRunner, PlanPart } from '../types';
import { runAzurePart } from './azure';
import { runBackupsPart } from './backups';
import { runCommandPart } from './command';
import { runDatasetsPart } from './datasets';
import { runFolderPart } from './folder';
import { runRclonePart } from './rclone';
import { runWarehousePart } from './warehouse';

/** The runner of each kind of part. */
export const PART_RUNNERS: { [K in PartKind]: PartRunner<Extract<PlanPart, { kind: K }>> } = {
  warehouse: runWarehousePart,
  azure: runAzurePart,
  rclone: runRclonePart,
  folder: runFolderPart,
  command: runCommandPart,
  backups: runBackupsPart,
  datasets: runDatasetsPart,
};

/** Runs one part with the runner of its kind. */
export function runPart(part: PlanPart, context: Parameters<PartRunner<PlanPart>>[1]) {
  return (PART_RUNNERS[part.kind] as PartRunner<PlanPart>)(part, context);
}
