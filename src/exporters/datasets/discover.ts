import * as fs from 'node:fs';
import * as path from 'node:path';
import { expandHome } from '../shared/paths';

/** A root that is neither a dataset nor holds any. */
export interface RootProblem {
  root: string;
  message: string;
  /** The folder exists but holds no dataset (yet): not an error, Create Dataset can make one in it. */
  empty?: boolean;
}

/**
 * The datasets under each root: the root itself when it has a config.toml, otherwise its direct subfolders
 * that have one (like `export_manager process ~/exports/*`). Sorted, without duplicates.
 */
export async function findDatasets(roots: readonly string[]): Promise<{ datasets: string[]; problems: RootProblem[] }> {
  const datasets: string[] = [];
  const problems: RootProblem[] = [];
  for (const raw of roots) {
    const root = path.resolve(expandHome(raw));
    const stat = await fs.promises.stat(root).catch(() => undefined);
    if (!stat) {
      problems.push({ root, message: `${root} does not exist.` });
      continue;
    }
    if (!stat.isDirectory()) {
      problems.push({ root, message: `${root} is not a folder.` });
      continue;
    }
    if (fs.existsSync(path.join(root, 'config.toml'))) {
      datasets.push(root);
      continue;
    }
    let entries: fs.Dirent[];
    try {
      entries = await fs.promises.readdir(root, { withFileTypes: true });
    } catch (err) {
      problems.push({ root, message: `Cannot list ${root}: ${(err as Error).message}.` });
      continue;
    }
    const children = entries
      .filter((e) => e.isDirectory() && !e.name.startsWith('.') && fs.existsSync(path.join(root, e.name, 'config.toml')))
      .map((e) => path.join(root, e.name))
      .sort();
    if (children.length === 0) problems.push({ root, message: `${root} is not a dataset (no config.toml) and holds none.`, empty: true });
    datasets.push(...children);
  }
  return { datasets: [...new Set(datasets)], problems };
}
