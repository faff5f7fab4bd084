import { once } from 'node:events';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ExitPlanError, describeWriteError, systemCode } from './errors';

/**
 * A file written under `<final>.partial` and given its final name only by `commit()`, which never
 * overwrites an existing file: if the name is taken it picks `<stem>-2<ext>`, `<stem>-3<ext>`, …
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

  /** Creates the folder if needed and opens `<final>.partial` exclusively. */
  static async create(wantedPath: string): Promise<PartialFile> {
    const dir = path.dirname(wantedPath);
    try {
      await fs.promises.mkdir(dir, { recursive: true });
      await fs.promises.access(dir, fs.constants.W_OK);
    } catch (err) {
      throw new ExitPlanError(describeWriteError(err, `to the folder ${dir}`) ?? `Cannot write to the folder ${dir}: ${(err as Error).message}.`, systemCode(err), { cause: err });
    }
    let suffix = 1;
    while (fs.existsSync(withSuffix(wantedPath, suffix)) || fs.existsSync(`${withSuffix(wantedPath, suffix)}.partial`)) suffix++;
    const partialPath = `${withSuffix(wantedPath, suffix)}.partial`;
    const stream = fs.createWriteStream(partialPath, { flags: 'wx', highWaterMark: 1 << 20 });
    try {
      await once(stream, 'open');
    } catch (err) {
      throw new ExitPlanError(describeWriteError(err, partialPath) ?? `Cannot create ${partialPath}: ${(err as Error).message}.`, systemCode(err), { cause: err });
    }
    return new PartialFile(wantedPath, suffix, partialPath, stream);
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
    return this.finalPath;
  }

  /** Stops writing and removes the partial file. Safe to call more than once. */
  async discard(): Promise<void> {
    if (this.committed) return;
    if (!this.stream.destroyed) this.stream.destroy();
    await new Promise<void>((resolve) => (this.stream.closed ? resolve() : this.stream.once('close', () => resolve())));
    await fs.promises.rm(this.partialPath, { force: true });
  }
}

function withSuffix(file: string, n: number): string {
  if (n === 1) return file;
  const ext = path.extname(file);
  return `${file.slice(0, file.length - ext.length)}-${n}${ext}`;
}
