import * as path from 'node:path';
import { plural } from '../../shared/format';
import { hashFile } from '../../shared/hashFile';
import { exportWarehouse } from '../../warehouse/export';
import { describeExportProgress, exportProgressFraction } from '../../warehouse/progress';
import { parseSubsetRoot, parseSubsetSkip } from '../../warehouse/subsetSpec';
import type { WarehousePart, PartRunner } from '../types';

/**
 * The warehouse part of an exit run: the warehouse export (the part's options, the resolved connection) into the
 * part's folder. The export verifies its archive before giving it its name; the zip's SHA-256 is recorded.
 */
export const runWarehousePart: PartRunner<WarehousePart> = async (part, context) => {
  const connection = await context.resolvers.warehouse(part);
  const result = await exportWarehouse({
    connection,
    outDir: context.dir,
    schemas: part.schemas,
    tables: part.tables,
    excludeColumns: part.excludeColumns,
    includeViews: part.includeViews,
    jobs: part.jobs,
    maxRowsPerFile: part.maxRowsPerFile,
    encoding: part.encoding,
    lockTimeoutSeconds: part.lockTimeoutSeconds,
    subset: part.subset && {
      roots: part.subset.map(parseSubsetRoot),
      skip: (part.subsetSkip ?? []).map(parseSubsetSkip),
      includeUnrelated: part.subsetIncludeUnrelated === true,
    },
    signal: context.signal,
    // Throttled by the export itself.
    onProgress: (p) => context.onProgress?.({ text: describeExportProgress(p), fraction: exportProgressFraction(p) * 0.95 }),
    log: context.log,
  });
  context.onProgress?.({ text: 'Recording the archive’s SHA-256…', fraction: 0.95 });
  const { sha256, bytes } = await hashFile(result.archive, { signal: context.signal });
  return {
    files: [{ path: path.relative(context.dir, result.archive).split(path.sep).join('/'), bytes, sha256 }],
    verification:
      'the archive re-read after it was written: its central directory, and every CSV’s size, CRC-32, SHA-256 and rows ' +
      'checked against its manifest',
    details: {
      database: result.database,
      snapshotTime: result.snapshotTime,
      serverVersion: result.serverVersion,
      tables: result.tables.length,
      rows: result.rows,
      csvBytes: result.csvBytes,
      ...(result.subset
        ? { subset: result.subset.roots.map((r) => `${r.schema}.${r.name}: ${r.predicate} (${plural(r.rows, 'row')})`).join('; ') }
        : {}),
    },
  };
};
