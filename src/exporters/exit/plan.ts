// The exit plan file (exit-plan.toml): read and checked into an ExitPlan, every problem one sentence naming the
// file, the line and the key; and written, as a commented template or from what VS Code knows (planText).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseInterval } from '../datasets/interval';
import { ExitPlanError, describeWriteError, errorMessage, systemCode } from '../shared/errors';
import { expandHome } from '../shared/paths';
import { lowerFirst } from '../shared/format';
import { findKeyLine, parseToml, tomlProblem } from '../shared/toml';
import { urlHasPassword } from '../postgres/connection';
import { checkFlags, checkRemote } from '../rclone/remote';
import { parseSubsetRoot, parseSubsetSkip } from '../warehouse/subsetSpec';
import { PART_KINDS, type ExitPlan, type PartKind, type PlanPart } from './types';

/** The plan file's name when none is given. */
export const DEFAULT_PLAN_FILE = 'exit-plan.toml';
/** Where the runs go when the plan does not say. */
export const DEFAULT_OUT = './exits';
/** The environment variable of an azure part's connection string when the plan does not name one. */
export const DEFAULT_AZURE_CONNECTION_ENV = 'AZURE_STORAGE_CONNECTION_STRING';

const TOP_KEYS = ['out', 'keep', 'max_age', 'not_included', ...PART_KINDS] as const;

/** The keys each kind of part takes (TOML names). */
const PART_KEYS: { [K in PartKind]: readonly string[] } = {
  warehouse: [
    'name',
    'db',
    'connection',
    'password_env',
    'schemas',
    'tables',
    'exclude_columns',
    'include_views',
    'jobs',
    'max_rows_per_file',
    'encoding',
    'lock_timeout',
    'subset',
    'subset_skip',
    'subset_include_unrelated',
  ],
  azure: ['name', 'connection_string_env', 'connection', 'container', 'prefix'],
  rclone: ['name', 'remote', 'flags'],
  folder: ['name', 'path', 'gzip'],
  command: ['name', 'cmd', 'timeout'],
  backups: ['name', 'dir'],
  datasets: ['name', 'dirs'],
};

/** A part's name: its folder in every run. */
const SAFE_NAME = /^[A-Za-z0-9._-]+$/;
/** Node's timers hold at most 2^31 - 1 ms (24.8 days). */
const MAX_TIMEOUT_MS = 24 * 24 * 60 * 60 * 1000;

/** Reads and checks a plan file; every problem is one sentence naming the file (and line and key when known). */
export async function readPlan(file: string): Promise<ExitPlan> {
  const absolute = path.resolve(expandHome(file));
  let text: string;
  try {
    text = await fs.promises.readFile(absolute, 'utf8');
  } catch (err) {
    const code = systemCode(err);
    if (code === 'ENOENT')
      throw new ExitPlanError(`There is no exit plan at ${absolute} (make one with "exit-plan plan init ${file}").`, code);
    throw new ExitPlanError(`Cannot read ${absolute}: ${errorMessage(err)}.`, code, { cause: err });
  }
  return parsePlan(text, absolute);
}

