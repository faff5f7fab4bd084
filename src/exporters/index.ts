// The core: no `vscode` here (test/architecture.test.ts enforces it), so the CLI and plain mocha run it.
export * from './shared/errors';
export * from './shared/operation';
export * from './shared/format';
export * from './shared/paths';
export * from './postgres/connection';
export * from './warehouse/catalog';
export * from './warehouse/model';
export * from './warehouse/export';
export * from './warehouse/locks';
export * from './shared/lockTimeout';
export * from './warehouse/tables';
export * from './warehouse/verify';
export { TOOL_NAME, TOOL_VERSION } from './version';
export * from './shared/mask';
export { findOnPath } from './shared/programs';
export * as azure from './azure';
export * as datasets from './datasets';
export * as backups from './backups';
