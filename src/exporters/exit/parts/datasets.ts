import * as fs from 'node:fs';
import * as path from 'node:path';
import { findDatasets } from '../../datasets/discover';
import { readMetrics } from '../../datasets/metrics';
import { datasetPaths, isComplete, listParcels, type Parcel } from '../../datasets/parcels';
import { CancelledError, ExitPlanError, errorMessage, isCancelled, systemCode, throwIfAborted } from '../../shared/errors';
import { formatBytes, formatCount, plural } from '../../shared/format';
import type { DatasetsPart, PartFile, PartRunner } from '../types';
import { clearPartDir, copyFileSynced, shareOf, toRel, totalBytes, walkFiles, type WalkedFile } from './files';

/** Where a datasets part is: copying the `index`-th dataset (1-based) of `count`, bytes of all of them. */
export interface DatasetsPartProgress {
  index: number;
  count: number;
  dataset: string;
  parcel: string;
  bytes: number;
  total: number;
}

/** The datasets part's progress line: `Copying dataset 2/5 photos, parcel 2025-03-01T021500Z — 41 MB of 120 MB`. */
export function describeDatasetsPartProgress(p: DatasetsPartProgress): string {
  return `Copying dataset ${p.index}/${p.count} ${p.dataset}, parcel ${p.parcel} — ${formatBytes(p.bytes)} of ${formatBytes(p.total)}`;
}

export function datasetsPartProgressFraction(p: DatasetsPartProgress): number {
  return shareOf(p.bytes, p.total);
}

interface Planned {
  dir: string;
  /** The dataset's folder in the part's folder. */
  name: string;
  parcel: Parcel;
  files: WalkedFile[];
  /** Names in data/ that are folders (a parcel that is a folder). */
  folders: string[];
  /** What metrics.csv records for the parcel. */
  want: { files: number; bytes: number };
}

/**
 * The datasets part of an exit run: for each dataset under `part.dirs`, its newest complete parcel copied into
 * `<part>/<dataset name>/data/` with the dataset's metrics.csv and config.toml (the export_manager layout, so
 * the copy is a dataset itself), and verified against the files and bytes metrics.csv records for that parcel
 * (as export_manager counts them: symbolic links followed to files). A dataset without a complete parcel, or
 * whose parcel metrics.csv does not record, fails the part, naming it; nothing is copied then.
 */
