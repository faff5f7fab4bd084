// `npm run demo`: the main job end to end on an embedded PostgreSQL: start it, load a sample warehouse
// of connector-style tables, export it with the real `exit-plan` CLI, and print where the archive is.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { connectionUrl, startPostgres } from './lib/embeddedPostgres';
import { SAMPLE_WAREHOUSE_SQL } from './lib/sampleWarehouse';

async function main(): Promise<number> {
  const root = path.resolve(__dirname, '../..');
  const outDir = path.join(root, 'demo-output');
  process.stdout.write('Starting an embedded PostgreSQL…\n');
  const pg = await startPostgres();
  try {
    const db = await pg.createDatabase('community_warehouse');
    const client = await pg.client('community_warehouse');
    await client.query(SAMPLE_WAREHOUSE_SQL);
    await client.end();
    process.stdout.write(`Loaded a sample warehouse (forms, mapping, alerts) into ${db.database}.\n`);
    const args = [
      path.join(root, 'dist/cli.js'),
      'warehouse',
      'export',
      '--db',
      connectionUrl(db),
      '--out',
      outDir,
      '--exclude-columns',
      '*_token',
    ];
    process.stdout.write(`$ exit-plan ${args.slice(1).join(' ')}\n`);
    // The password travels in the environment, never on the command line.
    const run = spawnSync(process.execPath, args, { stdio: 'inherit', env: { ...process.env, PGPASSWORD: db.password } });
    if (run.status !== 0) return run.status ?? 1;
    const archives = fs
      .readdirSync(outDir)
      .filter((f) => f.endsWith('.zip'))
      .sort();
    process.stdout.write(`\nArchives in ${outDir}: ${archives.join(', ')}\nOpen one, or reload it with psql as its README.txt says.\n`);
    return 0;
  } finally {
    await pg.stop();
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`demo failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
