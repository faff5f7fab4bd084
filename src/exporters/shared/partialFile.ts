import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ExitPlanError, describeWriteError, systemCode } from './errors';

const OWNER = '.owner';
/** The start of the line logged for each leftover partial removed (the CLI prints it on stderr). */
export const LEFTOVER_REMOVED = 'Removed a leftover partial archive from an interrupted run: ';

/**
 * A file written under `<final>.partial` and given its final name only by `commit()`, which never
 * overwrites an existing file: if the name is taken it picks `<stem>-2<ext>`, `<stem>-3<ext>`, …
 *
 * While it is written, `<final>.partial.owner` records who writes it (host, pid, boot id and process start
 * time). The owner record is created before the partial and removed after it, so a partial of a live
 * writer always has one. A later `create` in the same folder removes the partials whose owner is gone
 * (killed, or from before a reboot), as restic removes stale locks; a partial whose owner may be alive
 * (or runs on another host) is never touched.
 */
export class PartialFile {
  readonly stream: fs.WriteStream;
  private committed = false;

  private constructor(
    private readonly wantedPath: string,
    /** 1 for the wanted name, n for `<stem>-n<ext>`. */
    private suffix: number,
    readonly partialPath: string,
    stream: fs.WriteStream,
  ) {
    this.stream = stream;
  }

  /** The name the file gets if nobody takes it first. */
  get finalPath(): string {
    return withSuffix(this.wantedPath, this.suffix);
  }

  /**
   * Creates the folder if needed, removes partials left by writers that are gone (saying so through `log`),
   * and opens `<final>.partial` exclusively under the first name that neither a finished file nor another
   * partial holds.
   */
  static async create(wantedPath: string, options: { log?: (line: string) => void } = {}): Promise<PartialFile> {
    const dir = path.dirname(wantedPath);
    await prepareFolder(dir);
    await removeStalePartials(dir, options.log ?? (() => undefined));
    for (let suffix = 1; ; suffix++) {
      const finalPath = withSuffix(wantedPath, suffix);
      if (fs.existsSync(finalPath)) continue;
      const partialPath = `${finalPath}.partial`;
      if (fs.existsSync(partialPath)) continue;
      // The owner record is the claim: whoever creates it first writes this partial; the others move on.
      let claimed: boolean;
      try {
        claimed = await claim(`${partialPath}${OWNER}`);
      } catch (err) {
        throw new ExitPlanError(describeWriteError(err, `${partialPath}${OWNER}`) ?? `Cannot create ${partialPath}${OWNER}: ${(err as Error).message}.`, systemCode(err), { cause: err });
      }
      if (!claimed) continue;
      const stream = fs.createWriteStream(partialPath, { flags: 'wx', highWaterMark: 1 << 20 });
      try {
        await once(stream, 'open');
      } catch (err) {
        await fs.promises.rm(`${partialPath}${OWNER}`, { force: true });
        // A partial nobody claimed (e.g. from an older version) holds the name: leave it alone, take the next.
        if (systemCode(err) === 'EEXIST') continue;
        throw new ExitPlanError(describeWriteError(err, partialPath) ?? `Cannot create ${partialPath}: ${(err as Error).message}.`, systemCode(err), { cause: err });
      }
      return new PartialFile(wantedPath, suffix, partialPath, stream);
    }
  }

  /** Waits until everything written so far is on disk (the stream must have been ended). */
  async closed(): Promise<void> {
    if (!this.stream.closed) {
      await new Promise<void>((resolve, reject) => {
        this.stream.once('close', resolve);
        this.stream.once('error', reject);
      });
    }
    const fd = await fs.promises.open(this.partialPath, 'r+');
    try {
      await fd.sync();
    } finally {
      await fd.close();
    }
  }

  /** Gives the finished file its final name (never replacing another file) and returns that name. */
  async commit(): Promise<string> {
    for (;;) {
      const target = this.finalPath;
      try {
        await fs.promises.link(this.partialPath, target);
        await fs.promises.unlink(this.partialPath);
        break;
      } catch (err) {
        const code = systemCode(err);
        if (code === 'EEXIST') {
          this.suffix++;
          continue;
        }
        // File systems without hard links: check, then rename.
        if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP') throw err;
        if (fs.existsSync(target)) {
          this.suffix++;
          continue;
        }
        await fs.promises.rename(this.partialPath, target);
        break;
      }
    }
    this.committed = true;
    await fs.promises.rm(`${this.partialPath}${OWNER}`, { force: true });
    return this.finalPath;
  }

  /** Stops writing and removes the partial file. Safe to call more than once. */
  async discard(): Promise<void> {
    if (this.committed) return;
    if (!this.stream.destroyed) this.stream.destroy();
    await new Promise<void>((resolve) => (this.stream.closed ? resolve() : this.stream.once('close', () => resolve())));
    await fs.promises.rm(this.partialPath, { force: true });
    await fs.promises.rm(`${this.partialPath}${OWNER}`, { force: true });
  }
}

function withSuffix(file: string, n: number): string {
  if (n === 1) return file;
  const ext = path.extname(file);
  return `${file.slice(0, file.length - ext.length)}-${n}${ext}`;
}

