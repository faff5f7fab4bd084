import { ExitPlanError } from '../../shared/errors';
import type { DatasetsPart, PartRunner } from '../types';

/** The datasets part of an exit run. */
export const runDatasetsPart: PartRunner<DatasetsPart> = async (part) => {
  throw new ExitPlanError(`The datasets part "${part.name}" cannot run yet.`);
};
