import * as fs from 'node:fs';
import * as path from 'node:path';
import { utcStamp } from '../shared/format';

/** Length of a parcel id: `YYYY-MM-DDTHHMMSSZ`, UTC, export_manager's format. */
const PARCEL_ID_LENGTH = 18;

export function parcelIdOf(date: Date): string {
  return utcStamp(date);
}

/** The time a parcel id stands for, or undefined when it is not one. */
export function parseParcelId(id: string): Date | undefined {
  const time = parcelTime(id);
  return Number.isNaN(time) ? undefined : new Date(time);
}

/**
 * The time a parcel id stands for in milliseconds since the epoch, NaN when it is not one: what
 * `new Date("YYYY-MM-DDTHH:MM:SSZ")` makes of it (a day past the month's end runs into the next month, and
 * 24:00:00 is the next day's midnight), read from its characters without making a string or a Date, since a
 * report reads thousands.
 */
export function parcelTime(id: string): number {
  if (id.length !== PARCEL_ID_LENGTH || !isParcelName(id)) return NaN;
  const year = digits(id, 0, 4);
  const month = digits(id, 5, 2);
  const day = digits(id, 8, 2);
  const hour = digits(id, 11, 2);
  const minute = digits(id, 13, 2);
  const second = digits(id, 15, 2);
  if (month < 1 || month > 12 || day < 1 || day > 31 || minute > 59 || second > 59) return NaN;
  if (hour > 24 || (hour === 24 && (minute > 0 || second > 0))) return NaN;
  return (daysFromCivil(year, month) + day - 1) * DAY_MS + ((hour * 60 + minute) * 60 + second) * 1000;
}

const DAY_MS = 24 * 60 * 60 * 1000;

function digits(text: string, at: number, count: number): number {
  let n = 0;
  for (let i = at; i < at + count; i++) n = n * 10 + text.charCodeAt(i) - 48;
  return n;
}

/** Days from 1970-01-01 to the first of the month, in the proleptic Gregorian calendar (H. Hinnant's days_from_civil). */
function daysFromCivil(year: number, month: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5);
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/** The parcel id of a name in data/, incomplete/ or log/: the id itself, or the id and an extension. */
export function parcelIdOfName(name: string): string | undefined {
  return isParcelName(name) ? name.slice(0, PARCEL_ID_LENGTH) : undefined;
}

/** The parcel id format (`YYYY-MM-DDTHHMMSSZ`) as character codes: 0 a digit, else that character. */
const ID_SHAPE = Array.from('0000-00-00T000000Z', (c) => (c === '0' ? 0 : c.charCodeAt(0)));

/**
 * Whether a name is a parcel's (`parcelIdOfName` would return its id), checked on its characters: listings
 * hold thousands of names, and this makes no string.
 */
function isParcelName(name: string): boolean {
  if (name.length < PARCEL_ID_LENGTH || (name.length > PARCEL_ID_LENGTH && name.charCodeAt(PARCEL_ID_LENGTH) !== 46)) return false;
  for (let i = 0; i < PARCEL_ID_LENGTH; i++) {
    const c = name.charCodeAt(i);
    if (ID_SHAPE[i] === 0 ? c < 48 || c > 57 : c !== ID_SHAPE[i]) return false;
  }
  return true;
}

/** log/<id>.out or log/<id>.err: what makes a log count as its parcel's. */
function isParcelLog(name: string): boolean {
  return name.length === PARCEL_ID_LENGTH + 4 && (name.endsWith('.out') || name.endsWith('.err')) && isParcelName(name);
}

/**
 * The newest parcel name among `names` that passes `valid`. A name starts with its id, so whole names compare as
 * their ids do; only a name newer than the newest so far is checked. From the end: file systems often list in
 * creation (or name) order, where the newest comes last and is checked once.
 */
