import type { Command } from 'commander';

/** `exit-plan datasets …`: a thin layer over src/exporters/datasets. */
export function addDatasetsCommands(program: Command): void {
  void program;
}
