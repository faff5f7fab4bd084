import type { SasLink } from './sas';

export type Shell = 'posix' | 'powershell';

/** A POSIX shell word: single quotes, with each `'` written as `'\''`. */
function quotePosix(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** A PowerShell word: single quotes, each quote doubled (PowerShell also treats ‘ ’ ‚ ‛ as single quotes). */
export function quotePowerShell(word: string): string {
  return `'${word.replace(/['\u2018\u2019\u201a\u201b]/g, (q) => q + q)}'`;
}

/** Words that mean the same to every shell when left bare (no quotes, globs, variables or separators). */
const BARE = /^[A-Za-z0-9_.][A-Za-z0-9_./:-]*$|^--?[A-Za-z][A-Za-z-]*$/;

/** A command line for the shell: plain words stay bare (the program name too, so PATH finds it). */
export function commandLine(argv: readonly string[], shell: Shell): string {
  const quote = shell === 'posix' ? quotePosix : quotePowerShell;
  return argv.map((word) => (BARE.test(word) ? word : quote(word))).join(' ');
}

/** Two commands, the second only if the first succeeded. */
function andThen(first: string, second: string, shell: Shell): string {
  return shell === 'posix' ? `${first} && ${second}` : `${first}; if ($LASTEXITCODE -eq 0) { ${second} }`;
}

export interface Destinations {
  /** Local folder (default `./<container>-export`). */
  local?: string;
  /** Destination container or folder URL with its own SAS. */
  azure?: string;
  /** `<bucket>/<path>` in S3. */
  s3?: string;
  /** `<bucket>/<path>` in Google Cloud Storage. */
  gcs?: string;
}

export interface TransferCommand {
  /** The program and its arguments, unquoted: what "Run in Terminal" and the tests execute. */
  argv: string[];
  /** Ready to paste for the chosen shell. */
  line: string;
}

export interface TransferPlan {
  local: TransferCommand;
  azure: TransferCommand;
  /** rclone straight from Blob Storage to S3 (azcopy cannot write to S3). */
  s3: TransferCommand;
  gcs: TransferCommand;
  /** Alternatives: azcopy to local disk, then the cloud's own CLI. */
  s3TwoStep: string;
  gcsTwoStep: string;
}

export const PLACEHOLDERS = {
  azure: 'https://<account>.blob.core.windows.net/<container>/<path>?<destination SAS>',
  s3: '<bucket>/<path>',
  gcs: '<bucket>/<path>',
} as const;

export function defaultLocalDestination(container: string): string {
  return `./${container}-export`;
}

/**
 * Commands that copy everything the link can read to local disk, another Azure account, S3 or Google
 * Cloud Storage, correctly quoted for the shell. The emulator needs `--from-to BlobLocal` for azcopy.
 */
export function transferCommands(
  link: SasLink,
  options: { shell?: Shell; isEmulator?: boolean; destinations?: Destinations } = {},
): TransferPlan {
  const shell = options.shell ?? 'posix';
  const dest = options.destinations ?? {};
  const local = dest.local?.trim() || defaultLocalDestination(link.container);
  const make = (argv: string[]): TransferCommand => ({ argv, line: commandLine(argv, shell) });
  const azcopyLocal = make(['azcopy', 'copy', link.url, local, '--recursive', ...(options.isEmulator ? ['--from-to', 'BlobLocal'] : [])]);
  // rclone's on-the-fly remote; with a container SAS the path must start with the container's name.
  const rcloneSource = `:azureblob,sas_url='${link.containerUrl.replace(/'/g, "''")}':${link.container}/${link.folder ?? ''}`;
  const s3 = dest.s3?.trim() || PLACEHOLDERS.s3;
  const gcs = dest.gcs?.trim() || PLACEHOLDERS.gcs;
  return {
    local: azcopyLocal,
    azure: make(['azcopy', 'copy', link.url, dest.azure?.trim() || PLACEHOLDERS.azure, '--recursive']),
    s3: make(['rclone', 'copy', rcloneSource, `:s3,provider=AWS,env_auth=true:${s3}`]),
    gcs: make(['rclone', 'copy', rcloneSource, `:gcs,env_auth=true:${gcs}`]),
    s3TwoStep: andThen(azcopyLocal.line, commandLine(['aws', 's3', 'sync', local, `s3://${s3}`], shell), shell),
    gcsTwoStep: andThen(azcopyLocal.line, commandLine(['gcloud', 'storage', 'cp', '-r', local, `gs://${gcs}`], shell), shell),
  };
}