/** Checks a plan's text; `file` (absolute) names it in errors and is the base of its relative paths. */
export function parsePlan(text: string, file: string): ExitPlan {
  const raw = parseToml(text, file);
  const fail = tomlProblem(text, file);
  const base = path.dirname(file);
  const resolvePath = (p: string) => path.resolve(base, expandHome(p));

  for (const key of Object.keys(raw)) {
    if (!(TOP_KEYS as readonly string[]).includes(key)) fail([key], `unknown key "${key}" (known keys: ${TOP_KEYS.join(', ')})`);
  }
  const plan: ExitPlan = { file, out: resolvePath(DEFAULT_OUT), notIncluded: [], parts: [] };
  if (raw.out !== undefined) {
    if (typeof raw.out !== 'string' || raw.out.trim() === '') fail(['out'], '"out" must be a folder (a string)');
    plan.out = resolvePath(raw.out as string);
  }
  if (raw.keep !== undefined) {
    const keep = integer(raw.keep);
    if (keep === undefined || keep < 0) fail(['keep'], '"keep" must be a whole number of complete runs (0 or absent keeps all)');
    if (keep! > 0) plan.keep = keep;
  }
  if (raw.max_age !== undefined) plan.maxAge = duration(raw.max_age, ['max_age'], fail);
  if (raw.not_included !== undefined) {
    if (!Array.isArray(raw.not_included) || !raw.not_included.every((v) => typeof v === 'string'))
      fail(['not_included'], '"not_included" must be a list of strings, e.g. ["CapRover configuration"]');
    plan.notIncluded = (raw.not_included as string[]).map((s) => s.trim()).filter((s) => s !== '');
  }

  const headers = headerLines(text);
  const seen = new Map<string, number | undefined>();
  for (const kind of PART_KINDS) {
    const value = raw[kind];
    if (value === undefined) continue;
    if (!Array.isArray(value) || !value.every(isTable))
      fail([kind], `"${kind}" must be a list of tables, written [[${kind}]] (one per part)`);
    (value as Record<string, unknown>[]).forEach((table, index) => {
      const line = headers[kind][index];
      const part = parsePart(kind, table, line, (key, problem) => fail(key ? [key] : [kind], problem, line), resolvePath);
      if (seen.has(part.name)) {
        const first = seen.get(part.name);
        fail(
          ['name'],
          `the part name "${part.name}" is used twice${first ? ` (first on line ${first})` : ''}: each part needs its own`,
          line,
        );
      }
      seen.set(part.name, findKeyLine(text, ['name'], line) ?? line);
      plan.parts.push(part);
    });
  }
  if (plan.parts.length === 0)
    throw new ExitPlanError(
      `${file} has no parts: add at least one [[warehouse]], [[azure]], [[rclone]], [[folder]], [[command]], [[backups]] or [[datasets]].`,
    );
  // The order of the file, whatever the kinds.
  plan.parts.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
  return plan;
}

type PartFail = (key: string | undefined, problem: string) => never;

