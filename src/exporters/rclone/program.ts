// Where rclone is: EXIT_PLAN_RCLONE, else PATH (VS Code adds its setting exitPlan.rclonePath before these).
import { findOnPath } from '../shared/programs';

/** The environment variable that names rclone's path, when it is not on PATH. */
export const RCLONE_ENV = 'EXIT_PLAN_RCLONE';

/** rclone's path from EXIT_PLAN_RCLONE, else the first `rclone` on PATH; undefined when there is none. */
export function findRclone(env: Record<string, string | undefined> = process.env): string | undefined {
  const given = env[RCLONE_ENV];
  if (given !== undefined && given.trim() !== '') return given;
  return findOnPath('rclone');
}
