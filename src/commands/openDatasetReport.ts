import { DatasetsReportPanel } from '../views/datasetsReport';
import type { CommandContext } from './context';

/** Opens (or shows) the datasets report: warnings, metrics, a chart per metric over time. */
export function openDatasetReport(ctx: CommandContext): void {
  DatasetsReportPanel.show({ extensionUri: ctx.extensionUri, service: ctx.datasets, log: ctx.log });
}
