#!/usr/bin/env node
// `exit-plan`: the command-line twin of the extension, a thin layer over src/exporters for cron and servers.
// This is the program that starts for every command: the whole command tree (names, flags, help) from one file
// per command group in src/cli/, and nothing else. What a command does is in src/cli/run/<group>.ts, which its
// action imports when it runs, so `--help` or `datasets report` never loads the PostgreSQL client, the Azure SDK,
// tar or TOML it does not use (docs/ARCHITECTURE.md, "The CLI's bundles").
import { availableParallelism } from 'node:os';
import { Command } from 'commander';
import { errorMessage } from './exporters/shared/errors';
import { printable } from './exporters/shared/format';
import { maskSecrets } from './exporters/shared/mask';
import { TOOL_VERSION } from './exporters/version';
import { addAzureCommands } from './cli/azure';
import { addBackupsCommands } from './cli/backups';
import { oneLineUsageErrors } from './cli/common';
import { addDatasetsCommands } from './cli/datasets';
import { addExitCommands } from './cli/exit';
import { addFilesCommands } from './cli/files';
import { addWarehouseCommands } from './cli/warehouse';

// Compression runs on libuv's thread pool (4 threads unless told): room for every core, plus file I/O. Read by
// libuv when the pool is first used, so set before any work starts.
process.env.UV_THREADPOOL_SIZE ??= String(Math.min(64, Math.max(4, availableParallelism() + 2)));

function buildProgram(): Command {
  const program = new Command('exit-plan').description('Take all of your data out, at any time.').version(TOOL_VERSION);
  addWarehouseCommands(program);
  addAzureCommands(program);
  addFilesCommands(program);
  addDatasetsCommands(program);
  addBackupsCommands(program);
  addExitCommands(program);
  oneLineUsageErrors(program);
  return program;
}

/**
 * Cancelled (Ctrl-C, SIGTERM): exit code 130. By name, not `instanceof`: a command's error comes from the core as
 * its bundle holds it (dist/cli/*.mjs), which has its own copy of the error classes.
 */
function isCancelled(err: unknown): boolean {
  return err instanceof Error && err.name === 'CancelledError';
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
    return isCancelled(err) ? 130 : 1;
  }
}

if (require.main === module) {
  main(process.argv).then((code) => {
    process.exitCode = code;
  });
}
