/**
 * `xrepl visualize [--port N] [--host H] [--replay FILE] [--record FILE] [--demo [N]]`: the
 * visualizer as a command. The real CLI wires `runVisualizeCommand` in; `main.ts` runs it
 * standalone (`node dist/visualizer/server/main.js --port 8080`).
 */
import { parseArgs } from 'node:util';
import { replicate } from '../../src/driver/replicate.js';
import type { Replication } from '../../src/driver/replicate.js';
import { demoPlanner } from './demo.js';
import { startVisualizer, type Visualizer } from './server.js';

export const VISUALIZE_USAGE = `usage: xrepl visualize [--port N] [--host H] [--replay FILE] [--record FILE] [--demo [N]]

  --port N       port to listen on (default 8080; 0 picks a free one)
  --host H       address to bind (default 127.0.0.1)
  --replay FILE  replay a recording made with --record (timeline slider)
  --record FILE  append every frame to FILE (JSON Lines)
  --demo [N]     run a simulated replication of N filesystems (default 200) and show it live`;

export interface VisualizeCommand {
  visualizer: Visualizer;
  /** The demo replication, when --demo was given. */
  demo: Replication | null;
  /** Cancels the demo (if any) and closes the visualizer. */
  stop(): Promise<void>;
}

function portOf(text: string): number {
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(
      `--port must be an integer from 0 to 65535, got "${text}"\n\n${VISUALIZE_USAGE}`,
    );
  }
  return port;
}

/**
 * Parses `argv` (the words after `visualize`), starts the server and, with `--demo`, a
 * simulated replication; prints the URL to `out`. Returns null after printing `--help`.
 *
 * @example
 * const cmd = await runVisualizeCommand(['--port', '8080', '--demo', '500']);
 * process.once('SIGINT', () => void cmd?.stop());
 */
export async function runVisualizeCommand(
  argv: string[],
  out: { write(text: string): unknown } = process.stdout,
): Promise<VisualizeCommand | null> {
  let values;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: argv.filter((a, i) => !(i === 0 && a === 'visualize')),
      options: {
        port: { type: 'string', default: '8080' },
        host: { type: 'string', default: '127.0.0.1' },
        replay: { type: 'string' },
        record: { type: 'string' },
        demo: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      allowPositionals: true,
    }));
  } catch (cause) {
    throw new Error(`${(cause as Error).message}\n\n${VISUALIZE_USAGE}`, { cause });
  }
  if (values.help) {
    out.write(`${VISUALIZE_USAGE}\n`);
    return null;
  }
  const demoCount = positionals.length > 0 ? Number(positionals[0]) : 200;
  if (values.demo && (!Number.isInteger(demoCount) || demoCount < 1)) {
    throw new Error(
      `--demo takes a positive number of filesystems, got "${positionals[0]}"\n\n${VISUALIZE_USAGE}`,
    );
  }
  if (values.demo && values.replay !== undefined) {
    throw new Error(`--demo and --replay exclude each other\n\n${VISUALIZE_USAGE}`);
  }
  const visualizer = await startVisualizer({
    port: portOf(values.port),
    host: values.host,
    replay: values.replay,
  });
  if (values.record !== undefined) visualizer.record(values.record);
  let demo: Replication | null = null;
  const cancel = new AbortController();
  if (values.demo) {
    demo = replicate(
      { stepQueueConcurrency: 8, maxAttempts: 3, reconnectHardFailTimeoutMs: 60_000 },
      demoPlanner({ filesystems: demoCount }),
      { inspect: visualizer.inspect, signal: cancel.signal },
    );
    visualizer.attachReplication(demo);
  }
  const mode =
    values.replay !== undefined
      ? `replaying ${values.replay}`
      : values.demo
        ? `demo of ${demoCount} filesystems`
        : 'live';
  out.write(`xrepl visualizer (${mode}): ${visualizer.url}\n`);
  return {
    visualizer,
    demo,
    async stop(): Promise<void> {
      cancel.abort(new Error('visualizer stopped'));
      await demo?.wait();
      await visualizer.close();
    },
  };
}
