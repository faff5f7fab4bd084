import * as fs from 'node:fs';
import * as path from 'node:path';
import picomatch from 'picomatch';
import { ExitPlanError, errorMessage, systemCode } from '../shared/errors';
import { expandHome } from '../shared/paths';
import { datasetPaths } from './parcels';

/** Folders and files of the dataset itself, never ingested even when a glob matches them. */
const OWN_NAMES = ['config.toml', 'metrics.csv', 'data', 'incomplete', 'log', '.git', '.gitignore'];

/**
 * The files and folders that `ingest.paths` globs match now: absolute, `~/…`, or relative to the dataset.
 * Hidden names are not matched (as Python's glob), nor anything of the dataset's own layout. A glob that
 * matches the dataset folder itself or a folder holding it (`..`, `../*`) is refused before anything moves:
 * a folder cannot be moved into itself.
 */
export async function findIngestable(dir: string, patterns: string[]): Promise<string[]> {
  const found = new Set<string>();
  const own = OWN_NAMES.map((n) => path.join(dir, n));
  const real = await realPath(dir);
  for (const raw of patterns) {
    const absolute = path.resolve(dir, expandHome(raw));
    for (const match of await globPaths(absolute)) {
      if (own.some((o) => match === o || match.startsWith(`${o}${path.sep}`))) continue;
      const target = await realPath(match);
      if (target === real || real.startsWith(target.endsWith(path.sep) ? target : `${target}${path.sep}`)) {
        const which = target === real ? 'the dataset folder itself' : 'a folder holding the dataset';
        throw new ExitPlanError(
          `${datasetPaths(dir).config}: ingest.paths "${raw}" matches ${match}, which is ${which}; ` +
            'a folder cannot be ingested into itself, so nothing was moved (make the glob match only the files to ingest).',
          'CONFIG',
        );
      }
      found.add(match);
    }
  }
  return [...found].sort();
}

async function realPath(p: string): Promise<string> {
  return fs.promises.realpath(p).catch(() => path.resolve(p));
}

/** Absolute paths matching an absolute glob. A pattern without magic matches itself when it exists. */
async function globPaths(pattern: string): Promise<string[]> {
  const scan = picomatch.scan(pattern);
  if (!scan.isGlob) return (await exists(pattern)) ? [pattern] : [];
  const base = scan.base || '/';
  const isMatch = picomatch(scan.glob, { dot: false });
  const deep = scan.glob.includes('**');
  const depth = scan.glob.split('/').length;
  const results: string[] = [];
  const walk = async (folder: string, rel: string, level: number): Promise<void> => {
    let entries: fs.Dirent[];
    try {
      entries = await fs.promises.readdir(folder, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const relPath = rel ? `${rel}/${entry.name}` : entry.name;
      const full = path.join(folder, entry.name);
      if (isMatch(relPath)) results.push(full);
      if (entry.isDirectory() && !entry.name.startsWith('.') && (deep || level + 1 < depth)) await walk(full, relPath, level + 1);
    }
  };
  await walk(base, '', 0);
  // A folder that matched is ingested whole: drop what matched inside it.
  return results.filter((r) => !results.some((o) => o !== r && r.startsWith(`${o}${path.sep}`)));
}

async function exists(p: string): Promise<boolean> {
  try {
    await fs.promises.lstat(p);
    return true;
  } catch {
    return false;
  }
}

/** `.json`, `.tar.gz`: the extension a parcel keeps (folders keep none). */
function parcelExtension(name: string, isDirectory: boolean): string {
  if (isDirectory) return '';
  const m = /(\.tar)?\.[A-Za-z0-9]+$/.exec(name);
  return m && m.index > 0 ? m[0] : '';
}

/**
 * Moves `source` into data/ as `<parcelId><ext>`: a rename on the same file system; across file systems a
 * copy into incomplete/ first, renamed into data/, and only then the source removed (never lost half-way).
 * Returns the name in data/.
 */
export async function moveIntoDataset(dir: string, source: string, parcelId: string): Promise<string> {
  const p = datasetPaths(dir);
  const stat = await fs.promises.stat(source);
  const name = `${parcelId}${parcelExtension(path.basename(source), stat.isDirectory())}`;
  const target = path.join(p.data, name);
  await fs.promises.mkdir(p.data, { recursive: true });
  if (await exists(target)) throw new ExitPlanError(`Cannot ingest ${source}: ${target} exists already.`);
  try {
    await fs.promises.rename(source, target);
    return name;
  } catch (err) {
    if (systemCode(err) !== 'EXDEV')
      throw new ExitPlanError(`Cannot move ${source} into ${p.data}: ${errorMessage(err)}.`, systemCode(err), { cause: err });
  }
  await fs.promises.mkdir(p.incomplete, { recursive: true });
  const staging = path.join(p.incomplete, `.ingest-${name}`);
  try {
    await fs.promises.cp(source, staging, { recursive: true, preserveTimestamps: true, errorOnExist: true, force: false });
    await fs.promises.rename(staging, target);
  } catch (err) {
    await fs.promises.rm(staging, { recursive: true, force: true });
    throw new ExitPlanError(
      `Cannot copy ${source} into ${p.data}: ${errorMessage(err)}; the source was left where it was.`,
      systemCode(err),
      { cause: err },
    );
  }
  await fs.promises.rm(source, { recursive: true, force: true });
  return name;
}
