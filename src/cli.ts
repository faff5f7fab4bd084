#!/usr/bin/env node
// `exit-plan`: the command-line twin of the extension, a thin layer over src/exporters for cron and servers.
// One file per command group in src/cli/; this one builds the program from them and runs it.
import { Command } from 'commander';
import { CancelledError, TOOL_VERSION, errorMessage, maskSecrets, printable } from './exporters';
import { addAzureCommands } from './cli/run/azure';
import { addBackupsCommands } from './cli/run/backups';
import { oneLineUsageErrors } from './cli/run/common';
import { addDatasetsCommands } from './cli/run/datasets';
import { addExitCommands } from './cli/run/exit';
import { addWarehouseCommands } from './cli/run/warehouse';

function buildProgram(): Command {
  const program = new Command('exit-plan').description('Take all of your data out, at any time.').version(TOOL_VERSION);
  addWarehouseCommands(program);
  addAzureCommands(program);
  addDatasetsCommands(program);
  addBackupsCommands(program);
  addExitCommands(program);
  oneLineUsageErrors(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    // A command may end with its own code (e.g. `datasets process`: 2 when a dataset failed).
    return Number(process.exitCode ?? 0);
  } catch (err) {
    // One line on stderr: the reason, as the core phrased it, with any secret masked and control characters
    // (a table name's ESC sequence or newline) shown as escapes.
    process.stderr.write(`exit-plan: ${printable(maskSecrets(errorMessage(err).trimEnd()))}\n`);
    return err instanceof CancelledError ? 130 : 1;
  }
}

if (require.main === module) {
  main(process.argv).then((code) => {
    process.exitCode = code;
  });
}
