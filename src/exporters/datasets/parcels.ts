import * as fs from 'node:fs';
import * as path from 'node:path';
import { utcStamp } from '../shared/format';

/** `YYYY-MM-DDTHHMMSSZ`, UTC: the parcel id format of export_manager. */
const PARCEL_ID_PATTERN = /^\d{4}-\d{2}-\d{2}T\d{6}Z$/;
const PARCEL_ID_LENGTH = 18;

export function parcelIdOf(date: Date): string {
  return utcStamp(date);
}

/** The time a parcel id stands for, or undefined when it is not one. */
export function parseParcelId(id: string): Date | undefined {
  if (!PARCEL_ID_PATTERN.test(id)) return undefined;
  const iso = `${id.slice(0, 13)}:${id.slice(13, 15)}:${id.slice(15, 17)}Z`;
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

/** The parcel id of a name in data/, incomplete/ or log/: the id itself, or the id and an extension. */
export function parcelIdOfName(name: string): string | undefined {
  if (name.length < PARCEL_ID_LENGTH) return undefined;
  const id = name.slice(0, PARCEL_ID_LENGTH);
  if (name.length > PARCEL_ID_LENGTH && name[PARCEL_ID_LENGTH] !== '.') return undefined;
  return PARCEL_ID_PATTERN.test(id) ? id : undefined;
}

/** One parcel as found on disk. */
export interface Parcel {
  id: string;
  /** Names in data/ (a complete parcel has exactly one: a file with an extension, or a folder). */
  data: string[];
  /** Names in incomplete/ (a failed or interrupted export). */
  incomplete: string[];
  /** log/<id>.out and log/<id>.err exist. */
  out: boolean;
  err: boolean;
}

export function isComplete(parcel: Parcel): boolean {
  return parcel.data.length > 0;
}

/** The dataset's folders and files, as export_manager lays them out. */
export function datasetPaths(dir: string) {
  return {
    dir,
    config: path.join(dir, 'config.toml'),
    metrics: path.join(dir, 'metrics.csv'),
    data: path.join(dir, 'data'),
    incomplete: path.join(dir, 'incomplete'),
    log: path.join(dir, 'log'),
  };
}

async function names(dir: string): Promise<string[]> {
  try {
    return await fs.promises.readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

/**
 * Every parcel with data (complete or not) or a log, oldest first. One readdir per folder and no stat,
 * so it stays fast with thousands of parcels. Names that are not parcels (dot files, other files) are ignored.
 */
export async function listParcels(dir: string): Promise<Parcel[]> {
  const p = datasetPaths(dir);
  const [data, incomplete, log] = await Promise.all([names(p.data), names(p.incomplete), names(p.log)]);
  const parcels = new Map<string, Parcel>();
  const get = (id: string) => {
    let parcel = parcels.get(id);
    if (!parcel) {
      parcel = { id, data: [], incomplete: [], out: false, err: false };
      parcels.set(id, parcel);
    }
    return parcel;
  };
  for (const name of data) {
    const id = parcelIdOfName(name);
    if (id) get(id).data.push(name);
  }
  for (const name of incomplete) {
    const id = parcelIdOfName(name);
    if (id) get(id).incomplete.push(name);
  }
  for (const name of log) {
    const id = parcelIdOfName(name);
    if (!id) continue;
    if (name === `${id}.out`) get(id).out = true;
    else if (name === `${id}.err`) get(id).err = true;
  }
  return [...parcels.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}
