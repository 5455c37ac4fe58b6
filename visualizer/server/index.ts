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
export type {
  ReportSource,
  Visualizer,
  VisualizerOptions,
  VisualizerStats,
} from './server.js';
