export * from './schema.js';
export { runReport, attemptReport, filesystemReport, stepInfo } from './fromSnapshot.js';
