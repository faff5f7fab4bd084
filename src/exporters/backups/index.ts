// Backups: PostgreSQL dumps and file archives, sidecars, rotation, verification, restore and drills.
export * from './names';
export * from './sidecar';
export * from './pgTools';
export * from './createPostgres';
export * from './createFiles';
export * from './list';
export * from './rotation';
export * from './rotate';
export * from './verify';
export * from './restore';
export * from './drill';
export * from './schedule';
export * from './targets';
export * from './backUpTarget';
export * from './report';
export * from './check';
export * from './lock';
