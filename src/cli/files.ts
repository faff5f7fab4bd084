// `exit-plan files …`: files from S3, Google Cloud Storage, SFTP, WebDAV or any rclone remote, copied and verified
// with rclone (the same core as an exit plan's [[rclone]] part). The commands, flags and help; what they do is in
// run/files.ts, loaded when one runs.
import type { Command } from 'commander';
import { collect } from './common';

const run = () => import('./run/files.js');

export function addFilesCommands(program: Command): void {
  const cmd = program
    .command('files')
    .description('Files from S3, Google Cloud Storage, SFTP, WebDAV or any rclone remote: copy them out, verified, or count them.');
  const fromHelp =
    "an rclone remote: ':s3,provider=AWS,env_auth=true:bucket/prefix', ':gcs,env_auth=true:bucket', ':sftp,host=HOST,user=USER:path', " +
    "or 'NAME:path' from your rclone config (secrets only in rclone's environment variables or config)";
  const flagHelp = 'an extra rclone flag, one argument each (repeat it: --flag --transfers=8 --flag --exclude --flag "*.tmp")';

  cmd
    .command('copy')
    .description(
      'Copy every file of a remote into DIR/files/ with DIR/files-manifest.csv, then verify it with rclone check ' +
        '(exit 0 verified, 1 failed, 130 cancelled). Run again, it copies only what is missing or different.',
    )
    .requiredOption('--from <remote>', fromHelp)
    .requiredOption('--to <dir>', 'the destination folder (made if missing)')
    .option('--flag <arg>', flagHelp, collect)
    .option('--json', 'print { remote, to, files, bytes, copiedFiles, copiedBytes, hash, verification, manifest, notes }')
    .option('--quiet', 'no progress on stderr')
    .action(async (opts) => (await run()).copyFiles(opts));

  cmd
    .command('size')
    .description("Count a remote's files and bytes (rclone size).")
    .requiredOption('--from <remote>', fromHelp)
    .option('--flag <arg>', flagHelp, collect)
    .option('--json', 'print { files, bytes }')
    .action(async (opts) => (await run()).sizeFiles(opts));
}
