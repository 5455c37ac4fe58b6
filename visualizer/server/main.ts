/**
 * Standalone entry: `node dist/visualizer/server/main.js [--port N] [--replay FILE] ...`.
 * Runs until SIGINT/SIGTERM.
 */
import { runVisualizeCommand } from './cli.js';

try {
  const command = await runVisualizeCommand(process.argv.slice(2));
  const stop = (): void => {
    (command?.stop() ?? Promise.resolve()).then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
} catch (err) {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(2);
}
