/**
 * `xrepl demo` (what `npm start` runs): a replication between two simulated pools with live
 * progress. A snapshot vanishes from the sender between planning and its send, so one
 * filesystem re-plans (D13) while the others carry on; the receiver's connection drops once
 * 40% has arrived, so the run's reconnect and retry are visible (D2); at the end a summary,
 * and a check that the receiver has the sender's snapshot guids.
 */
import type { Command } from 'commander';
import type { Receiver } from '../endpoints/types.js';
import {
  Faults,
  memoryReceiver,
  memorySender,
  type MemoryPool,
} from '../endpoints/memory/index.js';
import { createPlanner } from '../planner/index.js';
import { grpcReceiver } from '../transport/client.js';
import { startServer } from '../transport/server.js';
import type { CommandContext } from './context.js';
import type { OpenedEndpoint } from './endpoints.js';
import { demoPools, guidMismatches, RECEIVER_ROOT, SENDER_ROOT } from './demo-pools.js';
import { EXIT } from './io.js';
import { createLogger } from './logger.js';
import { parsePort, type LogLevel } from './options.js';
import { countingReceiver, dropMidway } from './demo-faults.js';
import { formatBytes } from './progress/format.js';
import {
  displayFor,
  exitCodeOf,
  interruptible,
  openVisualizer,
  printOutcome,
  runReplication,
  type VisualizerAccess,
  untilInterrupted,
} from './run.js';

export interface DemoOptions {
  fast?: boolean;
  visualize?: number;
  record?: string;
  /** Who may reach the visualizer beyond loopback (from `xrepl visualize --demo`). */
  visualizer?: VisualizerAccess;
  logLevel: LogLevel;
}

/** How the demo paces itself: `--fast` is for tests (well under a second). */
const PACE = {
  normal: { unit: 1 << 20, throttle: 5 << 20, restoreAfterMs: 1500 },
  fast: { unit: 16 << 10, throttle: 0, restoreAfterMs: 20 },
};

/** Share of the bytes to send after which the receiver's connection drops. */
const DROP_AT = 0.4;

/** The dataset whose first snapshot to send is destroyed after planning (among the first sent). */
const VANISHES = 'srv/www';

/**
 * The demo's receiver over `pool`, served over gRPC on loopback (REPLICATION.md): an
 * in-process `xrepl serve` on 127.0.0.1 and a client of it. `faults` stays on the serving side.
 */
async function openDemoReceiver(
  pool: MemoryPool,
  faults: Faults,
): Promise<OpenedEndpoint<Receiver>> {
  const server = await startServer({
    listen: '127.0.0.1:0',
    role: 'receiver',
    endpoint: memoryReceiver(pool, RECEIVER_ROOT, { faults, resumable: true }),
  });
  const client = grpcReceiver(server.url);
  return {
    endpoint: client,
    close: async () => {
      client.close();
      await server.close();
    },
  };
}

/**
 * Runs the demo; with `visualize`, the visualizer stays up after a successful run until Ctrl-C.
 * `xrepl visualize --demo` runs it too.
 */
export async function demoCommand(options: DemoOptions, ctx: CommandContext): Promise<number> {
  const { io } = ctx;
  const pace = options.fast ? PACE.fast : PACE.normal;
  const pools = demoPools({ unit: pace.unit });
  const sender = memorySender(pools.sender, SENDER_ROOT);
  sender.faults.setThrottle(pace.throttle);
  const faults = new Faults();
  const display = displayFor(io, false);
  const print = (text: string): void => display.print(() => io.stdout.write(`${text}\n`));
  const drop = dropMidway(faults, pools.bytesToSend * DROP_AT, pace.restoreAfterMs, print);
  sender.faults.vanishBeforeSend(VANISHES, (snapshot) =>
    print(
      `>> injected fault: ${snapshot} is destroyed on the sender after planning; ` +
        `${VANISHES} re-plans without it`,
    ),
  );
  const interrupt = interruptible(io);
  let receiver: OpenedEndpoint<Receiver> | null = null;
  let visualizer = null;
  try {
    receiver = await openDemoReceiver(pools.receiver, faults);
    io.stdout.write(
      `xrepl demo: ${pools.datasets.length} datasets below ${SENDER_ROOT} -> ${RECEIVER_ROOT}, ` +
        `${pools.snapshotsPerDataset} snapshots each, ${formatBytes(pools.bytesToSend)} to send; ` +
        `${pools.incremental.length} datasets are partly there already and go incremental\n` +
        `a snapshot of ${VANISHES} will vanish before it is sent and that filesystem will re-plan;\n` +
        `the receiver's connection will drop at ${DROP_AT * 100}% and the driver will retry\n`,
    );
    visualizer = await openVisualizer(
      options.visualize,
      options.record,
      io.stdout,
      options.visualizer,
    );
    const report = await runReplication({
      io,
      // Re-plans on (D13); no per-filesystem retries, so the drop shows the run's reconnect.
      config: {
        stepQueueConcurrency: 4,
        maxAttempts: 5,
        reconnectHardFailTimeoutMs: 30_000,
        replanLimit: 3,
      },
      planner: createPlanner(sender, countingReceiver(receiver.endpoint, drop.onBytes), {
        initial: 'all',
      }),
      logger: createLogger(options.logLevel, io.stderr, {
        readable: io.isTTY,
        print: (write) => display.print(write),
      }),
      display,
      signal: interrupt.signal,
      visualizer,
    });
    printOutcome(io, report, false);
    if (report.state !== 'done') return exitCodeOf(report);
    const mismatches = guidMismatches(pools);
    if (mismatches.length > 0) {
      io.stderr.write(
        `error: snapshot guids differ on the receiver for ${mismatches.join(', ')}\n`,
      );
      return EXIT.failed;
    }
    io.stdout.write(
      `verified: the receiver has the sender's snapshot guids for all ${pools.datasets.length} datasets\n`,
    );
    if (visualizer !== null && options.visualize !== undefined && !interrupt.signal.aborted) {
      io.stdout.write(`the visualizer stays up at ${visualizer.url}; press Ctrl-C to exit\n`);
      interrupt.dispose();
      await untilInterrupted(io);
    }
    return EXIT.done;
  } finally {
    drop.dispose();
    await visualizer?.close();
    await receiver?.close();
    interrupt.dispose();
  }
}

/** Registers `demo`. */
export function registerDemo(program: Command, ctx: CommandContext): void {
  program
    .command('demo')
    .description(
      'replicate a simulated tree with a vanishing snapshot and a dropped connection, live (what npm start runs)',
    )
    .option('--fast', 'small and unthrottled: done in well under a second (for tests)')
    .option('--visualize <port>', 'serve the statechart visualizer on this port', (v) =>
      parsePort(v, '--visualize'),
    )
    .option('--record <file>', 'record the run for `xrepl visualize --replay <file>`')
    .action(async (_options: unknown, command: Command) => {
      ctx.exit(await demoCommand(command.optsWithGlobals<DemoOptions>(), ctx));
    });
}