export const runDatasetsPart: PartRunner<DatasetsPart> = async (part, ctx) => {
  const cancelled = `The datasets part "${part.name}" was cancelled; its unfinished copy was removed.`;
  throwIfAborted(ctx.signal, cancelled);
  const { datasets, problems } = await findDatasets(part.dirs);
  if (problems.length > 0) throw new ExitPlanError(`The datasets part "${part.name}" cannot find its datasets: ${problems[0].message}`);

  // Everything is checked before anything is copied: a dataset that cannot be taken fails the part at once.
  const planned: Planned[] = [];
  const missing: string[] = [];
  const used = new Set<string>();
  for (const dir of datasets) {
    throwIfAborted(ctx.signal, cancelled);
    const parcel = (await listParcels(dir)).filter(isComplete).pop();
    if (!parcel) {
      missing.push(`${dir} has no complete parcel`);
      continue;
    }
    const row = (await readMetrics(dir)).rows.get(parcel.id);
    const want = { files: Number(row?.files), bytes: Number(row?.bytes) };
    if (!row || row.files === '' || row.bytes === '' || !Number.isSafeInteger(want.files) || !Number.isSafeInteger(want.bytes)) {
      missing.push(`metrics.csv of ${dir} records no files and bytes for its newest complete parcel ${parcel.id}`);
      continue;
    }
    const files: WalkedFile[] = [];
    const folders: string[] = [];
    for (const name of parcel.data) {
      try {
        const abs = path.join(datasetPaths(dir).data, name);
        const st = await fs.promises.stat(abs);
        if (st.isDirectory()) {
          folders.push(name);
          const walked = await walkFiles(abs, { followLinks: true });
          files.push(...walked.files.map((f) => ({ ...f, rel: `${name}/${f.rel}` })));
        } else {
          files.push({ abs, rel: name, bytes: st.size });
        }
      } catch (err) {
        throw new ExitPlanError(`Cannot read parcel ${parcel.id} of ${dir}: ${errorMessage(err).replace(/\.$/, '')}.`, systemCode(err), {
          cause: err,
        });
      }
    }
    let name = path.basename(dir);
    for (let n = 2; used.has(name); n++) name = `${path.basename(dir)}-${n}`;
    used.add(name);
    planned.push({ dir, name, parcel, files, folders, want });
  }
  if (missing.length > 0) throw new ExitPlanError(`The datasets part "${part.name}" cannot be taken: ${missing.join('; ')}.`);

  await clearPartDir(ctx.dir);
  const total = planned.reduce((sum, p) => sum + totalBytes(p.files), 0);
  let done = 0;
  const files: PartFile[] = [];
  const taken: { dataset: string; folder: string; parcel: string; files: number; bytes: number }[] = [];
  try {
    for (const [i, plan] of planned.entries()) {
      const progress = (bytes: number): DatasetsPartProgress => ({
        index: i + 1,
        count: planned.length,
        dataset: plan.name,
        parcel: plan.parcel.id,
        bytes: done + bytes,
        total,
      });
      const report = (bytes: number) => {
        const p = progress(bytes);
        ctx.onProgress?.({ text: describeDatasetsPartProgress(p), fraction: datasetsPartProgressFraction(p) });
      };
      report(0);
      const target = path.join(ctx.dir, plan.name);
      const src = datasetPaths(plan.dir);
      let copiedFiles = 0;
      let copiedBytes = 0;
      for (const file of plan.files) {
        const to = path.join(target, 'data', ...file.rel.split('/'));
        const copied = await copyFileSynced(file.abs, to, { signal: ctx.signal, onBytes: report });
        done += copied.bytes;
        copiedFiles++;
        copiedBytes += copied.bytes;
        files.push({ path: toRel(ctx.dir, to), bytes: copied.bytes, sha256: copied.sha256 });
      }
      // A parcel folder is kept as a folder, even an empty one.
      for (const name of plan.folders) await fs.promises.mkdir(path.join(target, 'data', name), { recursive: true });
      // Counted again from the disk, as export_manager counted the parcel.
      const onDisk = (await walkFiles(path.join(target, 'data'))).files;
      const diskBytes = totalBytes(onDisk);
      if (onDisk.length !== plan.want.files || diskBytes !== plan.want.bytes) {
        throw new ExitPlanError(
          `The copy of parcel ${plan.parcel.id} of ${plan.dir} holds ${plural(onDisk.length, 'file')} (${formatCount(diskBytes)} bytes) ` +
            `but metrics.csv records ${plural(plan.want.files, 'file')} (${formatCount(plan.want.bytes)} bytes).`,
        );
      }
      for (const extra of [src.metrics, src.config]) {
        const to = path.join(target, path.basename(extra));
        const copied = await copyFileSynced(extra, to, { signal: ctx.signal });
        files.push({ path: toRel(ctx.dir, to), bytes: copied.bytes, sha256: copied.sha256 });
      }
      taken.push({ dataset: plan.dir, folder: plan.name, parcel: plan.parcel.id, files: copiedFiles, bytes: copiedBytes });
      ctx.log?.(`Copied parcel ${plan.parcel.id} of ${plan.dir} (${plural(copiedFiles, 'file')}, ${formatBytes(copiedBytes)}).`);
    }
  } catch (err) {
    if (isCancelled(err)) throw new CancelledError(cancelled);
    throw err;
  }
  const which = taken.length === 1 ? 'The copied parcel holds' : `Each of the ${formatCount(taken.length)} copied parcels holds`;
  return {
    files,
    verification: `${which} the number of files and bytes that its dataset's metrics.csv records for it.`,
    details: { datasets: taken },
  };
};
