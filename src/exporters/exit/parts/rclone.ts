// The rclone part of an exit run: files from any rclone remote (S3, GCS, SFTP, WebDAV, a configured remote).
import { ExitPlanError } from '../../shared/errors';
import type { PartRunner, RclonePart } from '../types';

export const runRclonePart: PartRunner<RclonePart> = async (part) => {
  throw new ExitPlanError(`The rclone part "${part.name}" cannot run yet.`);
};
