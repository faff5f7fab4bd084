import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { datasets } from '../exporters';
import { isDatasetNode } from '../views/datasetsTree';
import type { CommandContext } from './context';
import { isRef, type DatasetLogRef } from './invoke';
import { datasetFromArg } from './pickDataset';

/**
 * Opens a parcel's log (log/<id>.err and .out): the parcel it was invoked on, or the newest parcel with a log
 * of the dataset (picked from the palette). Empty logs are skipped; stderr first.
 */
export async function openDatasetLog(ctx: CommandContext, arg?: unknown): Promise<void> {
  const dataset = await datasetFromArg(ctx, arg, 'Dataset whose newest log to open');
  if (!dataset) return;
  const logDir = datasets.datasetPaths(dataset.path).log;
  let parcelId: string | undefined;
  if (isDatasetNode(arg, 'parcel')) {
    parcelId = arg.parcel.id;
  } else if (isRef(arg, 'dataset') && typeof (arg as Partial<DatasetLogRef>).parcel === 'string') {
    parcelId = datasets.parseParcelId((arg as DatasetLogRef).parcel!) ? (arg as DatasetLogRef).parcel : undefined;
  }
  if (!parcelId) {
    // Fresh from disk: the cached report may be older than the last run.
    const parcels = await datasets.listParcels(dataset.path);
    parcelId = [...parcels].reverse().find((p) => p.out || p.err)?.id;
  }
  if (!parcelId) {
    void vscode.window.showInformationMessage(`${dataset.name} has no log yet: its command has not run.`);
    return;
  }
  const files = ['err', 'out'].map((ext) => path.join(logDir, `${parcelId}.${ext}`)).filter((f) => fs.existsSync(f));
  const nonEmpty = files.filter((f) => fs.statSync(f).size > 0);
  const open = nonEmpty.length > 0 ? nonEmpty : files.slice(0, 1);
  if (open.length === 0) {
    void vscode.window.showInformationMessage(`${dataset.name}: parcel ${parcelId} has no log (it was ingested, or its log was removed).`);
    return;
  }
  ctx.log.info(`Opening the log of ${dataset.name} ${parcelId}`);
  for (let i = 0; i < open.length; i++) {
    await vscode.window.showTextDocument(vscode.Uri.file(open[i]), {
      preview: false,
      viewColumn: i === 0 ? vscode.ViewColumn.Active : vscode.ViewColumn.Beside,
    });
  }
}
