import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ExitPlanError, describeWriteError, errorMessage, systemCode } from '../shared/errors';
import { copyName, nextCopyName } from './names';
import { sidecarPath, type Sidecar } from './sidecar';

/**
 * A new backup file: written as `<final>.partial`, and given its final name only by `commit()`, after its
 * sidecar is safely on disk under a temporary name; so a backup under its final name always has its
 * sidecar (a full disk while writing the sidecar leaves no backup, and says so). The final name is the
 * next free copy of the minute (`-2`, `-3`, … after the highest one there), never another file's.
 */
export class BackupFile {
  private committed = false;

  private constructor(
    private readonly dir: string,
    private readonly baseName: string,
    private copy: number,
    readonly partialPath: string,
    readonly stream: fs.WriteStream,
  ) {}

  /** The name the backup gets if nobody takes it first. */
  get finalPath(): string {
    return path.join(this.dir, copyName(this.baseName, this.copy));
  }

  /** Creates the folder if needed and opens `<next copy name>.partial` exclusively. */
  static async create(dir: string, baseName: string): Promise<BackupFile> {
    try {
      await fs.promises.mkdir(dir, { recursive: true });
      await fs.promises.access(dir, fs.constants.W_OK);
    } catch (err) {
      throw new ExitPlanError(describeWriteError(err, `to the folder ${dir}`) ?? `Cannot write to the folder ${dir}: ${errorMessage(err)}.`, systemCode(err), { cause: err });
    }
    let { copy } = await nextCopyName(dir, baseName);
    for (;;) {
      const partialPath = `${path.join(dir, copyName(baseName, copy))}.partial`;
      const stream = fs.createWriteStream(partialPath, { flags: 'wx', highWaterMark: 1 << 20 });
      try {
        await once(stream, 'open');
        return new BackupFile(dir, baseName, copy, partialPath, stream);
      } catch (err) {
        if (systemCode(err) === 'EEXIST') {
          copy++; // another run of the same minute took it
          continue;
        }
        throw new ExitPlanError(describeWriteError(err, partialPath) ?? `Cannot create ${partialPath}: ${errorMessage(err)}.`, systemCode(err), { cause: err });
      }
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
   * Writes the sidecar (to a temporary name, fsynced), links the backup to its final name (never over
   * another file), renames the sidecar into place and removes the partial name. Any failure before the
   * end leaves neither the backup nor its sidecar under a final name (the caller removes the partial file).
   */
  async commit(sidecarFor: (file: string) => Sidecar): Promise<{ file: string; sidecar: Sidecar }> {
    for (;;) {
      const target = this.finalPath;
      const sidecar = sidecarFor(target);
      const tmp = `${sidecarPath(target)}.${randomBytes(4).toString('hex')}.tmp`;
      try {
        const fd = await fs.promises.open(tmp, 'wx', 0o644);
        try {
          await fd.writeFile(`${JSON.stringify(sidecar, null, 2)}\n`, 'utf8');
          await fd.sync();
        } finally {
          await fd.close();
        }
      } catch (err) {
        await fs.promises.rm(tmp, { force: true }).catch(() => undefined);
        const file = sidecarPath(target);
        throw new ExitPlanError(describeWriteError(err, file) ?? `Cannot write ${file}: ${errorMessage(err)}.`, systemCode(err), { cause: err });
      }
      let linked: 'link' | 'rename';
      try {
        linked = await placeExclusively(this.partialPath, target);
      } catch (err) {
        await fs.promises.rm(tmp, { force: true }).catch(() => undefined);
        if (systemCode(err) === 'EEXIST') {
          this.copy++;
          continue;
        }
        throw err;
      }
      try {
        await fs.promises.rename(tmp, sidecarPath(target));
      } catch (err) {
        await fs.promises.rm(tmp, { force: true }).catch(() => undefined);
        // Take the backup back from its final name: without its sidecar it must not stay there.
        const undone = await (linked === 'link' ? fs.promises.unlink(target) : fs.promises.rename(target, this.partialPath)).then(
          () => true,
          () => false,
        );
        if (!undone) {
          this.committed = true;
          throw new CommitError(
            `Cannot write ${sidecarPath(target)}: ${errorMessage(err).replace(/\.$/, '')}; the backup ${target} is complete but has no sidecar, and could not be removed.`,
            systemCode(err),
            err,
          );
        }
        throw err;
      }
      if (linked === 'link') await fs.promises.unlink(this.partialPath).catch(() => undefined);
      await fsyncPath(this.dir, 'r').catch(() => undefined);
      this.committed = true;
      return { file: target, sidecar };
    }
  }

  /** Stops writing and removes the partial file. Safe to call more than once; nothing after a commit. */
  async discard(): Promise<void> {
    if (this.committed) return;
    if (!this.stream.destroyed) this.stream.destroy();
    await new Promise<void>((resolve) => (this.stream.closed ? resolve() : this.stream.once('close', () => resolve())));
    await fs.promises.rm(this.partialPath, { force: true });
  }
}

/** An error whose sentence already says what was left where (backupError passes it through as is). */
export class CommitError extends ExitPlanError {
  constructor(message: string, code: string | undefined, cause: unknown) {
    super(message, code, { cause });
  }
}

/** Gives `from` the name `to` without replacing a file there (a hard link; rename after a check where links are not supported). */
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
