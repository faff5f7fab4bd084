import { CancelledError, throwIfAborted } from '../shared/errors';
import { DEFAULT_LOCK_TIMEOUT_SECONDS, checkLockTimeout } from '../shared/lockTimeout';
import { listRelations, relationSizes, type RelationInfo } from './catalog';
import { connect, describePgError, type PgConnectionOptions } from '../postgres/connection';
import { LockWatcher, lockTimeoutSql } from './locks';
import type { OperationOptions } from '../shared/operation';
import type { TablesProgress } from './progress';
import { SESSION_SETTINGS } from './model';

/** The operation contract: `onProgress` tells which lock the listing waits for. */
export interface ListTablesOptions extends Omit<OperationOptions<TablesProgress>, 'log'> {
  includeViews?: boolean;
  /** Seconds to wait for a lock another session holds (the sizes need a brief one per table); 0 waits as long as it takes. Default 60. */
  lockTimeoutSeconds?: number;
}

/** Connects, lists the exportable relations (with columns, estimated rows and size), and disconnects. */
export async function listWarehouseTables(connection: PgConnectionOptions, options: ListTablesOptions = {}): Promise<RelationInfo[]> {
  const lockTimeout = checkLockTimeout(options.lockTimeoutSeconds ?? DEFAULT_LOCK_TIMEOUT_SECONDS);
  throwIfAborted(options.signal, 'Listing cancelled.');
  const client = await connect(connection);
  let watcher: LockWatcher | undefined;
  try {
    await client.query(SESSION_SETTINGS);
    await client.query(lockTimeoutSql(lockTimeout));
    // The catalogs never wait for locks; the sizes do, so only they run under the watcher.
    const relations = await listRelations(client, { includeViews: options.includeViews, sizes: false });
    throwIfAborted(options.signal, 'Listing cancelled.');
    watcher = await LockWatcher.open(connection);
    const oids = relations.map((r) => r.oid);
    const sizes = await watcher.run(client, () => relationSizes(client, oids), {
      timeoutSeconds: lockTimeout,
      signal: options.signal,
      onWaiting: options.onProgress && ((waiting) => options.onProgress?.({ waiting })),
      candidates: oids,
      tail: 'no tables were listed',
    });
    return relations.map((r) => ({ ...r, sizeBytes: sizes.get(r.oid) ?? 0 }));
  } catch (err) {
    if (options.signal?.aborted) throw new CancelledError('Listing cancelled.');
    throw describePgError(err, connection);
  } finally {
    await watcher?.close();
    await client.end().catch(() => undefined);
  }
}
