/**
 * The data path (issue 6): one full replication of `--size-mib` MiB (default 1024) through
 *
 *   1. the simulated pool: memorySender -> memoryReceiver in this process (the receiver checks
 *      every byte), against a raw stream copy of the same bytes (the same 64 KiB chunks of the
 *      same payload pattern, through a Readable into a Writable that only counts);
 *   2. the zfs backend: zfsSender -> zfsReceiver, against `zfs send | zfs recv` in a shell;
 *   3. gRPC on loopback: `xrepl serve --role sender --zfs` in a child process, and a local
 *      zfsReceiver reading over gRPC streams (`streams: 'grpc'`), against the same shell pipe;
 *   4. the data connection on loopback with mutual TLS: the same served sender (`--tls-*`),
 *      streams on a data connection to the same port (src/transport/data/), for the
 *      simulated pool (served from a fixture, against the raw copy) and for zfs (against the
 *      shell pipe);
 *   5. for reference, the floor of Node's TLS here: the same number of bytes over mutual TLS
 *      on loopback from a child process, in 1 MiB writes, counted and nothing else
 *      (bench/tls-floor.ts). No data path over Node's TLS runs faster than this.
 *
 * Runs alternate (baseline, xrepl, baseline, ...) so drift hits both. Each run also records
 * CPU time of each process: this one (the client), the server child (process.cpuUsage,
 * /proc) and the ZFS daemon (zfs-fuse runs the pools in one process), and the peak RSS of
 * the client and the server (sampled every 50 ms). The zfs paths need root and a running ZFS;
 * without it they are reported as not measured, with the reason.
 *
 * Writes the section between the `datapath` markers of BENCHMARKS.md and
 * bench/results/datapath.json. `npm run bench` runs it after the driver suite.
 *
 *   npm run build && node --expose-gc dist/bench/datapath.js [--runs 5] [--size-mib 1024]
 *        [--only memory|zfs] [--no-write]
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { MemoryPool, memoryReceiver, memorySender } from '../src/endpoints/memory/index.js';
import { CHUNK_SIZE, payloadBytes, payloadPattern } from '../src/endpoints/memory/stream-format.js';
import { zfsReceiver, zfsSender } from '../src/endpoints/zfs/index.js';
import { grpcSender, loadClientTls, type GrpcSender } from '../src/transport/index.js';
import { argValue, positiveIntArg } from './args.js';
import { createBenchPki, type BenchPki } from './pki.js';
import { receiveTlsFloor, startTlsFloor } from './tls-floor.js';
import {
  cpuMsOf,
  createBenchPools,
  rssOf,
  sh,
  zfsDaemonPid,
  zfsUnavailable,
  type BenchPools,
} from './zfs-pools.js';

const here = dirname(fileURLToPath(import.meta.url)); // dist/bench
const root = join(here, '..', '..');
const MiB = 1 << 20;
const never = new AbortController().signal;

const RUNS = positiveIntArg('--runs', 5);
const SIZE_MIB = positiveIntArg('--size-mib', 1024);

export interface Run {
  ms: number;
  /** CPU of the Node processes: this one plus the server child's, when there is one. */
  nodeCpuMs: number;
  /** CPU of this process (the client). */
  clientCpuMs?: number;
  /** CPU of the server child, when there is one. */
  serverCpuMs?: number;
  /** CPU of the ZFS daemon during the run. */
  zfsCpuMs: number;
  /** Peak RSS during the run, bytes: this process, and the server child. */
  clientRss?: number;
  serverRss?: number;
}

export interface Path {
  name: string;
  baseline: string;
  xrepl: string;
  /** Target: xrepl throughput at least this share of the baseline's. */
  target: number;
  /** A reference row (a floor), not xrepl: its ratio is shown, with no verdict. */
  reference?: boolean;
  /** Why it was not measured, or the runs. */
  skipped?: string;
  baselineRuns: Run[];
  xreplRuns: Run[];
}

