import { ExitPlanError } from '../../shared/errors';
import type { WarehousePart, PartRunner } from '../types';

/** The warehouse part of an exit run. */
export const runWarehousePart: PartRunner<WarehousePart> = async (part) => {
  throw new ExitPlanError(`The warehouse part "${part.name}" cannot run yet.`);
};
