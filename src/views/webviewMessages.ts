/*
 * The messages between the extension and its webviews, declared once for both sides: the views in src/views
 * import them, the page scripts in media/ use them through JSDoc (`@typedef {import('…').X}`) and are type-checked
 * against them (`tsc -p media`). What a webview sends is untrusted input: the extension acts on it only after
 * the `is…Message` guard of its page says it has exactly one of the shapes below.
 *
 * Plain data and pure functions only (no vscode, no Node): the page scripts' type-check reads this file too.
 */

type Fields = Record<string, unknown>;

const isObject = (value: unknown): value is Fields => typeof value === 'object' && value !== null;
const isOneOf = <T extends string>(values: readonly T[], value: unknown): value is T => values.includes(value as T);
const isText = (value: unknown, maxLength: number): value is string => typeof value === 'string' && value.length <= maxLength;

// ---------------------------------------------------------------------------------------------------------
// Backup report (the sidebar view exitPlan.backupReport; media/backupReport.js)

/** What a report button asks the extension to run on a target. */
const REPORT_ACTIONS = ['backUpNow', 'verify', 'drill', 'rotate'] as const;
export type ReportAction = (typeof REPORT_ACTIONS)[number];

/** One backup target as the report shows it. */
export interface BackupTargetView {
  name: string;
  dir: string;
  busy?: string;
  canDrill: boolean;
  problems: string[];
  count: number;
  totalBytes: number;
  counts: { verified: number; failed: number; unverified: number };
  lastBackup?: { name: string; at: string; bytes: number; state: string };
  /** Per group (PostgreSQL <db>, Files <name>, Command <name>): its newest backup, so one that stopped shows. */
  groups?: { label: string; count: number; newest: { name: string; at: string; state: string } }[];
  /** `words`: the schedule in plain words, or the expression when it has none; `firstPending`: no backup yet, none missed. */
  schedule?: { expression: string; words: string; previous?: string; next?: string; overdue: boolean; firstPending: boolean };
  lastSuccessfulDrill?: { at: string; file: string };
  lastDrill?: { at: string; ok: boolean; message: string };
  /** Per group: label and [unix seconds, bytes] points, oldest first. */
  series: { label: string; points: [number, number][] }[];
  rotation?: { policy: string; removeBytes: number; suspects: number; remove: { name: string; at: string; bytes: number }[] };
}

export type BackupReportToWebview = { type: 'render'; targets: BackupTargetView[]; generatedAt: string };

export type BackupReportFromWebview = { type: 'ready' } | { type: 'run'; action: ReportAction; target: string } | { type: 'addTarget' };

/** A target name from the page is at most this long. */
const MAX_TARGET_NAME = 1000;

