import { ExitPlanError } from '../../shared/errors';
import type { AzurePart, PartRunner } from '../types';

/** The azure part of an exit run. */
export const runAzurePart: PartRunner<AzurePart> = async (part) => {
  throw new ExitPlanError(`The azure part "${part.name}" cannot run yet.`);
};
