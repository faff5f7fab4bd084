// rclone remotes as sources: what a remote spec may hold (no secrets), which flags a copy may take (none that write
// to the source, defeat the verification or carry a secret), and the kinds of remote VS Code's quick pick offers,
// with the one function that writes a remote spec from their answers. See README "Files from S3, Google Cloud
// Storage or any rclone remote".
import { ExitPlanError } from '../shared/errors';

/**
 * Options of rclone's backends that hold secrets (rclone 1.60's `IsPassword` options and those later rclones mark
 * `Sensitive`), by their config name. Written into a remote spec or a flag they would land in the plan, the
 * report, `ps` and logs, so they are refused with a sentence naming where they go instead.
 */
export const SECRET_OPTIONS: readonly string[] = [
  'access_key_id',
  'secret_access_key',
  'session_token',
  'sse_customer_key',
  'sse_customer_key_base64',
  'sse_customer_key_md5',
  'key',
  'account_key',
  'sas_url',
  'pass',
  'password',
  'password2',
  'api_password',
  'api_key',
  'file_password',
  'folder_password',
  'key_file_pass',
  'key_pem',
  'library_key',
  'plex_password',
  'plex_token',
  'link_password',
  'secret',
  'token',
  'access_token',
  'auth_token',
  'bearer_token',
  'refresh_token',
  'permanent_token',
  'client_secret',
  'service_account_credentials',
  'application_credential_secret',
  'private_access_key',
];

/** rclone keeps these obscured (`rclone obscure`): a plain value in their variable is refused by rclone. */
const OBSCURED_OPTIONS = new Set([
  'pass',
  'password',
  'password2',
  'api_password',
  'file_password',
  'folder_password',
  'key_file_pass',
  'library_key',
  'plex_password',
  'link_password',
  'secret',
]);

/** The backends whose options may be given as `--<backend>-<option>` flags (rclone 1.60's prefixes). */
const BACKEND_PREFIXES = [
  'acd',
  'azureblob',
  'b2',
  'box',
  'crypt',
  'cache',
  'chunker',
  'combine',
  'compress',
  'drive',
  'dropbox',
  'fichier',
  'filefabric',
  'ftp',
  'gcs',
  'gphotos',
  'hasher',
  'hdfs',
  'hidrive',
  'http',
  'internetarchive',
  'jottacloud',
  'koofr',
  'local',
  'mailru',
  'mega',
  'netstorage',
  'onedrive',
  'opendrive',
  'pcloud',
  'premiumizeme',
  'putio',
  's3',
  'seafile',
  'sftp',
  'sharefile',
  'sia',
  'smb',
  'storj',
  'sugarsync',
  'swift',
  'union',
  'uptobox',
  'webdav',
  'yandex',
  'zoho',
];

/** One `key=value` of a remote spec's connection string. */
export interface RemoteParameter {
  key: string;
  value: string;
}

/** A remote spec taken apart: `:backend,params:path` (on the fly) or `name,params:path` (from rclone's config). */
export interface ParsedRemote {
  /** The backend of an on-the-fly remote (`s3` in `:s3,provider=AWS:bucket`). */
  backend?: string;
  /** The name of a configured remote (`backup` in `backup:bucket`). */
  name?: string;
  parameters: RemoteParameter[];
  path: string;
}

/** A config option's name as rclone matches it: lower case, `-` as `_`. */
function optionName(key: string): string {
  return key.trim().toLowerCase().replace(/-/g, '_');
}

/**
 * Takes a remote spec apart as rclone does (`[:]name[,key=value…]:path`, values optionally quoted with ' or ",
 * a doubled quote standing for itself); undefined when it names no remote (a local path).
 */
