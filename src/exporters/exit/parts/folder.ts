import { ExitPlanError } from '../../shared/errors';
import type { FolderPart, PartRunner } from '../types';

/** The folder part of an exit run. */
export const runFolderPart: PartRunner<FolderPart> = async (part) => {
  throw new ExitPlanError(`The folder part "${part.name}" cannot run yet.`);
};