/** Whether the backup report's page sent one of its messages. */
export function isBackupReportMessage(value: unknown): value is BackupReportFromWebview {
  if (!isObject(value)) return false;
  switch (value.type) {
    case 'ready':
    case 'addTarget':
      return true;
    case 'run':
      return isOneOf(REPORT_ACTIONS, value.action) && isText(value.target, MAX_TARGET_NAME);
    default:
      return false;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Datasets report (the panel exitPlan.datasetsReport; media/datasetsReport.js)

/** A report warning (the core's datasets.ReportWarning): `failing` and `config` show as errors. */
export interface DatasetWarningView {
  kind: 'config' | 'noComplete' | 'overdue' | 'failing' | 'gone' | 'metrics' | 'shrank';
  /** One sentence, naming the dataset. */
  message: string;
}

/** A success whose metrics the report shows (the core's datasets.Highlight). */
export interface DatasetHighlightView {
  parcelId: string;
  /** Whole days between the parcel and the report's time. */
  daysAgo: number;
  values: Record<string, string>;
}

/** One dataset as the page shows it. */
export interface DatasetView {
  name: string;
  path: string;
  error?: string;
  lastSuccess?: string;
  lastSuccessGone: boolean;
  overdue: boolean;
  failing: boolean;
  running: boolean;
  /** Its one state (the core's datasets.DatasetState): each dataset is counted once. */
  state: 'error' | 'failing' | 'overdue' | 'running' | 'neverRun' | 'ok';
  /** When failing: the failed parcel and the last line of its log. */
  lastError?: { parcelId: string; line?: string };
  /** "3 h ago" for the last success (formatAgo). */
  lastSuccessAgo?: string;
  interval?: string;
  nextDue?: string;
  keep?: number;
  shrinkAlert: number;
  warnings: DatasetWarningView[];
  /** Metric columns: files, bytes, then custom ones. */
  columns: string[];
  highlights: DatasetHighlightView[];
  /** Every metrics.csv row with a parcel time: seconds since the epoch, success, one value per column. */
  history: { times: number[]; success: boolean[]; values: Record<string, (number | null)[]> };
}

export type DatasetsReportToWebview =
  | {
      type: 'render';
      generatedAt: string;
      shrinkAlert: number;
      datasets: DatasetView[];
      problems: string[];
      roots: number;
      /** "2 datasets: 1 failing (also overdue), 1 ok": each dataset counted once. */
      summary: string;
    }
  | { type: 'busy'; busy: boolean };

export type DatasetsReportFromWebview =
  | { type: 'ready' }
  | { type: 'refresh' }
  | { type: 'exportNow'; dataset: string }
  | { type: 'openLog'; dataset: string }
  | { type: 'openConfig'; dataset: string };

/** A dataset folder from the page is shorter than this. */
const MAX_DATASET_PATH = 4095;

/** Whether the datasets report's page sent one of its messages. */
export function isDatasetsReportMessage(value: unknown): value is DatasetsReportFromWebview {
  if (!isObject(value)) return false;
  switch (value.type) {
    case 'ready':
    case 'refresh':
      return true;
    case 'exportNow':
    case 'openLog':
    case 'openConfig':
      return isText(value.dataset, MAX_DATASET_PATH);
    default:
      return false;
  }
}

// ---------------------------------------------------------------------------------------------------------
// SAS panel (exitPlan.sas; media/sas.js). The page never receives the SAS URL or a full command line: only
// masked text. It asks the extension to copy or run the real one.

const DESTINATION_KEYS = ['local', 'azure', 's3', 'gcs'] as const;
export type DestinationKey = (typeof DESTINATION_KEYS)[number];
/** Commands with a "Copy" button, plus the URL itself. */
const COPY_TARGETS = ['url', ...DESTINATION_KEYS, 's3TwoStep', 'gcsTwoStep'] as const;
export type CopyTarget = (typeof COPY_TARGETS)[number];
/** Commands that are one program and its arguments, so they can run without a shell. */
export type RunTarget = DestinationKey;
/** The shells the commands are written for (the core's azure.Shell). */
const SHELLS = ['posix', 'powershell'] as const;
export type SasShell = (typeof SHELLS)[number];

/** How long a link may be made for, in minutes (the core's SAS_EXPIRY_MAX_MINUTES). */
const MAX_EXPIRY_MINUTES = 10080;

export type SasToWebview =
  | {
      type: 'render';
      shell: SasShell;
      destinations: Record<DestinationKey, string>;
      /** The link, masked. */
      url: string;
      /** When the link expires: ISO time, and as the extension's locale shows it. */
      expiresOn: string;
      expiresText: string;
      /** What the link was made for; the expiry control shows it. */
      expiryMinutes: number;
      /** Masked command lines, one per card. */
      lines: Record<Exclude<CopyTarget, 'url'>, string>;
      /** Which commands can be copied: false while their destination is still a placeholder. */
      copyable: Record<Exclude<CopyTarget, 'url'>, boolean>;
      /** Which commands get a "Run in Terminal" button. */
      runnable: Record<RunTarget, boolean>;
      /** One sentence about the last change of the link (a new link was made, or could not be). */
      notice?: string;
    }
  | { type: 'copied'; what: CopyTarget }
  | { type: 'signing' }
  | { type: 'expired' };

export type SasFromWebview =
  | { type: 'ready' }
  | { type: 'copy'; what: CopyTarget }
  | { type: 'setShell'; shell: SasShell }
  | { type: 'setDestination'; key: DestinationKey; value: string }
  | { type: 'setExpiry'; minutes: number }
  | { type: 'run'; what: RunTarget };

/** A destination typed in the page is at most this long. */
const MAX_DESTINATION_LENGTH = 4096;

/** Whether the SAS panel's page sent one of its messages. */
export function isSasMessage(value: unknown): value is SasFromWebview {
  if (!isObject(value)) return false;
  switch (value.type) {
    case 'ready':
      return true;
    case 'copy':
      return isOneOf(COPY_TARGETS, value.what);
    case 'setShell':
      return isOneOf(SHELLS, value.shell);
    case 'setDestination':
      return isOneOf(DESTINATION_KEYS, value.key) && isText(value.value, MAX_DESTINATION_LENGTH);
    case 'setExpiry':
      return Number.isInteger(value.minutes) && (value.minutes as number) >= 1 && (value.minutes as number) <= MAX_EXPIRY_MINUTES;
    case 'run':
      return isOneOf(DESTINATION_KEYS, value.what);
    default:
      return false;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Exit report (the panel exitPlan.exitReport; media/exitReport.js): one run folder of an exit plan.

/** One verified part as the report shows it (from its part.json). */
export interface ExitPartView {
  name: string;
  kind: string;
  files: number;
  bytes: number;
  /** One sentence: how it was verified. */
  verification: string;
  durationMs: number;
  finishedAt: string;
  notes: string[];
}

export interface ExitReportView {
  /** The run folder's name (exit_<stamp>) and path. */
  run: string;
  folder: string;
  /** exit-manifest.json is there. */
  complete: boolean;
  parts: ExitPartView[];
  failures: { name: string; kind?: string; error: string }[];
  /** Parts of the plan not run in this folder yet (an unfinished run). */
  missing: string[];
  notIncluded: string[];
}

export type ExitReportToWebview = { type: 'render'; report: ExitReportView; generatedAt: string };

export type ExitReportFromWebview = { type: 'ready' } | { type: 'refresh' } | { type: 'revealFolder' } | { type: 'openMarkdown' };

/** Whether the exit report's page sent one of its messages. */
export function isExitReportMessage(value: unknown): value is ExitReportFromWebview {
  if (!isObject(value)) return false;
  return isOneOf(['ready', 'refresh', 'revealFolder', 'openMarkdown'] as const, value.type);
}