export function parseRemote(spec: string): ParsedRemote | undefined {
  let i = 0;
  const onTheFly = spec.startsWith(':');
  if (onTheFly) i = 1;
  const nameStart = i;
  while (i < spec.length && spec[i] !== ',' && spec[i] !== ':') {
    if (spec[i] === '/' || spec[i] === '\\') return undefined;
    i++;
  }
  if (i >= spec.length) return undefined;
  const name = spec.slice(nameStart, i);
  if (!onTheFly && name === '') return undefined;
  const parameters: RemoteParameter[] = [];
  while (spec[i] === ',') {
    i++;
    const keyStart = i;
    while (i < spec.length && !'=,:'.includes(spec[i])) i++;
    const key = spec.slice(keyStart, i);
    let value = 'true';
    if (spec[i] === '=') {
      i++;
      const quote = spec[i];
      if (quote === '"' || quote === "'") {
        i++;
        value = '';
        for (;;) {
          if (i >= spec.length) throw new ExitPlanError(`The remote "${spec}" has a quoted value that is not closed (${quote}).`, 'USAGE');
          if (spec[i] === quote) {
            if (spec[i + 1] === quote) {
              value += quote;
              i += 2;
              continue;
            }
            i++;
            break;
          }
          value += spec[i++];
        }
      } else {
        const valueStart = i;
        while (i < spec.length && spec[i] !== ',' && spec[i] !== ':') i++;
        value = spec.slice(valueStart, i);
      }
    }
    parameters.push({ key, value });
  }
  if (spec[i] !== ':')
    throw new ExitPlanError(`The remote "${spec}" is not a remote spec rclone reads: expected ":" after its parameters.`, 'USAGE');
  return { ...(onTheFly ? { backend: name } : { name }), parameters, path: spec.slice(i + 1) };
}

/** Where a secret option goes instead of the remote spec or a flag: rclone's environment variable or its config. */
export function secretPlace(option: string, remote: { backend?: string; name?: string }): string {
  const upper = optionName(option).toUpperCase();
  const obscured = OBSCURED_OPTIONS.has(optionName(option)) ? ' (obscured with "rclone obscure")' : '';
  if (remote.name !== undefined && remote.name !== '')
    return `"rclone config" for the remote ${remote.name}, or the environment variable RCLONE_CONFIG_${remote.name.toUpperCase().replace(/[^A-Z0-9]/g, '_')}_${upper}${obscured}`;
  const backend = remote.backend ? remote.backend.toUpperCase().replace(/[^A-Z0-9]/g, '_') : 'BACKEND';
  return `the environment variable RCLONE_${backend}_${upper}${obscured}, or a remote made with "rclone config"`;
}

/** A URL with a password in it (`scheme://user:password@host`). */
const URL_WITH_PASSWORD = /\b[a-z][a-z0-9+.-]*:\/\/[^:/@\s]+:[^@\s/]+@/i;

/**
 * Checks a remote spec (the plan's `remote`, the CLI's `--from`, the quick pick's answer): returns it trimmed, or
 * throws one sentence. Refused: an empty spec, a local path (use a folder part or `:local:/path`), a spec that
 * starts with "-" (rclone would read it as a flag), a line break, and secrets written into the spec.
 */
export function checkRemote(remote: string): string {
  const spec = remote.trim();
  if (spec === '')
    throw new ExitPlanError(
      'The remote is empty: give an rclone remote such as ":s3,provider=AWS,env_auth=true:bucket/prefix" or "myremote:path".',
      'USAGE',
    );
  if (/[\r\n\0]/.test(spec))
    throw new ExitPlanError(`The remote ${JSON.stringify(spec)} holds a line break: give it on one line.`, 'USAGE');
  if (spec.startsWith('-'))
    throw new ExitPlanError(
      `The remote "${spec}" starts with "-", which rclone would read as a flag: give a remote such as "myremote:path".`,
      'USAGE',
    );
  const parsed = parseRemote(spec);
  if (!parsed)
    throw new ExitPlanError(
      `"${spec}" is a local path, not an rclone remote: use a [[folder]] part for a local folder, or write it as ":local:${spec}".`,
      'USAGE',
    );
  if (parsed.backend === '')
    throw new ExitPlanError(`The remote "${spec}" names no backend after its first ":" (e.g. ":s3,…:bucket").`, 'USAGE');
  for (const { key, value } of parsed.parameters) {
    const option = optionName(key);
    if (SECRET_OPTIONS.includes(option))
      throw new ExitPlanError(
        `The remote holds a secret (${option}): secrets never go in the remote, give it through ${secretPlace(option, parsed)}.`,
        'USAGE',
      );
    if (URL_WITH_PASSWORD.test(value))
      throw new ExitPlanError(
        `The remote's ${option} is a URL with a password in it: secrets never go in the remote, ` +
          `give the password through rclone's environment variables or "rclone config".`,
        'USAGE',
      );
  }
  if (URL_WITH_PASSWORD.test(parsed.path))
    throw new ExitPlanError(`The remote's path holds a URL with a password in it: secrets never go in the remote.`, 'USAGE');
  return spec;
}

