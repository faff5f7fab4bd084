export * from './environment';
export * from './remote';
