// `exit-plan files …` as it runs: a thin layer over src/exporters/rclone. The commands, flags and help are in ../files.ts.
import * as path from 'node:path';
import { ExitPlanError } from '../../exporters/shared/errors';
import { formatBytes, jsonText, plural, printable } from '../../exporters/shared/format';
import { copyRemote, describeRcloneProgress, sizeRemote } from '../../exporters/rclone/copy';
import { findRclone } from '../../exporters/rclone/program';
import { ProgressLine, withCancelOnSignals } from './common';

function rclone(): string {
  const found = findRclone();
  if (!found)
    throw new ExitPlanError(
      'rclone was not found: install it (Debian or Ubuntu: apt install rclone; elsewhere rclone.org/install) ' +
        'or name it in EXIT_PLAN_RCLONE.',
      'ENOENT',
    );
  return found;
}

/** `files copy --from REMOTE --to DIR` */
export async function copyFiles(opts: { from: string; to: string; flag?: string[]; json?: boolean; quiet?: boolean }): Promise<void> {
  const rclonePath = rclone();
  const printer = new ProgressLine(!opts.quiet);
  const to = path.resolve(opts.to);
  let result: Awaited<ReturnType<typeof copyRemote>>;
  try {
    result = await withCancelOnSignals((signal) =>
      copyRemote({
        remote: opts.from,
        to,
        flags: opts.flag,
        rclonePath,
        signal,
        onProgress: (p) => printer.line(p.phase, describeRcloneProgress(p)),
      }),
    );
  } finally {
    printer.end();
  }
  if (opts.json) {
    process.stdout.write(
      `${jsonText({
        remote: result.remote,
        to,
        files: result.files,
        bytes: result.bytes,
        copiedFiles: result.copied.files,
        copiedBytes: result.copied.bytes,
        hash: result.hash ?? null,
        verification: result.verification,
        manifest: result.manifest.path,
        notes: result.notes,
      })}\n`,
    );
    return;
  }
  const lines = [
    `${result.filesDir}: ${plural(result.files, 'file')}, ${formatBytes(result.bytes)}, verified ` +
      `(${plural(result.copied.files, 'file')} copied now, ${formatBytes(result.copied.bytes)}).`,
    `Verified: ${result.verification}.`,
    `Listing: ${result.manifest.path}`,
    ...result.notes,
  ];
  process.stdout.write(lines.map((l) => `${printable(l)}\n`).join(''));
}

/** `files size --from REMOTE` */
export async function sizeFiles(opts: { from: string; flag?: string[]; json?: boolean }): Promise<void> {
  const rclonePath = rclone();
  const size = await withCancelOnSignals((signal) => sizeRemote({ remote: opts.from, flags: opts.flag, rclonePath, signal }));
  process.stdout.write(opts.json ? `${jsonText(size)}\n` : `${plural(size.files, 'file')}, ${formatBytes(size.bytes)}\n`);
}
