// The public types use Node's (AbortSignal, streams): kept in the .d.ts (preserve), so consumers
// get them whatever their `types` say.
/// <reference types="node" preserve="true" />
/**
 * `xrepl/visualizer`: the statechart visualizer for a replication run from code.
 *
 * @example
 * import { startVisualizer } from 'xrepl/visualizer';
 *
 * const vis = await startVisualizer({ port: 0 });
 * const replication = replicate(config, planner, { inspect: vis.inspect });
 * vis.attachReplication(replication);
 * console.log(`open ${vis.url}`);
 * await replication.wait();
 * await vis.close();
 */
export { startVisualizer } from './server.js';
export type { ReportSource, Visualizer, VisualizerOptions, VisualizerStats } from './server.js';
