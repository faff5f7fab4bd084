import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ExitPlanError, describeWriteError, errorMessage, systemCode } from './errors';
import { isLive, ownLockInfo, parseLockInfo, processExists, type LockInfo } from './lock';

const OWNER = '.owner';
/** The start of the line logged for each leftover partial removed (the CLI prints it on stderr). */
export const LEFTOVER_REMOVED = 'Removed a leftover partial archive from an interrupted run: ';

/**
 * A file written under `<final>.partial` and given its final name only by `commit()`, which never
 * overwrites an existing file: if the name is taken it picks `<stem>-2<ext>`, `<stem>-3<ext>`, …
 *
 * While it is written, `<final>.partial.owner` records who writes it, as a lock file does (host, pid, time,
 * boot id and process start time: shared/lock). The owner record is created before the partial and removed after it, so a partial of a live
 * writer always has one. A later `create` in the same folder removes the partials whose owner is gone
 * (killed, or from before a reboot), as restic removes stale locks; a partial whose owner may be alive
 * (or runs on another host) is never touched.
 */
export class PartialFile {
  readonly stream: fs.WriteStream;
  private committed = false;

  private constructor(
    private readonly copyPath: (copy: number) => string,
    /** 1 for the wanted name, n for its n-th copy (`<stem>-n<ext>`). */
    private copy: number,
    readonly partialPath: string,
    stream: fs.WriteStream,
  ) {
    this.stream = stream;
  }

  /** The name the file gets if nobody takes it first. */
  get finalPath(): string {
    return this.copyPath(this.copy);
  }