/** Flags we set ourselves, or that change what is copied or how it is checked: refused, with why. */
const REFUSED_FLAGS: { match: RegExp; why: string }[] = [
  {
    match: /^(delete.*|remove.*|move.*|backup-dir|suffix.*|compare-dest|copy-dest|track-renames.*)$/,
    why: 'it writes to or deletes from a remote, or leaves files out of the copy',
  },
  {
    match:
      /^(n|dry-run|i|interactive|ignore-checksum|ignore-size|ignore-existing|ignore-times|size-only|update|u|no-check-dest|error-on-no-transfer|immutable)$/,
    why: 'it would copy less than the remote holds or weaken the check',
  },
  {
    match:
      /^(checksum|c|one-way|download|use-json-log|stats.*|log-.*|v|vv|verbose|q|quiet|progress|p|use-server-modtime|combined|missing-on-.*|differ|match|error)$/,
    why: 'Exit Plan sets how rclone compares, checks and reports itself',
  },
  { match: /^(header|header-download|header-upload)$/, why: 'headers may carry credentials: give them through rclone config' },
];

/** rclone's filter flags, and whether each takes a value. */
const FILTER_FLAGS: Record<string, boolean> = {
  include: true,
  exclude: true,
  filter: true,
  'include-from': true,
  'exclude-from': true,
  'filter-from': true,
  'files-from': true,
  'files-from-raw': true,
  'max-age': true,
  'min-age': true,
  'max-size': true,
  'min-size': true,
  'max-depth': true,
  'exclude-if-present': true,
  'ignore-case': false,
  'metadata-include': true,
  'metadata-exclude': true,
  'metadata-filter': true,
};

/**
 * Splits checked flags into the filters (which choose the files: given to the listing and `rclone size` only, as the
 * copy and the check then take exactly the listed files) and the rest (given to every rclone command).
 */
export function splitFilterFlags(flags: readonly string[]): { filters: string[]; other: string[] } {
  const filters: string[] = [];
  const other: string[] = [];
  for (let i = 0; i < flags.length; i++) {
    const flag = flags[i];
    const name = flag.startsWith('--') ? flag.slice(2).replace(/=.*$/s, '').toLowerCase() : undefined;
    if (name !== undefined && name in FILTER_FLAGS) {
      filters.push(flag);
      if (FILTER_FLAGS[name] && !flag.includes('=') && i + 1 < flags.length) filters.push(flags[++i]);
    } else other.push(flag);
  }
  return { filters, other };
}

/**
 * Checks extra rclone flags (the plan's `flags`, the CLI's `--flag`): returns them, or throws one sentence. Each item
 * is one argument (`--transfers=8`, or `--transfers` then `8`). Filters (`--include`, `--exclude`, `--max-age`…) are
 * allowed: they choose what the listing holds, and the copy and the check take exactly the listed files.
 */
export function checkFlags(flags: readonly string[]): string[] {
  for (const flag of flags) {
    if (/[\r\n\0]/.test(flag)) throw new ExitPlanError(`The rclone flag ${JSON.stringify(flag)} holds a line break.`, 'USAGE');
    if (!flag.startsWith('-')) continue;
    const name = flag.replace(/^-{1,2}/, '').replace(/=.*$/s, '');
    const lower = name.toLowerCase();
    for (const refused of REFUSED_FLAGS) {
      if (refused.match.test(name.length === 1 ? name.toLowerCase() : lower))
        throw new ExitPlanError(`The rclone flag ${flag.replace(/=.*$/s, '')} is not allowed here: ${refused.why}.`, 'USAGE');
    }
    const backend = BACKEND_PREFIXES.find((b) => lower.startsWith(`${b}-`));
    if (backend) {
      const option = optionName(lower.slice(backend.length + 1));
      if (SECRET_OPTIONS.includes(option))
        throw new ExitPlanError(
          `The rclone flag --${lower} carries a secret: secrets never go in flags, give it through ${secretPlace(option, { backend })}.`,
          'USAGE',
        );
    }
  }
  return [...flags];
}

