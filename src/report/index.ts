export * from './schema.js';
export * from './names.js';