  /**
   * Creates the folder if needed, removes partials left by writers that are gone (saying so through `log`),
   * and opens `<final>.partial` exclusively under the first name that neither a finished file nor another
   * partial holds. Copies are named `<stem>-n<ext>` unless `copyPath` names them (and `firstCopy` says where to
   * start, e.g. after the highest copy already there).
   */
  static async create(
    wantedPath: string,
    options: { log?: (line: string) => void; copyPath?: (copy: number) => string; firstCopy?: number } = {},
  ): Promise<PartialFile> {
    const dir = path.dirname(wantedPath);
    const copyPath = options.copyPath ?? ((n: number) => withSuffix(wantedPath, n));
    await prepareFolder(dir);
    await removeStalePartials(dir, options.log ?? (() => undefined));
    for (let suffix = options.firstCopy ?? 1; ; suffix++) {
      const finalPath = copyPath(suffix);
      if (fs.existsSync(finalPath)) continue;
      const partialPath = `${finalPath}.partial`;
      if (fs.existsSync(partialPath)) continue;
      // The owner record is the claim: whoever creates it first writes this partial; the others move on.
      let claimed: boolean;
      try {
        claimed = await claim(`${partialPath}${OWNER}`);
      } catch (err) {
        throw new ExitPlanError(
          describeWriteError(err, `${partialPath}${OWNER}`) ?? `Cannot create ${partialPath}${OWNER}: ${(err as Error).message}.`,
          systemCode(err),
          { cause: err },
        );
      }
      if (!claimed) continue;
      const stream = fs.createWriteStream(partialPath, { flags: 'wx', highWaterMark: 1 << 20 });
      try {
        await once(stream, 'open');
      } catch (err) {
        await fs.promises.rm(`${partialPath}${OWNER}`, { force: true });
        // A partial nobody claimed (e.g. from an older version) holds the name: leave it alone, take the next.
        if (systemCode(err) === 'EEXIST') continue;
        throw new ExitPlanError(
          describeWriteError(err, partialPath) ?? `Cannot create ${partialPath}: ${(err as Error).message}.`,
          systemCode(err),
          { cause: err },
        );
      }
      return new PartialFile(copyPath, suffix, partialPath, stream);
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
    await fsyncPath(this.partialPath, 'r+');
  }

  /**
   * Gives the finished file its final name (never replacing another file) and returns that name. With a
   * companion (a backup's sidecar), the companion is written and fsynced under a temporary name first and
   * renamed into place just after, so the final name never shows without it: if that rename fails, the file
   * is taken back off its final name (a CommitError when even that fails).
   */
  async commit(companion?: Companion): Promise<string> {
    for (;;) {
      const target = this.finalPath;
      const beside = companion && { path: companion.path(target), tmp: `${companion.path(target)}.${randomBytes(4).toString('hex')}.tmp` };
      if (beside) await writeSynced(beside.tmp, companion.content(target), beside.path);
      let placed: 'link' | 'rename';
      try {
        placed = await placeExclusively(this.partialPath, target);
      } catch (err) {
        if (beside) await fs.promises.rm(beside.tmp, { force: true }).catch(() => undefined);
        if (systemCode(err) === 'EEXIST') {
          this.copy++;
          continue;
        }
        throw err;
      }
      if (beside) {
        try {
          await fs.promises.rename(beside.tmp, beside.path);
        } catch (err) {
          await fs.promises.rm(beside.tmp, { force: true }).catch(() => undefined);
          const undone = await (placed === 'link' ? fs.promises.unlink(target) : fs.promises.rename(target, this.partialPath)).then(
            () => true,
            () => false,
          );
          if (!undone) {
            this.committed = true;
            throw new CommitError(
              `Cannot write ${beside.path}: ${errorMessage(err).replace(/\.$/, '')}; ${target} is complete but ${path.basename(beside.path)} is missing, and it could not be removed.`,
              systemCode(err),
              err,
            );
          }
          throw new ExitPlanError(
            describeWriteError(err, beside.path) ?? `Cannot write ${beside.path}: ${errorMessage(err)}.`,
            systemCode(err),
            { cause: err },
          );
        }
      }
      if (placed === 'link') await fs.promises.unlink(this.partialPath).catch(() => undefined);
      await fsyncPath(path.dirname(target), 'r').catch(() => undefined);
      this.committed = true;
      await fs.promises.rm(`${this.partialPath}${OWNER}`, { force: true });
      return target;
    }
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

/** A file that must be on disk before the main file gets its final name (a backup's sidecar). */
export interface Companion {
  /** Where it goes, beside the final name. */
  path(target: string): string;
  /** Its content, for that final name. */
  content(target: string): string;
}

/** A failure after the file got its final name, whose sentence already says what was left where. */
export class CommitError extends ExitPlanError {
  constructor(message: string, code: string | undefined, cause: unknown) {
    super(message, code, { cause });
  }
}

/** Writes `file` exclusively and fsyncs it; a failure is one sentence naming `shownAs` (and `file` is removed). */
export async function writeSynced(file: string, content: string, shownAs: string): Promise<void> {
  try {
    const fd = await fs.promises.open(file, 'wx', 0o644);
    try {
      await fd.writeFile(content, 'utf8');
      await fd.sync();
    } finally {
      await fd.close();
    }
  } catch (err) {
    await fs.promises.rm(file, { force: true }).catch(() => undefined);
    throw new ExitPlanError(describeWriteError(err, shownAs) ?? `Cannot write ${shownAs}: ${errorMessage(err)}.`, systemCode(err), {
      cause: err,
    });
  }
}

/** Gives `from` the name `to` without replacing a file there (a hard link; where there are none, rename after a check). */
async function placeExclusively(from: string, to: string): Promise<'link' | 'rename'> {
  try {
    await fs.promises.link(from, to);
    return 'link';
  } catch (err) {
    const code = systemCode(err);
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP') throw err;
    if (fs.existsSync(to)) throw Object.assign(new Error(`${to} exists`), { code: 'EEXIST' });
    await fs.promises.rename(from, to);
    return 'rename';
  }
}

async function fsyncPath(file: string, flags: string): Promise<void> {
  const fd = await fs.promises.open(file, flags);
  try {
    await fd.sync();
  } finally {
    await fd.close();
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
    throw new ExitPlanError(
      describeWriteError(err, `to the folder ${dir}`) ?? `Cannot write to the folder ${dir}: ${(err as Error).message}.`,
      code,
      { cause: err },
    );
  }
}

function isFile(p: string): boolean {
  try {
    return !fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/**
 * False only when the writer recorded in an owner record is certainly gone: on this host, and ended, or
 * another process under its pid, or from before a reboot (the lock files' rule). A writer on another host
 * cannot be checked from here, so its partial is never touched.
 */
function ownerMayBeAlive(owner: LockInfo): boolean {
  return owner.host !== os.hostname() || isLive(owner);
}

function readOwner(file: string): LockInfo | undefined {
  try {
    return parseLockInfo(fs.readFileSync(file, 'utf8'));
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
  await fs.promises.writeFile(aside, `${JSON.stringify(ownLockInfo())}\n`, { flag: 'wx' });
  try {
    await fs.promises.link(aside, file);
    return true;
  } catch (err) {
    const code = systemCode(err);
    if (code === 'EEXIST') return false;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP') throw err;
    // File systems without hard links: an exclusive create (a reader may briefly see it empty and keep it).
    try {
      await fs.promises.writeFile(file, `${JSON.stringify(ownLockInfo())}\n`, { flag: 'wx' });
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

/**
 * Writes `file` whole or not at all: a temporary file beside it (`.<name>.<random>.tmp`, created exclusively),
 * fsynced, renamed over it, so a reader never sees half of it; a failure is one sentence and leaves no temporary.
 */
export async function writeFileAtomic(file: string, content: string): Promise<void> {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(4).toString('hex')}.tmp`);
  await writeSynced(tmp, content, file);
  try {
    await fs.promises.rename(tmp, file);
  } catch (err) {
    await fs.promises.rm(tmp, { force: true }).catch(() => undefined);
    throw new ExitPlanError(describeWriteError(err, file) ?? `Cannot write ${file}: ${errorMessage(err)}.`, systemCode(err), {
      cause: err,
    });
  }
}
