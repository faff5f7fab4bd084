// The rclone part of an exit run: every file of an rclone remote (S3, Google Cloud Storage, SFTP, WebDAV, a remote
// of the user's rclone config) copied under `files/<path>` with files-manifest.csv, by the same core as the CLI's
// `files copy`. Resumable: unlike the other parts, what an earlier attempt copied stays, and rclone copies only
// what is missing or different. See README "Files from S3, Google Cloud Storage or any rclone remote".
import { ExitPlanError } from '../../shared/errors';
import { formatBytes, plural } from '../../shared/format';
import { copyRemote, describeRcloneProgress, rcloneProgressFraction, RCLONE_MANIFEST } from '../../rclone/copy';
import { describeRemote } from '../../rclone/remote';
import type { PartOutcome, PartRunner, RclonePart } from '../types';

/** The sentence of a part whose rclone cannot be found. */
export function rcloneMissing(partName: string): ExitPlanError {
  return new ExitPlanError(
    `The rclone part "${partName}" needs rclone, which was not found: install it (Debian or Ubuntu: apt install rclone; ` +
      'elsewhere rclone.org/install) or name it in EXIT_PLAN_RCLONE (VS Code: the setting exitPlan.rclonePath).',
    'ENOENT',
  );
}

export const runRclonePart: PartRunner<RclonePart> = async (part, ctx) => {
  const rclonePath = await ctx.resolvers.rclone?.();
  if (!rclonePath) throw rcloneMissing(part.name);
  const result = await copyRemote({
    remote: part.remote,
    flags: part.flags,
    to: ctx.dir,
    rclonePath,
    signal: ctx.signal,
    log: ctx.log,
    onProgress: (p) => ctx.onProgress?.({ text: describeRcloneProgress(p), fraction: rcloneProgressFraction(p) }),
  });
  const outcome: PartOutcome = {
    // The files are listed in files-manifest.csv, not one by one in part.json: a bucket may hold millions.
    files: [{ path: RCLONE_MANIFEST, bytes: result.manifest.bytes, sha256: result.manifest.sha256 }],
    totals: { files: result.files + 1, bytes: result.bytes + result.manifest.bytes },
    verification: `${result.verification} (${plural(result.files, 'file')}, ${formatBytes(result.bytes)})`,
    details: {
      remote: describeRemote(part.remote),
      ...(part.flags && part.flags.length > 0 ? { flags: part.flags } : {}),
      files: result.files,
      bytes: result.bytes,
      hash: result.hash ?? null,
      filesWithoutHash: result.unhashed,
      copiedNow: result.copied.files,
      copiedBytesNow: result.copied.bytes,
    },
  };
  if (result.notes.length > 0) outcome.notes = result.notes;
  return outcome;
};
