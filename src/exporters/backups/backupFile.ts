import * as path from 'node:path';
import { PartialFile } from '../shared/partialFile';
import { copyName, nextCopyName } from './names';
import { sidecarPath, sidecarText, type Sidecar } from './sidecar';

/**
 * A new backup file in `dir`: a PartialFile named as the next free copy of the minute (`-2`, `-3`, … after
 * the highest one there, never a freed plain name), so same-minute backups sort in creation order.
 */
export async function createBackupFile(dir: string, fileName: string, log?: (line: string) => void): Promise<PartialFile> {
  const { copy } = await nextCopyName(dir, fileName);
  return PartialFile.create(path.join(dir, fileName), { log, firstCopy: copy, copyPath: (n) => path.join(dir, copyName(fileName, n)) });
}

/**
 * Gives a finished backup its final name with its sidecar already in place beside it (written first under a
 * temporary name), so a backup under its final name always has its sidecar.
 */
export async function commitWithSidecar(
  partial: PartialFile,
  sidecarFor: (file: string) => Sidecar,
): Promise<{ file: string; sidecar: Sidecar }> {
  let sidecar: Sidecar | undefined;
  const file = await partial.commit({ path: sidecarPath, content: (target) => sidecarText((sidecar = sidecarFor(target))) });
  return { file, sidecar: sidecar! };
}