function newestName(names: readonly string[], valid: (name: string) => boolean): string | undefined {
  let newest: string | undefined;
  for (let i = names.length - 1; i >= 0; i--) {
    const name = names[i];
    if ((newest === undefined || name > newest) && valid(name)) newest = name;
  }
  return newest;
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

/** What a report needs from a dataset's folders, without an object per parcel. */
export interface DiskSummary {
  /** The newest parcel with data (complete or not) or a log, and whether it is complete. */
  newest?: { id: string; complete: boolean };
  /** The id of the newest complete parcel (with a name in data/). */
  newestComplete?: string;
}

function summarize(data?: string, incomplete?: string, log?: string): DiskSummary {
  const newestComplete = data?.slice(0, PARCEL_ID_LENGTH);
  const other = (log === undefined ? incomplete : incomplete === undefined || log > incomplete ? log : incomplete)?.slice(
    0,
    PARCEL_ID_LENGTH,
  );
  const summary: DiskSummary = {};
  if (newestComplete !== undefined) summary.newestComplete = newestComplete;
  if (newestComplete !== undefined && (other === undefined || newestComplete >= other))
    summary.newest = { id: newestComplete, complete: true };
  else if (other !== undefined) summary.newest = { id: other, complete: false };
  return summary;
}

/** Whether data/ has a name of the parcel. */
function hasParcel(names: readonly string[], id: string): boolean {
  return id.length === PARCEL_ID_LENGTH && names.some((name) => name.startsWith(id) && isParcelName(name));
}

/**
 * Lists data/, incomplete/ and log/ (one readdir each and no stat, so it stays fast with thousands of parcels)
 * for the newest parcel and the newest complete one. Each listing is scanned as it arrives and then dropped,
 * so a report over many datasets holds none of them for long.
 */
export async function scanParcels(dir: string): Promise<DiskSummary> {
  const p = datasetPaths(dir);
  const [data, incomplete, log] = await Promise.all([
    names(p.data).then((list) => newestName(list, isParcelName)),
    names(p.incomplete).then((list) => newestName(list, isParcelName)),
    names(p.log).then((list) => newestName(list, isParcelLog)),
  ]);
  return summarize(data, incomplete, log);
}

/** Whether the parcel is complete: data/ has a name with its id (one readdir). */
export async function hasCompleteParcel(dir: string, id: string): Promise<boolean> {
  return hasParcel(await names(datasetPaths(dir).data), id);
}

/**
 * A dataset's three folder listings, read once: every parcel (`parcels()`), or what `scanParcels` finds.
 * Names that are not parcels (dot files, other files) are ignored.
 */
export class ParcelListing {
  constructor(
    /** Names in data/, incomplete/ and log/, as listed. */
    readonly dataNames: readonly string[],
    readonly incompleteNames: readonly string[],
    readonly logNames: readonly string[],
  ) {}

  /** What `scanParcels` would find in these listings. */
  summary(): DiskSummary {
    return summarize(
      newestName(this.dataNames, isParcelName),
      newestName(this.incompleteNames, isParcelName),
      newestName(this.logNames, isParcelLog),
    );
  }

  /** Whether the parcel is complete: data/ has a name with its id. */
  isComplete(id: string): boolean {
    return hasParcel(this.dataNames, id);
  }

  /** Every parcel with data (complete or not) or a log, oldest first. */
  parcels(): Parcel[] {
    const parcels = new Map<string, Parcel>();
    const get = (id: string) => {
      let parcel = parcels.get(id);
      if (!parcel) {
        parcel = { id, data: [], incomplete: [], out: false, err: false };
        parcels.set(id, parcel);
      }
      return parcel;
    };
    for (const name of this.dataNames) if (isParcelName(name)) get(name.slice(0, PARCEL_ID_LENGTH)).data.push(name);
    for (const name of this.incompleteNames) if (isParcelName(name)) get(name.slice(0, PARCEL_ID_LENGTH)).incomplete.push(name);
    for (const name of this.logNames) {
      if (!isParcelLog(name)) continue;
      if (name.endsWith('.out')) get(name.slice(0, PARCEL_ID_LENGTH)).out = true;
      else get(name.slice(0, PARCEL_ID_LENGTH)).err = true;
    }
    return [...parcels.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }
}

/** Reads the dataset's data/, incomplete/ and log/ (a missing folder is empty). */
export async function readParcelListing(dir: string): Promise<ParcelListing> {
  const p = datasetPaths(dir);
  const [data, incomplete, log] = await Promise.all([names(p.data), names(p.incomplete), names(p.log)]);
  return new ParcelListing(data, incomplete, log);
}

/** Every parcel with data (complete or not) or a log, oldest first. */
export async function listParcels(dir: string): Promise<Parcel[]> {
  return (await readParcelListing(dir)).parcels();
}
