/**
 * The gRPC transport's data path (issue 5), two measures:
 *
 * 1. memory: a 2 GiB send through the simulated pool, served over gRPC on loopback and received
 *    into a local simulated pool (which checks every byte). Server and client live in this one
 *    process, so its RSS covers both ends of the stream; sampled every 50 ms, it must not grow
 *    with the stream.
 * 2. zfs (needs root and a running ZFS, see ZFS-TESTING.md): one dataset of SIZE_MB random data,
 *    `zfs send | zfs recv` as a shell pipe, against `xrepl serve --role sender --zfs` in a child
 *    process and a local zfsReceiver reading from it over gRPC loopback. Runs alternate.
 *
 *   npm run build && node dist/bench/grpc-throughput.js [runs=3] [sizeMB=300] [memoryGiB=2]
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  ftruncateSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MemoryPool, memoryReceiver, memorySender } from '../src/endpoints/memory/index.js';
import { zfsReceiver } from '../src/endpoints/zfs/index.js';
import { grpcSender, startServer } from '../src/transport/index.js';

const RUNS = Number(process.argv[2] ?? 3);
const SIZE_MB = Number(process.argv[3] ?? 300);
const MEMORY_GIB = Number(process.argv[4] ?? 2);
const never = new AbortController().signal;
const MiB = 1 << 20;

function sh(program: string, args: string[]): string {
  const result = spawnSync(program, args, { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`${program} ${args.join(' ')}: ${result.stderr.trim()}`);
  return result.stdout;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

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

/** `xrepl serve --role sender --zfs ROOT` in a child process; resolves with its URL. */
function serveZfs(root: string): Promise<{ url: string; child: ChildProcess }> {
  const main = join(dirname(fileURLToPath(import.meta.url)), '..', 'src', 'cli', 'main.js');
  const child = spawn(
    process.execPath,
    [main, 'serve', '--listen', '127.0.0.1:0', '--role', 'sender', '--zfs', root],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const url = /at (grpc:\/\/\S+)/.exec(out)?.[1];
      if (url !== undefined) resolve({ url, child });
    });
    child.once('exit', (code) => reject(new Error(`xrepl serve exited with ${code}`)));
  });
}

function plainPipe(from: string, to: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', 'zfs send "$1" | zfs recv -u "$2"', 'sh', from, to], {
      stdio: 'inherit',
    });
    child.once('error', reject);
    child.once('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`pipe exit ${code}`)),
    );
  });
}

async function zfsRuns(): Promise<void> {
  if (spawnSync('zpool', ['list']).status !== 0) {
    console.log('zfs: skipped (no zpool or no running ZFS daemon)');
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'xrepl-grpc-bench-'));
  const tag = `xrepl_g${process.pid}`;
  const pools = { src: `${tag}_src`, dst: `${tag}_dst` };
  const created: string[] = [];
  let served: { url: string; child: ChildProcess } | undefined;
  try {
    for (const [role, pool] of Object.entries(pools)) {
      const file = join(dir, `${role}.img`);
      const fd = openSync(file, 'w');
      ftruncateSync(fd, Math.max(1024, SIZE_MB * 4) * MiB);
      closeSync(fd);
      mkdirSync(join(dir, 'mnt', role), { recursive: true });
      sh('zpool', ['create', '-m', join(dir, 'mnt', role), pool, file]);
      created.push(pool);
    }
    sh('zfs', ['create', `${pools.src}/data`]);
    sh('zfs', ['create', `${pools.src}/data/bench`]);
    sh('zfs', ['create', `${pools.dst}/plain`]);
    sh('zfs', ['create', `${pools.dst}/grpc`]);
    const fd = openSync(join(dir, 'mnt', 'src', 'data', 'bench', 'data.bin'), 'w');
    for (let i = 0; i < SIZE_MB; i++) writeSync(fd, randomBytes(MiB));
    closeSync(fd);
    sh('zfs', ['snapshot', `${pools.src}/data/bench@s1`]);
    served = await serveZfs(`${pools.src}/data`);
    const sender = grpcSender(served.url);
    const receiver = zfsReceiver({ root: `${pools.dst}/grpc` });
    const to = (await sender.listFilesystemVersions('bench', never)).find((v) => v.name === 's1');
    if (to === undefined) throw new Error('no bench@s1');

    const plain: number[] = [];
    const grpc: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      let t0 = performance.now();
      await plainPipe(`${pools.src}/data/bench@s1`, `${pools.dst}/plain/bench${run}@s1`);
      plain.push(performance.now() - t0);
      sh('zfs', ['destroy', '-r', `${pools.dst}/plain/bench${run}`]);

      t0 = performance.now();
      const { stream } = await sender.send({ filesystem: 'bench', to }, never);
      await receiver.receive(
        { filesystem: `bench${run}`, to, clearResumeToken: false },
        stream,
        never,
      );
      grpc.push(performance.now() - t0);
      sh('zfs', ['destroy', '-r', `${pools.dst}/grpc/bench${run}`]);
    }
    sender.close();
    const mbps = (ms: number): string => ((SIZE_MB / ms) * 1000).toFixed(0);
    const fmt = (xs: number[]): string => xs.map((x) => x.toFixed(0)).join(', ');
    console.log(`zfs: ${SIZE_MB} MiB of random data, ${RUNS} runs each`);
    console.log(
      `  zfs send | zfs recv           : median ${median(plain).toFixed(0)} ms (${mbps(median(plain))} MiB/s)  runs: ${fmt(plain)}`,
    );
    console.log(
      `  xrepl serve -> gRPC -> zfs recv: median ${median(grpc).toFixed(0)} ms (${mbps(median(grpc))} MiB/s)  runs: ${fmt(grpc)}`,
    );
    console.log(`  gRPC / pipe throughput: ${(median(plain) / median(grpc)).toFixed(2)}`);
  } finally {
    served?.child.kill('SIGINT');
    for (const pool of created) spawnSync('zpool', ['destroy', '-f', pool]);
    rmSync(dir, { recursive: true, force: true });
  }
}

await memoryRun();
await zfsRuns();
