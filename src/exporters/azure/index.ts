export * from './connection';
export * from './listing';
export * from './sas';
export * from './transfer';
export * from './upload';
export * from './download';
