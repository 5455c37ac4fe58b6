/**
 * `xrepl daemon --config FILE`: runs every job of the config until SIGTERM/SIGINT (which
 * abort the work in progress and exit 0 after a clean stop). SIGHUP reloads the config; a bad
 * one is refused and the old one keeps running. The control socket is the lock: one daemon
 * per config.
 */
import { Option, type Command } from 'commander';
import type { Visualizer } from '../../visualizer/server/index.js';
import { ConfigError } from '../errors/config-error.js';
import { DEFAULT_CONFIG_PATH, loadConfig, type Config } from '../jobs/config.js';
import { acquireLock, serveControl } from '../jobs/control.js';
import { createMetrics, serveMetrics } from '../jobs/metrics.js';
import { JobRuntime, type RuntimeOptions } from '../jobs/runtime.js';
import { realTimers, type Timers } from '../jobs/schedule.js';
import { checkJob } from '../jobs/sides.js';
import type { CommandContext } from './context.js';
import { EXIT, UsageError } from './io.js';
import { jobDeps } from './job-deps.js';
import { createLogger } from './logger.js';
import { parsePort, type LogLevel } from './options.js';
import { openVisualizer } from './run.js';

/** Where the control socket is without `global.control.socket`. */
export const DEFAULT_CONTROL_SOCKET = '/run/xrepl/control.sock';

export function controlSocketOf(config: Config): string {
  return config.global.control?.socket ?? DEFAULT_CONTROL_SOCKET;
}

/** Every job of the config, checked past the schema; a UsageError names the first misfit. */
export function checkRunnable(config: Config): void {
  for (const job of config.jobs) {
    try {
      checkJob(job);
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
  }
}

/**
 * The runtime's hooks that show the daemon in the visualizer: the daemon and its jobs, each
 * job's run under its job, each run's live report. (The jobs' status: `vis.attachDaemon`.)
 */
export function visualizerWiring(
  vis: Visualizer,
): Required<Pick<RuntimeOptions, 'inspect' | 'inspectRun' | 'onRun'>> {
  return {
    inspect: vis.inspect,
    inspectRun: (jobSessionId) => vis.inspectUnder(jobSessionId),
    onRun: (replication, job) => vis.attachReplication(replication, job),
  };
}

interface DaemonFlags {
  config: string;
  visualize?: number;
  logLevel: LogLevel;
}

/** The daemon with its timers injectable (tests). */
export async function daemonCommand(
  flags: DaemonFlags,
  ctx: CommandContext,
  timers: Timers = realTimers,
): Promise<number> {
  const { io } = ctx;
  const config = loadConfig(flags.config);
  checkRunnable(config);
  const level =
    flags.logLevel === 'warn' ? (config.global.logging?.level ?? 'info') : flags.logLevel;
  const logger = createLogger(level, io.stderr, {
    readable: config.global.logging?.format !== 'json',
  });
  const socketPath = controlSocketOf(config);
  const unlock = acquireLock(socketPath);
  let runtime: JobRuntime | undefined;
  let control: Awaited<ReturnType<typeof serveControl>> | undefined;
  let metricsServer: Awaited<ReturnType<typeof serveMetrics>> | undefined;
  const disposers: (() => void)[] = [];
  let visualizer: Visualizer | null = null;
  try {
    visualizer = await openVisualizer(flags.visualize, undefined, io.stderr);
    const vis = visualizer;
    const deps = jobDeps(ctx, logger);
    const states = (): ReadonlyMap<string, string> => runtime?.states() ?? new Map();
    const metrics = createMetrics(deps.now, states);
    runtime = new JobRuntime({
      config,
      deps,
      timers,
      metrics,
      ...(vis === null ? {} : visualizerWiring(vis)),
    });
    const rt = runtime;
    vis?.attachDaemon(rt);
    control = await serveControl(socketPath, (request) => {
      if (request.cmd === 'status') return rt.status();
      if (request.cmd === 'wakeup') rt.wakeup(request.job);
      else rt.reset(request.job);
      return { job: request.job };
    });
    const listen = config.global.monitoring?.listen;
    if (listen !== undefined) {
      metricsServer = await serveMetrics(metrics, listen);
      logger.info({ port: metricsServer.port }, 'metrics on /metrics');
    }
    const stopped = new Promise<string>((resolve) => {
      disposers.push(io.onInterrupt((signal = 'SIGINT') => resolve(signal)));
    });
    if (io.onReload !== undefined) {
      disposers.push(
        io.onReload(() => {
          try {
            const next = loadConfig(flags.config);
            checkRunnable(next);
            if (controlSocketOf(next) !== socketPath) {
              logger.warn('the control socket changes only at a restart');
            }
            rt.reload(next);
            logger.info({ jobs: next.jobs.map((j) => j.name) }, 'config reloaded');
          } catch (err) {
            const message = err instanceof ConfigError ? err.message : (err as Error).message;
            logger.error({ err: message }, 'reload refused: the old config keeps running');
          }
        }),
      );
    }
    runtime.start();
    logger.info({ jobs: config.jobs.map((j) => j.name), socket: socketPath }, 'daemon started');
    const signal = await stopped;
    logger.info({ signal }, 'stopping');
    return EXIT.done;
  } finally {
    for (const dispose of disposers) dispose();
    await runtime?.stop();
    await control?.close();
    await metricsServer?.close();
    await visualizer?.close();
    unlock();
  }
}

/** Registers `daemon`. */
export function registerDaemon(program: Command, ctx: CommandContext): void {
  program
    .command('daemon')
    .description('run the jobs of the config file: snapshots, replication, pruning')
    .option('--config <file>', 'the config file', DEFAULT_CONFIG_PATH)
    .addOption(
      new Option(
        '--visualize <port>',
        'serve the statechart visualizer: the daemon, its jobs and their runs',
      ).argParser((v) => parsePort(v, '--visualize')),
    )
    .action(async (_o: unknown, command: Command) => {
      ctx.exit(await daemonCommand(command.optsWithGlobals<DaemonFlags>(), ctx));
    });
}
