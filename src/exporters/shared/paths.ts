import * as os from 'node:os';
import * as path from 'node:path';

/** `~` and `~/…` (or `~\…`) to the home folder, as a shell does; any other path as it is. */
export function expandHome(p: string): string {
  return /^~(?=$|[\\/])/.test(p) ? path.join(os.homedir(), p.slice(1)) : p;
}