/** Times `work`, with the CPU of this process, of `child` and of the ZFS daemon, and peak RSS. */
async function measure(work: () => Promise<void>, child?: ChildProcess): Promise<Run> {
  const daemon = zfsDaemonPid();
  const zfs0 = cpuMsOf(daemon);
  const child0 = cpuMsOf(child?.pid);
  let clientRss = process.memoryUsage.rss();
  let serverRss = rssOf(child?.pid);
  const sampler = setInterval(() => {
    clientRss = Math.max(clientRss, process.memoryUsage.rss());
    serverRss = Math.max(serverRss, rssOf(child?.pid));
  }, 50);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  try {
    await work();
  } finally {
    clearInterval(sampler);
  }
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const clientCpuMs = (cpu.user + cpu.system) / 1000;
  const serverCpuMs = cpuMsOf(child?.pid) - child0;
  return {
    ms,
    nodeCpuMs: clientCpuMs + serverCpuMs,
    clientCpuMs,
    ...(child !== undefined && { serverCpuMs, serverRss }),
    zfsCpuMs: cpuMsOf(daemon) - zfs0,
    clientRss,
  };
}

/** The floor for moving the simulated stream's bytes through Node streams at all. */
async function rawCopy(guid: string, bytes: number): Promise<void> {
  const pattern = payloadPattern(guid);
  let position = 0;
  const source = new Readable({
    highWaterMark: CHUNK_SIZE,
    read() {
      if (position >= bytes) {
        this.push(null);
        return;
      }
      const length = Math.min(CHUNK_SIZE, bytes - position);
      this.push(payloadBytes(pattern, position, length));
      position += length;
    },
  });
  let received = 0;
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      received += chunk.length;
      done();
    },
  });
  await pipeline(source, sink);
  if (received !== bytes) throw new Error(`raw copy moved ${received} of ${bytes} bytes`);
}

/** A client of the served sender at `url` with the bench's client certificate. */
async function tlsSender(url: string, pki: BenchPki): Promise<GrpcSender> {
  const tls = await loadClientTls({ ...pki.files });
  return grpcSender(url, { tls });
}

async function memoryPaths(pki: BenchPki): Promise<Path[]> {
  const data: Path = {
    name: 'data connection, mutual TLS (simulated pool)',
    baseline: 'raw stream copy of the same bytes',
    xrepl: '`xrepl serve --memory` (child process) -> data connection -> `memoryReceiver`',
    target: 0.9,
    baselineRuns: [],
    xreplRuns: [],
  };
  const local = await memoryPath(data, pki);
  return [local, data, await tlsFloorPath(pki)];
}

/** Node's TLS alone, the same bytes: the floor under the data connection. */
async function tlsFloorPath(pki: BenchPki): Promise<Path> {
  const path: Path = {
    name: 'TLS floor (reference)',
    baseline: 'raw stream copy of the same bytes',
    xrepl: 'Node `tls` child process -> this process, 1 MiB writes, mutual TLS, bytes counted only',
    target: 0.9,
    reference: true,
    baselineRuns: [],
    xreplRuns: [],
  };
  const bytes = SIZE_MIB * MiB;
  const { port, child } = await startTlsFloor(pki, bytes);
  try {
    const src = new MemoryPool({ seed: 'bench-src' });
    src.createDataset('tank/big');
    const to = src.snapshot('tank/big', 's1', { size: bytes });
    for (let run = 0; run < RUNS; run++) {
      path.baselineRuns.push(await measure(() => rawCopy(to.guid, bytes)));
      path.xreplRuns.push(await measure(() => receiveTlsFloor(port, pki, bytes), child));
    }
  } finally {
    await stopChild(child);
  }
  return path;
}

