import * as fs from 'node:fs';
import * as path from 'node:path';
import { ExitPlanError, describeWriteError, errorMessage, systemCode } from '../shared/errors';
import { commitChanges, gitInit } from './git';
import { LOCK_FILE } from './lock';
import { datasetPaths } from './parcels';

/** metrics.csv of a new dataset, byte for byte as export_manager writes it. */
export const INITIAL_METRICS_CSV = 'parcel_id,success,files,bytes';

/** .gitignore of a new git dataset: export_manager's, plus Exit Plan's lock file. */
const DEFAULT_GITIGNORE = `.DS_Store\nincomplete/\nlog/\n/secrets*\n/${LOCK_FILE}\n`;

/** A commented config.toml: nothing runs until the user uncomments cmd and interval. */
export const CONFIG_TEMPLATE = `# A dataset managed by Exit Plan (and compatible with export_manager).
# Uncomment and edit, then run: exit-plan datasets process <this folder>

# Shell command that writes one export (run as /bin/sh -c, in this folder). $PARCEL_PATH is
# <this folder>/incomplete/<parcel id> without an extension: write $PARCEL_PATH.json (any extension), or make a
# folder there. $DATASET_PATH is this folder.
# cmd = "curl -fsS https://example.com/export > $PARCEL_PATH.json"

# Export again when the newest complete parcel is this old (less 5 minutes). Without it, never due.
# interval = "1 day"

# Keep this many of the newest complete parcels; older ones are deleted. Without it, all are kept.
# keep = 5

# Custom metrics, recorded in metrics.csv: the command's trimmed output; $PARCEL_PATH is the parcel's data.
# metrics.lines.cmd = "wc -l < $PARCEL_PATH"

# Move files that appear here into the dataset as parcels (globs: absolute, ~/..., or relative to this folder).
# ingest.paths = ["~/Downloads/export-*.zip"]
# ingest.time_source = "mtime"   # or "now"

# Exit Plan only (export_manager ignores these):
# timeout = "2 hours"        # stop the command and everything it started, and record a failure
# retries = 2                # try again after a failure, waiting retry_delay, then twice as long...
# retry_delay = "1 minute"
# shrink_alert = 0.2         # alert when bytes, files or a metric drops by more than 20 % since the last success
`;

export interface InitResult {
  dir: string;
  /** Files and folders made (existing ones are left alone). */
  created: string[];
  committed: boolean;
}

/**
 * Makes the dataset layout (config.toml, metrics.csv, data/, incomplete/, log/), leaving anything that exists.
 * With `git`, also a repository, a .gitignore, `git = true` in a new config.toml, and a first commit.
 */
export async function initDataset(dirArg: string, options: { git?: boolean } = {}): Promise<InitResult> {
  const dir = path.resolve(dirArg);
  const p = datasetPaths(dir);
  const created: string[] = [];
  try {
    const stat = await fs.promises.stat(dir).catch(() => undefined);
    if (stat && !stat.isDirectory()) throw new ExitPlanError(`${dir} is a file, not a folder.`);
    for (const folder of [dir, p.data, p.incomplete, p.log]) {
      if (!fs.existsSync(folder)) {
        await fs.promises.mkdir(folder, { recursive: true });
        created.push(folder);
      }
    }
    const write = async (file: string, content: string) => {
      try {
        await fs.promises.writeFile(file, content, { flag: 'wx' });
        created.push(file);
      } catch (err) {
        if (systemCode(err) !== 'EEXIST') throw err;
      }
    };
    await write(p.config, options.git ? `${CONFIG_TEMPLATE}\ngit = true\n` : CONFIG_TEMPLATE);
    await write(p.metrics, INITIAL_METRICS_CSV);
    let committed = false;
    if (options.git) {
      if (!fs.existsSync(path.join(dir, '.git'))) await gitInit(dir);
      await write(path.join(dir, '.gitignore'), DEFAULT_GITIGNORE);
      committed = await commitChanges(dir, '[exit-plan] initialize', { add: ['.gitignore', 'config.toml', 'metrics.csv'] });
    }
    return { dir, created, committed };
  } catch (err) {
    if (err instanceof ExitPlanError) throw err;
    throw new ExitPlanError(describeWriteError(err, dir) ?? `Cannot make the dataset ${dir}: ${errorMessage(err)}.`, systemCode(err), {
      cause: err,
    });
  }
}