function parsePart(
  kind: PartKind,
  table: Record<string, unknown>,
  line: number | undefined,
  fail: PartFail,
  resolvePath: (p: string) => string,
): PlanPart {
  const where = `[[${kind}]]${typeof table.name === 'string' ? ` "${table.name}"` : ''}`;
  for (const key of Object.keys(table)) {
    if (!PART_KEYS[kind].includes(key)) fail(key, `unknown key "${key}" in ${where} (known keys: ${PART_KEYS[kind].join(', ')})`);
  }
  const str = (key: string, required = false): string | undefined => {
    const v = table[key];
    if (v === undefined) {
      if (required) fail(undefined, `${where} has no "${key}"`);
      return undefined;
    }
    if (typeof v !== 'string' || v.trim() === '') fail(key, `"${key}" in ${where} must be a non-empty string`);
    return v as string;
  };
  const list = (key: string): string[] | undefined => {
    const v = table[key];
    if (v === undefined) return undefined;
    const items = typeof v === 'string' ? [v] : v;
    if (!Array.isArray(items) || !items.every((s) => typeof s === 'string'))
      fail(key, `"${key}" in ${where} must be a string or a list of strings`);
    return (items as string[]).map((s) => s.trim()).filter((s) => s !== '');
  };
  const bool = (key: string): boolean | undefined => {
    const v = table[key];
    if (v === undefined) return undefined;
    if (typeof v !== 'boolean') fail(key, `"${key}" in ${where} must be true or false`);
    return v as boolean;
  };
  const whole = (key: string, min: number, max?: number): number | undefined => {
    const v = table[key];
    if (v === undefined) return undefined;
    const n = integer(v);
    if (n === undefined || n < min || (max !== undefined && n > max))
      fail(key, `"${key}" in ${where} must be a whole number from ${min}${max !== undefined ? ` to ${max}` : ' up'}`);
    return n;
  };
  const envName = (key: string): string | undefined => {
    const v = str(key);
    if (v !== undefined && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(v))
      fail(key, `"${key}" in ${where} must be the name of an environment variable (letters, digits, _), not its value`);
    return v;
  };

  const name = str('name', true)!;
  if (!SAFE_NAME.test(name) || name === '.' || name === '..')
    fail('name', `the part name "${name}" is not a safe folder name: use letters, digits, ".", "-" and "_" only`);
  const base = { name, ...(line !== undefined ? { line } : {}) };

  switch (kind) {
    case 'warehouse': {
      const db = str('db');
      const connection = str('connection');
      if (db !== undefined && connection !== undefined)
        fail('connection', `${where} has both "db" and "connection": give one (db for the CLI, connection for a saved VS Code connection)`);
      if (db === undefined && connection === undefined)
        fail(undefined, `${where} needs "db" (postgres://user@host:port/database) or "connection" (a saved VS Code connection)`);
      if (db !== undefined && urlHasPassword(db))
        fail('db', `"db" in ${where} holds a password: secrets never go in the plan, name an environment variable in password_env instead`);
      if (db !== undefined && !/^postgres(ql)?:\/\//i.test(db.trim()))
        fail('db', `"db" in ${where} must be a URL like postgres://user@host:port/database`);
      const lockTimeout = whole('lock_timeout', 0);
      const subset = list('subset');
      const subsetSkip = list('subset_skip');
      const subsetIncludeUnrelated = bool('subset_include_unrelated');
      // Each spec as the export reads it: a mistake is found when the plan is read, with its line.
      const specs = (key: string, specList: string[] | undefined, parse: (text: string) => unknown) => {
        for (const spec of specList ?? []) {
          try {
            parse(spec);
          } catch (err) {
            fail(key, `"${key}" in ${where}: ${lowerFirst(errorMessage(err)).replace(/\.$/, '')}`);
          }
        }
      };
      specs('subset', subset, parseSubsetRoot);
      specs('subset_skip', subsetSkip, parseSubsetSkip);
      if (!subset?.length && (subsetSkip?.length || subsetIncludeUnrelated !== undefined))
        fail(subsetSkip?.length ? 'subset_skip' : 'subset_include_unrelated', `${where} has subset options but no "subset" roots`);
      return omitUndefined({
        kind,
        ...base,
        db,
        connection,
        passwordEnv: envName('password_env'),
        schemas: list('schemas'),
        tables: list('tables'),
        excludeColumns: list('exclude_columns'),
        includeViews: bool('include_views'),
        jobs: whole('jobs', 1, 16),
        maxRowsPerFile: whole('max_rows_per_file', 1),
        encoding: str('encoding'),
        lockTimeoutSeconds: lockTimeout,
        subset: subset?.length ? subset : undefined,
        subsetSkip: subsetSkip?.length ? subsetSkip : undefined,
        subsetIncludeUnrelated,
      });
    }
    case 'azure': {
      const connectionStringEnv = envName('connection_string_env');
      const connection = str('connection');
      if (connectionStringEnv !== undefined && connection !== undefined)
        fail('connection', `${where} has both "connection_string_env" and "connection": give one`);
      const prefix = str('prefix');
      return omitUndefined({
        kind,
        ...base,
        connectionStringEnv,
        connection,
        container: str('container', true)!,
        prefix: prefix === undefined ? undefined : prefix.replace(/^\/+/, '').replace(/\/*$/, '/'),
      });
    }
    case 'rclone': {
      const remote = str('remote', true)!;
      let checked: string;
      try {
        checked = checkRemote(remote);
      } catch (err) {
        return fail('remote', `"remote" in ${where}: ${lowerFirst(errorMessage(err)).replace(/\.$/, '')}`);
      }
      let flags: string[] | undefined;
      if (table.flags !== undefined) {
        const v = table.flags;
        if (!Array.isArray(v) || !v.every((s) => typeof s === 'string'))
          fail('flags', `"flags" in ${where} must be a list of strings, one argument each, e.g. ["--transfers=8"]`);
        try {
          flags = checkFlags(v as string[]);
        } catch (err) {
          return fail('flags', `"flags" in ${where}: ${lowerFirst(errorMessage(err)).replace(/\.$/, '')}`);
        }
      }
      return omitUndefined({ kind, ...base, remote: checked, flags: flags && flags.length > 0 ? flags : undefined });
    }
    case 'folder':
      return omitUndefined({ kind, ...base, path: resolvePath(str('path', true)!), gzip: bool('gzip') });
    case 'command': {
      const cmd = str('cmd', true)!;
      let timeout: { text: string; ms: number } | undefined;
      if (table.timeout !== undefined) {
        timeout = duration(table.timeout, ['timeout'], (_k, problem) => fail('timeout', problem));
        if (timeout.ms <= 0 || timeout.ms > MAX_TIMEOUT_MS)
          fail('timeout', `"timeout" in ${where} must be above 0 and at most 24 days (got ${timeout.text})`);
      }
      return omitUndefined({ kind, ...base, cmd, timeout });
    }
    case 'backups':
      return { kind, ...base, dir: resolvePath(str('dir', true)!) };
    case 'datasets': {
      const dirs = list('dirs');
      if (!dirs || dirs.length === 0)
        fail(table.dirs === undefined ? undefined : 'dirs', `${where} needs "dirs": a list of dataset folders`);
      return { kind, ...base, dirs: dirs!.map(resolvePath) };
    }
  }
}

/** The 1-based line of each `[[kind]]` header, in order, per kind. */
function headerLines(text: string): Record<PartKind, number[]> {
  const result = Object.fromEntries(PART_KINDS.map((k) => [k, [] as number[]])) as Record<PartKind, number[]>;
  text.split(/\r?\n/).forEach((l, i) => {
    const m = /^\s*\[\[\s*["']?([A-Za-z_-]+)["']?\s*\]\]/.exec(l);
    if (m && (PART_KINDS as readonly string[]).includes(m[1])) result[m[1] as PartKind].push(i + 1);
  });
  return result;
}

function duration(value: unknown, keyPath: string[], fail: (keyPath: string[], problem: string) => never): { text: string; ms: number } {
  if (typeof value !== 'string') return fail(keyPath, `"${keyPath.join('.')}" must be a duration such as "7 days"`);
  try {
    return { text: value, ms: parseInterval(value) };
  } catch (err) {
    return fail(keyPath, `"${keyPath.join('.')}": ${lowerFirst(errorMessage(err)).replace(/\.$/, '')}`);
  }
}

function integer(value: unknown): number | undefined {
  if (typeof value === 'bigint') return Number(value);
  return typeof value === 'number' && Number.isInteger(value) ? value : undefined;
}

function isTable(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date);
}

function omitUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

// ---------------------------------------------------------------------------------------------------------------
// Writing a plan

/** A part as planText takes it: a PlanPart without its line, with paths as they should be written. */
export type PlanTextPart = PlanPart extends infer P ? (P extends PlanPart ? Omit<P, 'line'> : never) : never;

export interface PlanTextInput {
  out?: string;
  keep?: number;
  /** A duration such as "7 days". */
  maxAge?: string;
  notIncluded?: string[];
  parts: PlanTextPart[];
}

/** What each kind is, in one comment line above its first table. */
const KIND_COMMENTS: Record<PartKind, string[]> = {
  warehouse: [
    'A PostgreSQL database: the warehouse export (a verified zip of CSVs), with any of its options.',
    'db has no password: it comes from the environment variable password_env (else PGPASSWORD);',
    'in VS Code, connection = "<saved connection>" instead of db.',
  ],
  azure: [
    'A container, or a folder of one (prefix): every blob copied and checked against the listing.',
    'The connection string comes from the environment variable connection_string_env',
    `(default ${DEFAULT_AZURE_CONNECTION_ENV}); in VS Code, connection = "<saved connection>".`,
  ],
  rclone: [
    'Files from S3, Google Cloud Storage, SFTP, WebDAV or any rclone remote: copied with rclone, checked with rclone check.',
    'Secrets never go in remote: rclone takes them from its own environment variables (RCLONE_S3_SECRET_ACCESS_KEY…) or its config.',
  ],
  folder: ['A local folder, archived with tar as files backups are.'],
  command: [
    "Anything else (dashboards, configs, another database's dump): a shell command that writes into $OUTPUT_DIR;",
    'exit 0 and at least one file, else the part failed.',
  ],
  backups: ['The newest backup of each database and files source in a backup folder that verifies, copied and verified again.'],
  datasets: ['The newest complete parcel of each dataset, with metrics.csv and config.toml.'],
};

/** A TOML basic string (JSON's escapes are TOML's, except DEL, which TOML wants escaped). */
function tomlString(value: string): string {
  return JSON.stringify(value).replace(/\x7f/g, '\\u007f');
}

function tomlValue(value: unknown): string {
  if (typeof value === 'string') return tomlString(value);
  if (Array.isArray(value)) return `[${value.map(tomlValue).join(', ')}]`;
  return String(value);
}

/** The TOML key of each PlanPart field. */
const FIELD_KEYS: Record<string, string> = {
  name: 'name',
  db: 'db',
  connection: 'connection',
  passwordEnv: 'password_env',
  schemas: 'schemas',
  tables: 'tables',
  excludeColumns: 'exclude_columns',
  includeViews: 'include_views',
  jobs: 'jobs',
  maxRowsPerFile: 'max_rows_per_file',
  encoding: 'encoding',
  lockTimeoutSeconds: 'lock_timeout',
  subset: 'subset',
  subsetSkip: 'subset_skip',
  subsetIncludeUnrelated: 'subset_include_unrelated',
  connectionStringEnv: 'connection_string_env',
  container: 'container',
  prefix: 'prefix',
  remote: 'remote',
  flags: 'flags',
  path: 'path',
  gzip: 'gzip',
  cmd: 'cmd',
  timeout: 'timeout',
  dir: 'dir',
  dirs: 'dirs',
};

/**
 * A plan file's text, commented, that parsePlan reads back as these parts (VS Code writes one from what its
 * sidebar knows; `exit-plan plan init` writes the template).
 */
export function planText(input: PlanTextInput): string {
  const commentAfter = (assignment: string, comment: string) => `${assignment.padEnd(24)} # ${comment}`;
  const lines: string[] = [
    '# Exit plan: what `exit-plan run` (or Run Exit Plan in VS Code) takes out, in one verified, dated folder.',
    '# Secrets never go in this file: name environment variables, or saved VS Code connections.',
    '',
    commentAfter(`out = ${tomlString(input.out ?? DEFAULT_OUT)}`, 'each run: <out>/exit_<UTC YYYY-MM-DDTHHMMSSZ>/'),
    commentAfter(
      input.keep !== undefined ? `keep = ${input.keep}` : '# keep = 3',
      'complete runs to keep (older ones removed after a newer one is verified); absent keeps all',
    ),
    commentAfter(
      input.maxAge !== undefined ? `max_age = ${tomlString(input.maxAge)}` : '# max_age = "7 days"',
      '`exit-plan status` calls a part stale without a verified copy this young',
    ),
    commentAfter(`not_included = ${tomlValue(input.notIncluded ?? [])}`, 'what you chose not to take, stated in the report'),
  ];
  const commented = new Set<PartKind>();
  for (const part of input.parts) {
    lines.push('');
    if (!commented.has(part.kind)) {
      commented.add(part.kind);
      for (const c of KIND_COMMENTS[part.kind]) lines.push(`# ${c}`);
    }
    lines.push(`[[${part.kind}]]`);
    for (const [field, value] of Object.entries(part)) {
      if (field === 'kind' || value === undefined) continue;
      const key = FIELD_KEYS[field];
      if (!key) continue;
      const shown =
        field === 'timeout' && typeof value === 'object' && value !== null && !Array.isArray(value)
          ? (value as { text: string }).text
          : value;
      lines.push(`${key} = ${tomlValue(shown)}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

/** The template `exit-plan plan init` writes: one part of every kind, as in the README. */
export function templatePlanText(): string {
  return planText({
    out: DEFAULT_OUT,
    keep: 3,
    maxAge: '7 days',
    notIncluded: ['Windmill run logs', 'CapRover configuration'],
    parts: [
      {
        kind: 'warehouse',
        name: 'warehouse',
        db: 'postgres://exporter@db.example.org:5432/warehouse',
        passwordEnv: 'WAREHOUSE_PASSWORD',
        excludeColumns: ['*_token'],
      },
      { kind: 'azure', name: 'datalake', connectionStringEnv: DEFAULT_AZURE_CONNECTION_ENV, container: 'datalake', prefix: 'photos/' },
      { kind: 'rclone', name: 'media-s3', remote: ':s3,provider=AWS,env_auth=true:media-bucket/uploads' },
      { kind: 'folder', name: 'persistent-storage', path: '/persistent-storage/datalake' },
      {
        kind: 'command',
        name: 'superset-dashboards',
        cmd: 'superset export-dashboards -f "$OUTPUT_DIR/dashboards.zip"',
        timeout: { text: '30 min', ms: 30 * 60_000 },
      },
      { kind: 'backups', name: 'backups', dir: '/srv/backups' },
      { kind: 'datasets', name: 'personal-exports', dirs: ['~/exports'] },
    ],
  });
}

/** Writes `text` (default: the template) to `file`, never over an existing file; returns the absolute path. */
export async function initPlan(file: string = DEFAULT_PLAN_FILE, text: string = templatePlanText()): Promise<string> {
  const absolute = path.resolve(expandHome(file));
  try {
    await fs.promises.writeFile(absolute, text, { flag: 'wx', mode: 0o644 });
  } catch (err) {
    if (systemCode(err) === 'EEXIST')
      throw new ExitPlanError(
        `${absolute} already exists: the exit plan there is left as it is (edit it, or give another file).`,
        'EEXIST',
      );
    throw new ExitPlanError(describeWriteError(err, absolute) ?? `Cannot write ${absolute}: ${errorMessage(err)}.`, systemCode(err), {
      cause: err,
    });
  }
  return absolute;
}
