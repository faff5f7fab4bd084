import { listRelations, type RelationInfo } from './catalog';
import { connect, describePgError, type PgConnectionOptions } from './connection';
import { SESSION_SETTINGS } from './manifest';

/** Connects, lists the exportable relations (with columns, estimated rows and size), and disconnects. */
export async function listWarehouseTables(
  connection: PgConnectionOptions,
  options: { includeViews?: boolean } = {},
): Promise<RelationInfo[]> {
  const client = await connect(connection);
  try {
    await client.query(SESSION_SETTINGS);
    return await listRelations(client, options);
  } catch (err) {
    throw describePgError(err, connection);
  } finally {
    await client.end().catch(() => undefined);
  }
}
