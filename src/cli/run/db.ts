// `--db URL` of the warehouse and backups commands.
import { connectionFromEnv, connectionFromUrl, urlHasPassword, type PgConnectionOptions } from '../../exporters/postgres/connection';

let warnedPasswordInUrl = false;

/**
 * `--db URL`, or the PG* environment variables when it is absent. A password inside the URL works, with one
 * warning on stderr (once per run): it shows in `ps` and the shell's history, PGPASSWORD does not.
 */
export function connectionOption(db: string | undefined): PgConnectionOptions {
  if (!db) return connectionFromEnv();
  const connection = connectionFromUrl(db);
  if (urlHasPassword(db) && !warnedPasswordInUrl) {
    warnedPasswordInUrl = true;
    process.stderr.write(
      'exit-plan: warning: the --db URL holds a password, which other users can see in `ps` and which stays in the shell history; ' +
        'give it in PGPASSWORD instead.\n',
    );
  }
  return connection;
}
