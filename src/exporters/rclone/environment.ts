// How every rclone process is started: the one place that adapts the environment to rclone's quirks.
import * as fs from 'node:fs';

/** What to start rclone with: its environment, and global flags to put before the command's own. */
export interface RcloneEnvironment {
  env: NodeJS.ProcessEnv;
  /** Global flags (e.g. `--ca-cert FILE`), to go right after the program name. */
  args: string[];
}

/**
 * The environment and global flags for an rclone process, from `base` (default: this process's).
 *
 * `AWS_CA_BUNDLE` (set system-wide on some machines, for the AWS CLI) makes rclone 1.60's S3 backend fail
 * before any request ("LoadCustomCABundleError … unsupported transport"): the AWS SDK tries to put the bundle
 * into rclone's own HTTP transport. It is taken out of rclone's environment and the same file is given to
 * rclone as `--ca-cert`, which rclone applies to every backend, so the certificates it names are still
 * trusted (when the file does not exist it is only dropped, as rclone would fail on a missing `--ca-cert`).
 * Nothing else changes: credentials stay in rclone's own variables (`RCLONE_CONFIG_…`, `RCLONE_S3_…`,
 * `AWS_…`, `GOOGLE_APPLICATION_CREDENTIALS`) or its config file, never in argv.
 */
export function rcloneEnvironment(base: NodeJS.ProcessEnv = process.env): RcloneEnvironment {
  const env = { ...base };
  const args: string[] = [];
  const bundle = env.AWS_CA_BUNDLE;
  if (bundle !== undefined) {
    delete env.AWS_CA_BUNDLE;
    if (bundle.trim() !== '' && isFile(bundle)) args.push('--ca-cert', bundle);
  }
  return { env, args };
}

function isFile(file: string): boolean {
  try {
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}
