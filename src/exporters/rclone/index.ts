export * from './environment';
export * from './remote';
export * from './copy';
export * from './program';
