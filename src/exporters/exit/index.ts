// Exit runs: the plan file, the run, its report and manifest, the status of a plan's parts.
export * from './types';
export * from './plan';
export * from './runs';
export * from './run';
export * from './report';
export * from './status';
export * from './resolvers';
export { PART_RUNNERS, runPart } from './parts';
