import * as fs from 'node:fs';
import * as path from 'node:path';

/** True for a file the current user may execute. */
export function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/**
 * The full path of a program found in a PATH folder, or undefined; no shell is involved. On Windows only
 * `.exe` counts: a `.cmd` or `.bat` cannot be started without a shell.
 */
export function findOnPath(program: string): string | undefined {
  const ext = process.platform === 'win32' ? '.exe' : '';
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, program + ext);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}