async function memoryPath(data: Path, pki: BenchPki): Promise<Path> {
  const path: Path = {
    name: 'simulated pool',
    baseline: 'raw stream copy of the same bytes',
    xrepl: '`memorySender` -> `memoryReceiver`',
    target: 0.9,
    baselineRuns: [],
    xreplRuns: [],
  };
  const src = new MemoryPool({ seed: 'bench-src' });
  src.createDataset('tank/big');
  const to = src.snapshot('tank/big', 's1', { size: SIZE_MIB * MiB });
  const sender = memorySender(src, 'tank');
  const fixture = join(pki.dir, 'bench-src.json');
  writeFileSync(fixture, JSON.stringify(src.toFixture()));
  const served = await serve(['--memory', `${fixture}?root=tank`], pki);
  try {
    const remote = await tlsSender(served.url, pki);
    for (let run = 0; run < RUNS; run++) {
      path.baselineRuns.push(await measure(() => rawCopy(to.guid, SIZE_MIB * MiB)));
      const receiver = memoryReceiver(new MemoryPool({ seed: `bench-dst-${run}` }), 'backup');
      path.xreplRuns.push(
        await measure(async () => {
          const { stream } = await sender.send({ filesystem: 'big', to }, never);
          await receiver.receive({ filesystem: 'big', to, clearResumeToken: false }, stream, never);
        }),
      );
      data.baselineRuns.push(await measure(() => rawCopy(to.guid, SIZE_MIB * MiB)));
      const dataReceiver = memoryReceiver(new MemoryPool({ seed: `bench-dd-${run}` }), 'backup');
      data.xreplRuns.push(
        await measure(async () => {
          const { stream } = await remote.send({ filesystem: 'big', to }, never);
          await dataReceiver.receive(
            { filesystem: 'big', to, clearResumeToken: false },
            stream,
            never,
          );
        }, served.child),
      );
    }
    remote.close();
  } finally {
    await stopChild(served.child);
  }
  return path;
}

/** `zfs send | zfs recv -u`, as an administrator would type it. */
function shellPipe(from: string, to: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', 'zfs send "$1" | zfs recv -u "$2"', 'sh', from, to], {
      stdio: 'inherit',
    });
    child.once('error', reject);
    child.once('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`zfs send | zfs recv exited with ${code}`)),
    );
  });
}

