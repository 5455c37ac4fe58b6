/**
 * A CommonJS application using the installed package: `require('xrepl')` and
 * `require('xrepl/visualizer')` (require of an ES module: Node 20.19+, 22.12+). Prints one JSON
 * line for the package test to check.
 */
import { get } from 'node:http';
import {
  MemoryPool,
  ReportSchema,
  createPlanner,
  memoryReceiver,
  memorySender,
  replicate,
  type Report,
} from 'xrepl';
import { startVisualizer } from 'xrepl/visualizer';

function status(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    get(url, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    }).on('error', reject);
  });
}

async function main(): Promise<void> {
  const source = new MemoryPool();
  source.createDataset('tank/data');
  source.createDataset('tank/data/child');
  for (const name of ['monday', 'tuesday']) {
    source.snapshot('tank/data', name);
    source.snapshot('tank/data/child', name);
  }
  const target = new MemoryPool();
  target.createDataset('backup');
  const planner = createPlanner(memorySender(source, 'tank'), memoryReceiver(target, 'backup'), {
    initial: 'all',
  });

  const vis = await startVisualizer({ port: 0 });
  const eventTypes = new Set<string>();
  const replication = replicate(
    { stepQueueConcurrency: 2, maxAttempts: 3, reconnectHardFailTimeoutMs: 60_000 },
    planner,
    {
      // An observer object, as @statelyai/inspect's inspectors are: XState's observer type.
      inspect: {
        next: (event) => {
          eventTypes.add(event.type);
          vis.inspect(event);
        },
      },
    },
  );
  vis.attachReplication(replication);
  const report: Report = await replication.wait();
  const assets = ['/', '/style.css', '/js/main.js', '/vendor/elk.bundled.js'];
  const statuses = await Promise.all(assets.map((path) => status(new URL(path, vis.url).href)));
  await vis.close();

  const parsed = ReportSchema.parse(JSON.parse(JSON.stringify(report)));
  console.log(
    JSON.stringify({
      state: parsed.state,
      filesystems: (parsed.attempts.at(-1)?.filesystems ?? []).map((fs) => ({
        name: fs.info.name,
        state: fs.state,
        steps: fs.steps.length,
      })),
      eventTypes: [...eventTypes].sort(),
      assets: Object.fromEntries(assets.map((path, i) => [path, statuses[i]])),
    }),
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
