import { ExitPlanError } from '../../shared/errors';
import type { BackupsPart, PartRunner } from '../types';

/** The backups part of an exit run. */
export const runBackupsPart: PartRunner<BackupsPart> = async (part) => {
  throw new ExitPlanError(`The backups part "${part.name}" cannot run yet.`);
};