/** `xrepl serve --role sender ...backend` in a child process; resolves with its URL. */
function serve(backend: string[], pki?: BenchPki): Promise<{ url: string; child: ChildProcess }> {
  const main = join(here, '..', 'src', 'cli', 'main.js');
  const child = spawn(
    process.execPath,
    [
      main,
      'serve',
      ...['--listen', '127.0.0.1:0', '--role', 'sender', ...backend],
      ...(pki?.serveArgs ?? []),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
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

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

async function zfsPaths(pki: BenchPki): Promise<Path[]> {
  const local: Path = {
    name: 'zfs backend (zfs-fuse)',
    baseline: '`zfs send \\| zfs recv`',
    xrepl: '`zfsSender` -> `zfsReceiver`',
    target: 0.9,
    baselineRuns: [],
    xreplRuns: [],
  };
  const grpc: Path = {
    name: 'gRPC loopback (zfs-fuse)',
    baseline: '`zfs send \\| zfs recv`',
    xrepl: '`xrepl serve --zfs` (child process) -> gRPC streams -> `zfsReceiver`',
    target: 0.7,
    baselineRuns: [],
    xreplRuns: [],
  };
  const data: Path = {
    name: 'data connection, mutual TLS (zfs-fuse)',
    baseline: '`zfs send \\| zfs recv`',
    xrepl: '`xrepl serve --zfs` (child process) -> data connection -> `zfsReceiver`',
    target: 0.9,
    baselineRuns: [],
    xreplRuns: [],
  };
  const all = [local, grpc, data];
  const why = zfsUnavailable();
  if (why !== null) {
    for (const p of all) p.skipped = why;
    return all;
  }
  let pools: BenchPools | undefined;
  const children: ChildProcess[] = [];
  try {
    pools = createBenchPools(`xrepl_d${process.pid}`, SIZE_MIB);
    const plainRoot = pools.parent('plain');
    const roots = new Map(all.map((p, i) => [p, (pools as BenchPools).parent(`x${i}`)]));
    const sender = zfsSender({ root: `${pools.src}/data` });
    const to = (await sender.listFilesystemVersions('bench', never)).find((v) => v.name === 's1');
    if (to === undefined) throw new Error('no bench@s1');
    const plain = await serve(['--zfs', `${pools.src}/data`]);
    children.push(plain.child);
    const secure = await serve(['--zfs', `${pools.src}/data`], pki);
    children.push(secure.child);
    const overGrpc = grpcSender(plain.url, { streams: 'grpc' });
    const overData = await tlsSender(secure.url, pki);
    const snapshot = pools.snapshot;
    const sources = new Map<Path, [() => ReturnType<GrpcSender['send']>, ChildProcess?]>([
      [local, [() => sender.send({ filesystem: 'bench', to }, never)]],
      [grpc, [() => overGrpc.send({ filesystem: 'bench', to }, never), plain.child]],
      [data, [() => overData.send({ filesystem: 'bench', to }, never), secure.child]],
    ]);
    // One pipe run per xrepl run: each path alternates with its own baseline.
    for (let run = 0; run < RUNS; run++) {
      for (const path of all) {
        const [receive, child] = sources.get(path) ?? [];
        if (receive === undefined) continue;
        const name = `r${run}`;
        const plainName = `${plainRoot}/${all.indexOf(path)}${name}`;
        path.baselineRuns.push(await measure(() => shellPipe(snapshot, `${plainName}@s1`)));
        sh('zfs', ['destroy', '-r', plainName]);
        const root = roots.get(path) as string;
        const receiver = zfsReceiver({ root });
        path.xreplRuns.push(
          await measure(async () => {
            const { stream } = await receive();
            await receiver.receive(
              { filesystem: name, to, clearResumeToken: false },
              stream,
              never,
            );
          }, child),
        );
        sh('zfs', ['destroy', '-r', `${root}/${name}`]);
      }
    }
    overGrpc.close();
    overData.close();
  } finally {
    // The servers must be gone before their pool is destroyed, or the pool stays behind busy.
    for (const child of children) await stopChild(child);
    pools?.destroy();
  }
  return all;
}

// ---- rendering -----------------------------------------------------------------------------

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

/** Median of `pick` over the runs that have it, per GiB moved; `-` when none has it. */
function perGiB(runs: Run[], pick: (r: Run) => number | undefined): string {
  const values = runs.map(pick).filter((v): v is number => v !== undefined);
  return values.length === 0 ? '-' : fmt((median(values) * 1024) / SIZE_MIB);
}

function peakMiB(runs: Run[], pick: (r: Run) => number | undefined): string {
  const values = runs.map(pick).filter((v): v is number => v !== undefined && v > 0);
  return values.length === 0 ? '-' : fmt(Math.max(...values) / MiB);
}

function row(label: string, runs: Run[]): string {
  const ms = runs.map((r) => r.ms);
  const m = median(ms);
  return (
    `| ${label} | ${runs.length} | ${fmt(m)} | ${fmt((SIZE_MIB / m) * 1000)} | ` +
    `${fmt(Math.min(...ms))} - ${fmt(Math.max(...ms))} | ` +
    `${perGiB(runs, (r) => r.clientCpuMs ?? r.nodeCpuMs)} | ${perGiB(runs, (r) => r.serverCpuMs)} | ` +
    `${perGiB(runs, (r) => r.zfsCpuMs)} | ` +
    `${peakMiB(runs, (r) => r.clientRss)} / ${peakMiB(runs, (r) => r.serverRss)} |`
  );
}

export interface DataPathSuite {
  command: string;
  machine: string;
  date: string;
  commit: string;
  sizeMiB: number;
  runs: number;
  paths: Path[];
}

export function renderDataPath(suite: DataPathSuite): string {
  const lines = [
    '## Data path: xrepl against the plain pipe',
    '',
    `Command: \`${suite.command}\` (root, ZFS running: \`.ci/zfs-setup.sh\`).`,
    '',
    `Machine: ${suite.machine}. Date: ${suite.date}. Source: commit ${suite.commit}.`,
    '',
    `One full replication of ${suite.sizeMiB.toLocaleString('en-US')} MiB (random data on ` +
      `zfs-fuse, file-backed pools), ${suite.runs} runs per path, alternating with the ` +
      'baseline. CPU per GiB: median ms of user + system time per GiB moved, of each process: ' +
      'the client (the benchmark process: the local endpoints, or the client and its ' +
      'receiver), the server child (`xrepl serve`), the zfs-fuse daemon; for the pipe, the ' +
      '`zfs` commands run inside the daemon. Peak RSS: the highest sample (every 50 ms) over ' +
      'the runs, of the client process (which also holds the simulated pools) and of the ' +
      'server child. The machine has 2 cores shared with other work: timings are noisy, ' +
      'ratios of runs taken side by side tell more than absolute values.',
    '',
    '| path | runs | median ms | MiB/s | min - max ms | CPU client ms/GiB | CPU server ms/GiB | CPU zfs-fuse ms/GiB | peak RSS client / server MiB |',
    '| --- | --: | --: | --: | --: | --: | --: | --: | --: |',
  ];
  const verdicts: string[] = [];
  for (const p of suite.paths) {
    if (p.skipped !== undefined) {
      lines.push(`| ${p.name}: not measured (${p.skipped}) | | | | | | | | |`);
      verdicts.push(`| ${p.name} | at least ${p.target}x | not measured | - |`);
      continue;
    }
    lines.push(row(`${p.name}: ${p.baseline}`, p.baselineRuns));
    lines.push(row(`${p.name}: ${p.xrepl}`, p.xreplRuns));
    const ratio = median(p.baselineRuns.map((r) => r.ms)) / median(p.xreplRuns.map((r) => r.ms));
    if (p.reference === true) {
      verdicts.push(`| ${p.name} | - | ${ratio.toFixed(2)}x | reference |`);
      continue;
    }
    verdicts.push(
      `| ${p.name} | at least ${p.target}x | ${ratio.toFixed(2)}x | ${ratio >= p.target ? 'PASS' : '**FAIL**'} |`,
    );
  }
  lines.push(
    '',
    'Throughput of xrepl / the baseline (ratio of the median times):',
    '',
    '| path | target | measured | verdict |',
    '| --- | --- | --: | --- |',
    ...verdicts,
  );
  return lines.join('\n');
}

const BEGIN =
  '<!-- datapath:begin (generated by bench/datapath.ts: edit outside these markers) -->';
const END = '<!-- datapath:end -->';

function writeSection(section: string): void {
  const file = join(root, 'BENCHMARKS.md');
  const existing = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmarks\n';
  const b = existing.indexOf('<!-- datapath:begin');
  const e = existing.indexOf(END);
  const block = `${BEGIN}\n${section}\n${END}`;
  const next =
    b >= 0 && e > b
      ? existing.slice(0, b) + block + existing.slice(e + END.length)
      : `${existing.trimEnd()}\n\n${block}\n`;
  writeFileSync(file, next);
}

function commit(): string {
  try {
    const git = (...args: string[]): string =>
      execFileSync('git', args, { cwd: root, encoding: 'utf8' }).trim();
    // `+`: uncommitted edits, not counting the results the driver suite may have just written.
    const dirty = git('status', '--porcelain', '--', '.', ':!BENCHMARKS.md', ':!bench/results');
    return git('rev-parse', '--short', 'HEAD') + (dirty === '' ? '' : '+');
  } catch {
    return 'unknown';
  }
}

async function main(): Promise<void> {
  const begin = new Date();
  // --only memory|zfs: one part (for quick checks; the section then lists what ran).
  const only = argValue('--only');
  const pki = createBenchPki();
  const paths = [
    ...(only === undefined || only === 'memory' ? await memoryPaths(pki) : []),
    ...(only === undefined || only === 'zfs' ? await zfsPaths(pki) : []),
  ];
  pki.remove();
  const cpus = os.cpus();
  const suite: DataPathSuite = {
    // bench/run.ts passes its own command (`npm run bench ...`).
    command:
      argValue('--command') ??
      `node --expose-gc dist/bench/datapath.js --runs ${RUNS} --size-mib ${SIZE_MIB}`,
    machine:
      `${cpus.length} cores, ${cpus[0]?.model.trim() ?? 'unknown CPU'}, ` +
      `Node ${process.version}, load average at the end ${os.loadavg()[0]?.toFixed(1)}`,
    date: `${begin.toISOString()} to ${new Date().toISOString()}`,
    commit: commit(),
    sizeMiB: SIZE_MIB,
    runs: RUNS,
    paths,
  };
  const section = renderDataPath(suite);
  console.log(section);
  if (process.argv.includes('--no-write')) return;
  mkdirSync(join(root, 'bench', 'results'), { recursive: true });
  writeFileSync(
    join(root, 'bench', 'results', 'datapath.json'),
    `${JSON.stringify(suite, null, 2)}\n`,
  );
  writeSection(section);
}

await main();
