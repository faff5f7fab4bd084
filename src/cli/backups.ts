import type { Command } from 'commander';

/** `exit-plan backups …`: a thin layer over src/exporters/backups. */
export function addBackupsCommands(program: Command): void {
  void program;
}