// ---------------------------------------------------------------------------------------------------------------
// The kinds of remote a user picks from (VS Code's quick pick), and the spec written from the answers.

export type RemoteKindId = 's3' | 'gcs' | 'sftp' | 'webdav' | 'azureblob' | 'named';

/** One question of a remote kind. */
export interface RemoteField {
  /** The answer's key in `buildRemote`'s `answers`. */
  id: string;
  label: string;
  /** An example, shown as the placeholder. */
  placeholder: string;
  required: boolean;
  /** A default used when the answer is empty. */
  default?: string;
}

export interface RemoteKind {
  id: RemoteKindId;
  label: string;
  /** One line about it, for the quick pick's detail. */
  detail: string;
  fields: RemoteField[];
  /** One sentence: how its secret is given (never in the plan). */
  secretHint: string;
}

const PATH_FIELD: RemoteField = { id: 'path', label: 'Folder in it (optional)', placeholder: 'photos/2024', required: false };

/** The kinds of remote VS Code's "add an rclone part" offers, in order. */
export const REMOTE_KINDS: readonly RemoteKind[] = [
  {
    id: 's3',
    label: 'Amazon S3 (or an S3-compatible service)',
    detail: 'a bucket, or a folder of one',
    fields: [
      { id: 'bucket', label: 'Bucket', placeholder: 'my-bucket', required: true },
      PATH_FIELD,
      { id: 'region', label: 'Region (optional)', placeholder: 'eu-west-1', required: false },
      {
        id: 'endpoint',
        label: 'Endpoint, for a service other than AWS (optional)',
        placeholder: 'https://s3.example.org',
        required: false,
      },
    ],
    secretHint:
      'Keys come from the environment: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or an AWS profile or instance role), ' +
      'or RCLONE_S3_ACCESS_KEY_ID and RCLONE_S3_SECRET_ACCESS_KEY.',
  },
  {
    id: 'gcs',
    label: 'Google Cloud Storage',
    detail: 'a bucket, or a folder of one',
    fields: [{ id: 'bucket', label: 'Bucket', placeholder: 'my-bucket', required: true }, PATH_FIELD],
    secretHint:
      'The service account comes from the environment: GOOGLE_APPLICATION_CREDENTIALS names its JSON key file ' +
      "(or the machine's own account is used), or RCLONE_GCS_SERVICE_ACCOUNT_FILE.",
  },
  {
    id: 'sftp',
    label: 'SFTP server',
    detail: 'a folder on a server reached over SSH',
    fields: [
      { id: 'host', label: 'Host', placeholder: 'files.example.org', required: true },
      { id: 'user', label: 'User (optional)', placeholder: 'backup', required: false },
      { id: 'port', label: 'Port (optional)', placeholder: '22', required: false },
      { id: 'path', label: 'Folder on the server', placeholder: '/srv/data', required: false },
    ],
    secretHint:
      'The SSH agent or a key file is used (RCLONE_SFTP_KEY_FILE); a password goes in RCLONE_SFTP_PASS, obscured with "rclone obscure".',
  },
  {
    id: 'webdav',
    label: 'WebDAV server (Nextcloud, ownCloud, …)',
    detail: 'a folder of a WebDAV share',
    fields: [
      { id: 'url', label: 'URL of the share', placeholder: 'https://cloud.example.org/remote.php/dav/files/me', required: true },
      { id: 'vendor', label: 'Vendor (optional: nextcloud, owncloud, sharepoint, other)', placeholder: 'other', required: false },
      { id: 'user', label: 'User (optional)', placeholder: 'me', required: false },
      PATH_FIELD,
    ],
    secretHint: 'The password goes in RCLONE_WEBDAV_PASS, obscured with "rclone obscure" (or a token in RCLONE_WEBDAV_BEARER_TOKEN).',
  },
  {
    id: 'azureblob',
    label: 'Azure Blob Storage (through rclone)',
    detail: 'a container of a storage account, or a folder of one',
    fields: [
      { id: 'account', label: 'Storage account', placeholder: 'mystorageaccount', required: true },
      { id: 'container', label: 'Container', placeholder: 'datalake', required: true },
      PATH_FIELD,
    ],
    secretHint: 'The account key goes in RCLONE_AZUREBLOB_KEY (or a SAS URL in RCLONE_AZUREBLOB_SAS_URL).',
  },
  {
    id: 'named',
    label: 'A remote from your rclone config',
    detail: 'any of rclone\'s 40-odd backends, set up with "rclone config"',
    fields: [
      { id: 'remote', label: 'Remote name', placeholder: 'myremote', required: true },
      { id: 'path', label: 'Path in it (optional)', placeholder: 'bucket/folder', required: false },
    ],
    secretHint: 'Its secrets stay in rclone\'s config file (made with "rclone config") or in RCLONE_CONFIG_<NAME>_<OPTION> variables.',
  },
];

