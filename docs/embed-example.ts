import { MemoryPool, createPlanner, memoryReceiver, memorySender, replicate } from 'xrepl';

// Two simulated pools; with real ZFS use zfsSender({ root: 'tank/data' }) and
// zfsReceiver({ root: 'backup/host1' }) instead.
const source = new MemoryPool();
source.createDataset('tank/data');
source.snapshot('tank/data', 'monday');
source.snapshot('tank/data', 'tuesday');
const target = new MemoryPool();
target.createDataset('backup');

const planner = createPlanner(memorySender(source, 'tank'), memoryReceiver(target, 'backup'), {
  initial: 'all',
});
const controller = new AbortController();
const replication = replicate(
  { stepQueueConcurrency: 4, maxAttempts: 3, reconnectHardFailTimeoutMs: 60_000 },
  planner,
  { signal: controller.signal },
);

const timer = setInterval(() => {
  for (const fs of replication.report().attempts.at(-1)?.filesystems ?? []) {
    console.log(fs.info.name, fs.state, `${fs.currentStep}/${fs.steps.length}`, fs.blockedOn);
  }
}, 1000);
const report = await replication.wait();
clearInterval(timer);
console.log(report.state); // "done"
