// The data model of exit plans and exit runs, shared by the plan parser, the run, each kind of part, the
// report, the CLI and the VS Code view. See README "Exit runs" for the file layout.
import type { OperationOptions } from '../shared/operation';
import type { PgConnectionOptions } from '../postgres/connection';
import type { StorageAccount } from '../azure/connection';

/** The kinds of part, in the order the template lists them. */
export const PART_KINDS = ['warehouse', 'azure', 'rclone', 'folder', 'command', 'backups', 'datasets'] as const;
export type PartKind = (typeof PART_KINDS)[number];

interface PartBase {
  /** A safe folder name, unique in the plan: the part's folder in each run. */
  name: string;
  /** 1-based line of its `[[kind]]` header in the plan file, for messages. */
  line?: number;
}

export interface WarehousePart extends PartBase {
  kind: 'warehouse';
  /** postgres://user@host:port/db (no password). Exactly one of `db` and `connection`. */
  db?: string;
  /** A saved VS Code warehouse connection, by name (resolved by the extension). */
  connection?: string;
  /** Environment variable holding the password (else PGPASSWORD). */
  passwordEnv?: string;
  schemas?: string[];
  tables?: string[];
  excludeColumns?: string[];
  includeViews?: boolean;
  jobs?: number;
  maxRowsPerFile?: number;
  encoding?: string;
  lockTimeoutSeconds?: number;
  /** A subset export: roots as `schema.table: predicate` (checked when the plan is read). */
  subset?: string[];
  /** Foreign keys not followed down, as `schema.table(col, …)`. */
  subsetSkip?: string[];
  subsetIncludeUnrelated?: boolean;
}

export interface AzurePart extends PartBase {
  kind: 'azure';
  /** Environment variable holding the connection string. Exactly one of this and `connection`. */
  connectionStringEnv?: string;
  /** A saved VS Code Azure connection, by name (resolved by the extension). */
  connection?: string;
  container: string;
  /** A virtual folder of the container, normalised to end in `/` (absent: the whole container). */
  prefix?: string;
}

export interface RclonePart extends PartBase {
  kind: 'rclone';
  /**
   * An rclone remote spec (`:s3,provider=AWS,env_auth=true:bucket/prefix`, `:sftp,host=…:path`, `myremote:path`),
   * trimmed and checked by `checkRemote` (no secrets: they come from rclone's environment variables or config).
   */
  remote: string;
  /** Extra rclone flags, one argument each, checked by `checkFlags` (given to the copy, the check and the listing). */
  flags?: string[];
}

export interface FolderPart extends PartBase {
  kind: 'folder';
  /** Absolute (`~` expanded, relative paths resolved against the plan file's folder). */
  path: string;
  gzip?: boolean;
}

export interface CommandPart extends PartBase {
  kind: 'command';
  /** A shell command (sh -c, the documented exception), run with OUTPUT_DIR set to the folder it writes into. */
  cmd: string;
  timeout?: { text: string; ms: number };
}

export interface BackupsPart extends PartBase {
  kind: 'backups';
  /** Absolute backup folder. */
  dir: string;
}

export interface DatasetsPart extends PartBase {
  kind: 'datasets';
  /** Absolute dataset folders or folders of datasets. */
  dirs: string[];
}

export type PlanPart = WarehousePart | AzurePart | RclonePart | FolderPart | CommandPart | BackupsPart | DatasetsPart;

export interface ExitPlan {
  /** Absolute path of the plan file. */
  file: string;
  /** Absolute folder that holds the runs. */
  out: string;
  /** Complete runs to keep; undefined keeps all. */
  keep?: number;
  /** `status` calls a part stale when its newest verified copy is older than this. */
  maxAge?: { text: string; ms: number };
  notIncluded: string[];
  parts: PlanPart[];
}

/** One file a part wrote, relative to the part's folder (forward slashes). */
export interface PartFile {
  path: string;
  bytes: number;
  sha256?: string;
  /** Base64, as Azure's Content-MD5. */
  md5?: string;
}

