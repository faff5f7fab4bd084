import { ExitPlanError } from '../../shared/errors';
import type { CommandPart, PartRunner } from '../types';

/** The command part of an exit run. */
export const runCommandPart: PartRunner<CommandPart> = async (part) => {
  throw new ExitPlanError(`The command part "${part.name}" cannot run yet.`);
};
