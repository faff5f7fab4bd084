// How a run reaches connections and secrets outside VS Code: the environment (the CLI, cron on a server).
import { ExitPlanError } from '../shared/errors';
import { findOnPath } from '../shared/programs';
import { findRclone } from '../rclone/program';
import { connectionFromUrl } from '../postgres/connection';
import { openStorageAccount } from '../azure/connection';
import { DEFAULT_AZURE_CONNECTION_ENV } from './plan';
import type { PartResolvers } from './types';

type Env = Record<string, string | undefined>;

/** The environment variable that names azcopy's path, when it is not on PATH. */
export const AZCOPY_ENV = 'EXIT_PLAN_AZCOPY';
export { RCLONE_ENV } from '../rclone/program';

function vsCodeOnly(kind: string, name: string, connection: string): ExitPlanError {
  return new ExitPlanError(
    `The ${kind} part "${name}" uses the saved VS Code connection "${connection}", which only VS Code can open: ` +
      `run it from VS Code, or give the part ${kind === 'warehouse' ? 'a db URL (and password_env)' : 'connection_string_env'} instead.`,
    'USAGE',
  );
}

/**
 * Resolvers from the environment: a warehouse part's `db` with the password from `password_env` (else
 * PGPASSWORD); an azure part's connection string from `connection_string_env` (default
 * AZURE_STORAGE_CONNECTION_STRING); azcopy from EXIT_PLAN_AZCOPY or PATH; rclone from EXIT_PLAN_RCLONE or PATH. A part with a saved VS Code
 * `connection` fails with one sentence.
 */
export function envResolvers(env: Env = process.env): PartResolvers {
  return {
    async warehouse(part) {
      if (part.connection !== undefined || part.db === undefined) throw vsCodeOnly('warehouse', part.name, part.connection ?? '');
      const connection = connectionFromUrl(part.db, env);
      if (part.passwordEnv !== undefined) {
        const password = env[part.passwordEnv];
        if (password === undefined || password === '')
          throw new ExitPlanError(
            `The warehouse part "${part.name}" takes its password from the environment variable ${part.passwordEnv}, which is not set.`,
            'USAGE',
          );
        connection.password = password;
      }
      return connection;
    },
    async azure(part) {
      if (part.connection !== undefined) throw vsCodeOnly('azure', part.name, part.connection);
      const variable = part.connectionStringEnv ?? DEFAULT_AZURE_CONNECTION_ENV;
      const connectionString = env[variable];
      if (connectionString === undefined || connectionString.trim() === '')
        throw new ExitPlanError(
          `The azure part "${part.name}" takes its connection string from the environment variable ${variable}, which is not set.`,
          'USAGE',
        );
      return openStorageAccount({ kind: 'connectionString', connectionString });
    },
    async azcopy() {
      return findAzcopy(env);
    },
    async rclone() {
      return findRclone(env);
    },
  };
}

/** azcopy's path from EXIT_PLAN_AZCOPY, else the first `azcopy` on PATH; undefined when there is none. */
export function findAzcopy(env: Record<string, string | undefined> = process.env): string | undefined {
  const given = env[AZCOPY_ENV];
  if (given !== undefined && given !== '') return given;
  return findOnPath('azcopy');
}