/** A connection-string value, quoted when rclone needs it (a `,`, `:`, quote or space), quotes doubled. */
export function remoteValue(value: string): string {
  if (!/[,:'" =]/.test(value)) return value;
  return `'${value.replace(/'/g, "''")}'`;
}

/** `a/b` from a folder answer: no leading `/` for bucket paths. */
function joinPath(base: string, sub: string | undefined): string {
  const rest = (sub ?? '').trim().replace(/^\/+/, '').replace(/\/+$/, '');
  return rest === '' ? base : `${base}/${rest}`;
}

/**
 * The remote spec for the answers to a kind's fields (checked by checkRemote); throws one sentence when a required
 * answer is missing.
 */
export function buildRemote(kind: RemoteKindId, answers: Record<string, string | undefined>): string {
  const definition = REMOTE_KINDS.find((k) => k.id === kind);
  if (!definition)
    throw new ExitPlanError(`There is no remote kind "${kind}" (known: ${REMOTE_KINDS.map((k) => k.id).join(', ')}).`, 'USAGE');
  const a: Record<string, string> = {};
  for (const field of definition.fields) {
    const value = (answers[field.id] ?? '').trim() || field.default || '';
    if (field.required && value === '')
      throw new ExitPlanError(`The remote (${definition.label}) needs its ${field.label.toLowerCase()}.`, 'USAGE');
    a[field.id] = value;
  }
  const params = (entries: [string, string][]) =>
    entries
      .filter(([, v]) => v !== '')
      .map(([k, v]) => `,${k}=${remoteValue(v)}`)
      .join('');
  const bucket = (name: string) => name.replace(/^\/+|\/+$/g, '');
  let spec: string;
  switch (kind) {
    case 's3':
      spec = `:s3${params([
        ['provider', a.endpoint ? 'Other' : 'AWS'],
        ['env_auth', 'true'],
        ['region', a.region],
        ['endpoint', a.endpoint],
      ])}:${joinPath(bucket(a.bucket), a.path)}`;
      break;
    case 'gcs':
      spec = `:gcs,env_auth=true:${joinPath(bucket(a.bucket), a.path)}`;
      break;
    case 'sftp':
      spec = `:sftp${params([
        ['host', a.host],
        ['user', a.user],
        ['port', a.port],
      ])}:${a.path}`;
      break;
    case 'webdav':
      spec = `:webdav${params([
        ['url', a.url],
        ['vendor', a.vendor],
        ['user', a.user],
      ])}:${a.path.replace(/^\/+/, '')}`;
      break;
    case 'azureblob':
      spec = `:azureblob${params([['account', a.account]])}:${joinPath(bucket(a.container), a.path)}`;
      break;
    case 'named': {
      const name = a.remote.replace(/:+$/, '');
      if (!/^[\p{L}\p{N}_. +@-]+$/u.test(name) || name.startsWith('-') || name.startsWith(' '))
        throw new ExitPlanError(`"${a.remote}" is not an rclone remote name: use the name "rclone listremotes" shows.`, 'USAGE');
      spec = `${name}:${a.path.replace(/^\/+/, '')}`;
      break;
    }
  }
  return checkRemote(spec);
}

/** A remote spec fit for reports and logs: checkRemote already refused secrets; URLs' passwords masked anyway. */
export function describeRemote(remote: string): string {
  return remote.replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^:/@\s]+:)[^@\s/]+@/gi, '$1…@');
}