/** Progress of one part, as its kind reports it (its own describe text already made). */
export interface PartProgress {
  /** One line for people: what the part is doing now. */
  text: string;
  /** Share of the part done (0..1), when known. */
  fraction?: number;
}

/** How the run reaches what a part needs that is not in the plan file: connections and secrets. */
export interface PartResolvers {
  /** The warehouse connection of a part (CLI: `db` + `password_env`/PGPASSWORD; VS Code: a saved connection). */
  warehouse(part: WarehousePart): Promise<PgConnectionOptions>;
  /** The storage account of a part (CLI: the connection string's environment variable; VS Code: a saved connection). */
  azure(part: AzurePart): Promise<StorageAccount>;
  /** azcopy, when found (CLI: PATH; VS Code: exitPlan.azcopyPath or PATH); undefined copies with the SDK. */
  azcopy?(): Promise<string | undefined>;
  /**
   * rclone, when found (CLI: EXIT_PLAN_RCLONE or PATH; VS Code: exitPlan.rclonePath or PATH); undefined (or no
   * resolver) fails an rclone part with one sentence saying how to install it.
   */
  rclone?(): Promise<string | undefined>;
}

/** What a part runner gets. */
export interface PartContext extends OperationOptions<PartProgress> {
  /** The part's folder in the run (exists; may hold what an interrupted attempt left). */
  dir: string;
  /** True when this run folder was started earlier and is being resumed. */
  resuming: boolean;
  /** The plan file's folder, where a command part runs (as paths in the plan are relative to it); default: the current folder. */
  planDir?: string;
  resolvers: PartResolvers;
  now: () => Date;
}

/** What a verified part returns; `part.json` records it. A part that fails throws an ExitPlanError. */
export interface PartOutcome {
  files: PartFile[];
  /**
   * When a part holds more files than part.json should list (a container's blobs), `files` names the lists that
   * record them (the azure part: files-manifest.csv and files-verified.csv) and this counts everything.
   */
  totals?: { files: number; bytes: number };
  /** One sentence: how it was verified (e.g. "every CSV's CRC-32, SHA-256 and rows checked against the manifest"). */
  verification: string;
  /** Facts for the report and the manifest (e.g. database, snapshot time, server version, blob count). */
  details?: Record<string, unknown>;
  /** Things worth saying that are not failures (e.g. blobs added after the listing). */
  notes?: string[];
}

export type PartRunner<P extends PlanPart> = (part: P, context: PartContext) => Promise<PartOutcome>;

/** `<part>/part.json`, written only after the part is verified. */
export interface PartRecord extends PartOutcome {
  format: 1;
  name: string;
  kind: PartKind;
  status: 'verified';
  /** Every file of the part (`totals.files`, else the length of `files`). */
  fileCount: number;
  bytes: number;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
}

/** One part in a run's result. */
export interface RunPartResult {
  name: string;
  kind: PartKind;
  status: 'verified' | 'failed' | 'skipped';
  files: number;
  bytes: number;
  /** Failed: the one sentence. */
  error?: string;
  /** Verified in an earlier attempt of this run (resume) rather than now. */
  kept?: boolean;
}

export interface ExitRunResult {
  /** The run folder. */
  folder: string;
  /** exit-manifest.json and EXIT-REPORT.md are written: every part of the plan was run in this folder. */
  complete: boolean;
  parts: RunPartResult[];
  /** Every part verified. */
  ok: boolean;
  /** Older complete runs removed by `keep`. */
  removedRuns: string[];
}

/** Names of the files of a run. */
export const RUN_FILES = {
  manifest: 'exit-manifest.json',
  report: 'EXIT-REPORT.md',
  part: 'part.json',
  /** Folder prefix of each run: exit_<UTC YYYY-MM-DDTHHMMSSZ>. */
  prefix: 'exit_',
} as const;
