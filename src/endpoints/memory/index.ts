/**
 * The simulated pool (`memory:`): the embedded default for demos and fast tests.
 *
 * @example
 * const src = new MemoryPool({ seed: 'src' });
 * src.createDataset('tank/data');
 * src.snapshot('tank/data', 'a');
 * const dst = new MemoryPool({ seed: 'dst' });
 * const planner = createPlanner(memorySender(src, 'tank'), memoryReceiver(dst, 'backup'));
 */
export { MemoryPool, DEFAULT_SNAPSHOT_SIZE } from './pool.js';
export type { MemoryDataset, MemoryPoolOptions, PartialReceive } from './pool.js';
export { PoolFixtureSchema, parsePoolFixture } from './fixture.js';
export type { PoolFixture, DatasetFixture } from './fixture.js';
export { MemorySender, memorySender } from './sender.js';
export { MemoryReceiver, memoryReceiver } from './receiver.js';
export type { MemoryReceiverOptions } from './receiver.js';
export type { MemoryEndpointOptions } from './endpoint.js';
export { Faults, connectionResetError, unavailableError } from './faults.js';
export type { EndpointMethod, StreamFailure } from './faults.js';
export { decodeResumeToken, encodeResumeToken } from './resume-token.js';
export type { MemoryResumeToken } from './resume-token.js';
