/**
 * Memory of the gRPC transport's data path (issue 5): a send of MEMORY_GIB GiB through the
 * simulated pool, served over gRPC on loopback and received into a local simulated pool (which
 * checks every byte). Server and client live in this one process, so its RSS covers both ends
 * of the stream; sampled every 50 ms, it must not grow with the stream. (Throughput against the
 * plain pipe is bench/datapath.ts.)
 *
 *   npm run build && node --expose-gc dist/bench/grpc-memory.js [memoryGiB=2]
 */
import { MemoryPool, memoryReceiver, memorySender } from '../src/endpoints/memory/index.js';
import { grpcSender, startServer } from '../src/transport/index.js';

const MEMORY_GIB = Number(process.argv[2] ?? 2);
const never = new AbortController().signal;
const MiB = 1 << 20;

async function memoryRun(): Promise<void> {
  const size = MEMORY_GIB * 1024 * MiB;
  const src = new MemoryPool({ seed: 'bench-src' });
  src.createDataset('tank/big');
  const to = src.snapshot('tank/big', 's1', { size });
  const server = await startServer({
    listen: '127.0.0.1:0',
    role: 'sender',
    endpoint: memorySender(src, 'tank'),
  });
  const sender = grpcSender(server.url);
  const receiver = memoryReceiver(new MemoryPool({ seed: 'bench-dst' }), 'backup');
  global.gc?.();
  const samples: { bytes: number; rss: number }[] = [];
  let bytes = 0;
  const sample = (): number => samples.push({ bytes, rss: process.memoryUsage().rss });
  sample();
  const timer = setInterval(sample, 50);
  const t0 = performance.now();
  try {
    const { stream } = await sender.send({ filesystem: 'big', to }, never);
    stream.on('data', (chunk: Buffer) => (bytes += chunk.length));
    await receiver.receive({ filesystem: 'big', to, clearResumeToken: false }, stream, never);
  } finally {
    clearInterval(timer);
    sender.close();
    await server.close();
  }
  const seconds = (performance.now() - t0) / 1000;
  sample();
  const mib = (n: number): string => (n / MiB).toFixed(0);
  const at = (share: number): { bytes: number; rss: number } =>
    samples.find((s) => s.bytes >= size * share) ??
    (samples.at(-1) as { bytes: number; rss: number });
  const peak = Math.max(...samples.map((s) => s.rss));
  console.log(
    `memory pool over gRPC loopback: ${MEMORY_GIB} GiB in ${seconds.toFixed(1)} s ` +
      `(${(size / MiB / seconds).toFixed(0)} MiB/s), ${samples.length} RSS samples`,
  );
  console.log(
    `  RSS MiB: before ${mib(samples[0]!.rss)}, at 10% ${mib(at(0.1).rss)}, ` +
      `50% ${mib(at(0.5).rss)}, 90% ${mib(at(0.9).rss)}, after ${mib(samples.at(-1)!.rss)}, peak ${mib(peak)}`,
  );
}

await memoryRun();