/** Creates the folder (and its parents) or says in one sentence why it cannot be written to. */
async function prepareFolder(dir: string): Promise<void> {
  try {
    await fs.promises.mkdir(dir, { recursive: true });
    await fs.promises.access(dir, fs.constants.W_OK);
  } catch (err) {
    const code = systemCode(err);
    if (code === 'EEXIST' || code === 'ENOTDIR') {
      // The folder, or a folder on the way to it, is a file.
      let file = dir;
      while (path.dirname(file) !== file && !isFile(file)) file = path.dirname(file);
      if (isFile(file)) throw new ExitPlanError(`${file} is a file, not a folder; nothing was written.`, code, { cause: err });
    }
    throw new ExitPlanError(describeWriteError(err, `to the folder ${dir}`) ?? `Cannot write to the folder ${dir}: ${(err as Error).message}.`, code, { cause: err });
  }
}

function isFile(p: string): boolean {
  try {
    return !fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** Who writes a partial: enough to tell, after a kill or a reboot, that this writer is gone. */
interface Owner {
  host: string;
  pid: number;
  /** Linux: /proc/sys/kernel/random/boot_id, new at every boot. */
  bootId?: string;
  /** Linux: the process's start time in clock ticks since boot (/proc/<pid>/stat), which a reused pid does not share. */
  startTime?: string;
}

function readOrUndefined(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

function bootId(): string | undefined {
  return readOrUndefined('/proc/sys/kernel/random/boot_id')?.trim() || undefined;
}

function startTime(pid: number): string | undefined {
  const stat = readOrUndefined(`/proc/${pid}/stat`);
  // Field 22; the command name (field 2) is in parentheses and may hold spaces.
  return stat?.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
}

function currentOwner(): Owner {
  return { host: os.hostname(), pid: process.pid, bootId: bootId(), startTime: startTime(process.pid) };
}

/** False only when the owner is certainly gone: same host, and a different boot, or no such process, or another process under its pid. */
function ownerMayBeAlive(owner: Owner): boolean {
  if (owner.host !== os.hostname() || !Number.isInteger(owner.pid) || owner.pid <= 0) return true;
  const boot = bootId();
  if (owner.bootId && boot && owner.bootId !== boot) return false;
  if (!processExists(owner.pid)) return false;
  const started = startTime(owner.pid);
  return !(owner.startTime && started && owner.startTime !== started);
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return systemCode(err) !== 'ESRCH';
  }
}

function readOwner(file: string): Owner | undefined {
  try {
    const o = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<Owner>;
    return typeof o.host === 'string' && typeof o.pid === 'number' ? (o as Owner) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Creates the owner record `file` for this process, complete or not at all (written aside, then linked):
 * false when another writer holds it.
 */
async function claim(file: string): Promise<boolean> {
  const aside = `${file}.${process.pid}-${randomBytes(4).toString('hex')}`;
  await fs.promises.writeFile(aside, `${JSON.stringify(currentOwner())}\n`, { flag: 'wx' });
  try {
    await fs.promises.link(aside, file);
    return true;
  } catch (err) {
    const code = systemCode(err);
    if (code === 'EEXIST') return false;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP') throw err;
    // File systems without hard links: an exclusive create (a reader may briefly see it empty and keep it).
    try {
      await fs.promises.writeFile(file, `${JSON.stringify(currentOwner())}\n`, { flag: 'wx' });
      return true;
    } catch (e) {
      if (systemCode(e) === 'EEXIST') return false;
      throw e;
    }
  } finally {
    await fs.promises.rm(aside, { force: true });
  }
}

/** Removes `<name>.partial` files (and their owner records) whose writer is gone, one log line each. */
async function removeStalePartials(dir: string, log: (line: string) => void): Promise<void> {
  let names: string[];
  try {
    names = await fs.promises.readdir(dir);
  } catch {
    return;
  }
  for (const name of names) {
    // An owner record being written aside (or set aside for removal) by a process that was killed meanwhile.
    const junk = /\.partial\.owner\.(\d+)-[0-9a-f]{8}(\.stale)?$/.exec(name);
    if (junk && !processExists(Number(junk[1]))) await fs.promises.rm(path.join(dir, name), { force: true });
    if (!name.endsWith(`.partial${OWNER}`)) continue;
    const ownerFile = path.join(dir, name);
    const partial = ownerFile.slice(0, -OWNER.length);
    let before: fs.Stats;
    try {
      before = fs.statSync(ownerFile);
    } catch {
      continue;
    }
    const owner = readOwner(ownerFile);
    if (!owner || ownerMayBeAlive(owner)) continue;
    // Move the record aside first: of several writers cleaning up at once, one removes the partial.
    const aside = `${ownerFile}.${process.pid}-${randomBytes(4).toString('hex')}.stale`;
    try {
      await fs.promises.rename(ownerFile, aside);
    } catch {
      continue;
    }
    const moved = fs.statSync(aside);
    if (moved.ino !== before.ino || moved.dev !== before.dev) {
      // A new writer claimed the name meanwhile: give its record back.
      await fs.promises.link(aside, ownerFile).catch(() => undefined);
      await fs.promises.rm(aside, { force: true });
      continue;
    }
    const existed = fs.existsSync(partial);
    await fs.promises.rm(partial, { force: true });
    await fs.promises.rm(aside, { force: true });
    if (existed) log(`${LEFTOVER_REMOVED}${partial}`);
  }
}
