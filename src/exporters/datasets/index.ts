// Datasets: scheduled exports in export_manager's folder layout (config.toml, metrics.csv, data/, incomplete/, log/).
export { BASE_COLUMNS, DEFAULT_SHRINK_ALERT, parseConfig, parseShare, readConfig, type DatasetConfig } from './config';
export { findDatasets, type RootProblem } from './discover';
export { CONFIG_TEMPLATE, INITIAL_METRICS_CSV, initDataset, type InitResult } from './init';
export { formatDuration, parseInterval } from './interval';
export { LOCK_FILE, lockHolder, withDatasetLock, type LockInfo } from './lock';
export { METRIC_ERROR, readMetrics, type MetricsRow, type MetricsTable } from './metrics';
export { datasetPaths, isComplete, listParcels, parcelIdOf, parseParcelId, type Parcel } from './parcels';
export {
  DUE_MARGIN_MS,
  clean,
  datasetProgressFraction,
  describeDatasetProgress,
  exportDataset,
  exportDatasets,
  isDue,
  nextDue,
  processDataset,
  processDatasets,
  type DatasetOutcome,
  type DatasetPhase,
  type DatasetProgress,
  type DatasetRunResult,
  type ProcessOptions,
} from './process';
export {
  HIGHLIGHT_DAYS,
  buildReport,
  formatReport,
  needsAttention,
  type DatasetReport,
  type DatasetsReport,
  type HistoryPoint,
  type Highlight,
  type ParcelSummary,
  type ReportOptions,
  type ReportWarning,
  type ShrinkAlert,
  type WarningKind,
} from './report';
export {
  datasetState,
  datasetsStatusText,
  describeDatasetsSummary,
  distinctWarnings,
  lastErrorLine,
  needsAction,
  summarizeDatasets,
  type DatasetState,
  type DatasetsSummary,
  type StateFields,
  type StatusText,
} from './status';
