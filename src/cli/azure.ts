// `exit-plan azure …`: list containers, count a container's size, make a read-only link and the commands that copy
// everything out. The commands, flags and help; what they do is in run/azure.ts, loaded (with the Azure SDK) when one runs.
import { Option, type Command } from 'commander';
import { SAS_EXPIRY_DEFAULT_MINUTES, SAS_EXPIRY_MAX_MINUTES } from '../exporters/azure/sas';

const run = () => import('./run/azure.js');

export function addAzureCommands(program: Command): void {
  const cmd = program
    .command('azure')
    .description('Azure Blob Storage: list containers, make read-only links and the commands that copy everything out.');
  const csOption = () =>
    new Option(
      '--connection-string <cs>',
      'storage account connection string (default: AZURE_STORAGE_CONNECTION_STRING; UseDevelopmentStorage=true for the emulator)',
    );

  cmd
    .command('containers')
    .description('List the containers of a storage account.')
    .addOption(csOption())
    .option('--json', 'print JSON')
    .action(async (opts) => (await run()).listContainers(opts));

  cmd
    .command('size')
    .description('Count the blobs and bytes in a container or a folder of it (streams the listing; memory stays flat).')
    .addOption(csOption())
    .requiredOption('--container <name>', 'the container')
    .option('--folder <prefix>', 'a virtual folder inside the container')
    .option('--json', 'print { blobs, bytes }')
    .action(async (opts) => (await run()).computeSize(opts));

  cmd
    .command('sas')
    .description('Make a time-limited, read + list SAS for a container (or a folder in it) and the commands that copy it out.')
    .addOption(csOption())
    .requiredOption('--container <name>', 'the container')
    .option('--folder <prefix>', 'a virtual folder inside the container')
    .option('--expiry-minutes <n>', `minutes the link works (1-${SAS_EXPIRY_MAX_MINUTES})`, String(SAS_EXPIRY_DEFAULT_MINUTES))
    .option('--json', 'print { url, expiresOn, commands: { local, azure, s3, gcs } }')
    .action(async (opts) => (await run()).generateSas(opts));
}
