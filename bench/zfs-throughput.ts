/**
 * Throughput of the zfs backend against the plain pipe: a full replication of one dataset of
 * SIZE_MB random data through zfsSender/zfsReceiver, versus `zfs send | zfs recv` between the
 * same two file-backed pools. Runs alternate (plain, xrepl, plain, ...) so drift hits both.
 *
 * Needs root and a running ZFS (see .ci/zfs-setup.sh). Creates and destroys its own pools.
 *   npx tsc --outDir /tmp/xrepl-bench ... && node /tmp/xrepl-bench/bench/zfs-throughput.js [runs] [sizeMB]
 */
import { spawn, spawnSync } from 'node:child_process';
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
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { zfsReceiver, zfsSender } from '../src/endpoints/zfs/index.js';

const RUNS = Number(process.argv[2] ?? 5);
const SIZE_MB = Number(process.argv[3] ?? 200);

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

function plainPipe(from: string, to: string): Promise<void> {
  return new Promise((resolve, reject) => {
    // The baseline is deliberately a shell pipe: what an admin would type.
    const child = spawn('sh', ['-c', 'zfs send "$1" | zfs recv -u "$2"', 'sh', from, to], {
      stdio: 'inherit',
    });
    child.once('error', reject);
    child.once('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`pipe exit ${code}`)),
    );
  });
}

/** The floor for any node-in-the-middle design: two spawns and a bare stream.pipeline. */
async function nodePipe(from: string, to: string): Promise<void> {
  const send = spawn('zfs', ['send', from], { stdio: ['ignore', 'pipe', 'inherit'] });
  const recv = spawn('zfs', ['recv', '-u', to], { stdio: ['pipe', 'inherit', 'inherit'] });
  const closed = (child: {
    once(event: 'close', f: (code: number | null) => void): unknown;
  }): Promise<number | null> =>
    new Promise((resolve) => child.once('close', (code) => resolve(code)));
  const [, sendCode, recvCode] = await Promise.all([
    pipeline(send.stdout, recv.stdin),
    closed(send),
    closed(recv),
  ]);
  if (sendCode !== 0 || recvCode !== 0)
    throw new Error(`node pipe: send ${sendCode}, recv ${recvCode}`);
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'xrepl-bench-'));
  const tag = `xrepl_b${process.pid}`;
  const pools = { src: `${tag}_src`, dst: `${tag}_dst` };
  const created: string[] = [];
  try {
    for (const [role, pool] of Object.entries(pools)) {
      const file = join(dir, `${role}.img`);
      const fd = openSync(file, 'w');
      ftruncateSync(fd, Math.max(1024, SIZE_MB * 4) * 1024 * 1024);
      closeSync(fd);
      mkdirSync(join(dir, 'mnt', role), { recursive: true });
      sh('zpool', ['create', '-m', join(dir, 'mnt', role), pool, file]);
      created.push(pool);
    }
    sh('zfs', ['create', `${pools.src}/data`]);
    sh('zfs', ['create', `${pools.src}/data/bench`]);
    sh('zfs', ['create', `${pools.dst}/plain`]);
    sh('zfs', ['create', `${pools.dst}/xrepl`]);
    const fd = openSync(join(dir, 'mnt', 'src', 'data', 'bench', 'data.bin'), 'w');
    for (let i = 0; i < SIZE_MB; i++) writeSync(fd, randomBytes(1 << 20));
    closeSync(fd);
    sh('zfs', ['snapshot', `${pools.src}/data/bench@s1`]);
    const sender = zfsSender({ root: `${pools.src}/data` });
    const receiver = zfsReceiver({ root: `${pools.dst}/xrepl` });
    const signal = new AbortController().signal;
    const to = (await sender.listFilesystemVersions('bench', signal)).find((v) => v.name === 's1');
    if (to === undefined) throw new Error('no bench@s1');
    const streamBytes = sh('zfs', [
      'get',
      '-Hp',
      '-o',
      'value',
      'referenced',
      `${pools.src}/data/bench@s1`,
    ]).trim();

    const plain: number[] = [];
    const bare: number[] = [];
    const xrepl: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      let t0 = performance.now();
      await plainPipe(`${pools.src}/data/bench@s1`, `${pools.dst}/plain/bench${run}@s1`);
      plain.push(performance.now() - t0);
      sh('zfs', ['destroy', '-r', `${pools.dst}/plain/bench${run}`]);

      t0 = performance.now();
      await nodePipe(`${pools.src}/data/bench@s1`, `${pools.dst}/plain/bare${run}@s1`);
      bare.push(performance.now() - t0);
      sh('zfs', ['destroy', '-r', `${pools.dst}/plain/bare${run}`]);

      t0 = performance.now();
      const { stream } = await sender.send({ filesystem: 'bench', to }, signal);
      await receiver.receive(
        { filesystem: `bench${run}`, to, clearResumeToken: false },
        stream,
        signal,
      );
      xrepl.push(performance.now() - t0);
      sh('zfs', ['destroy', '-r', `${pools.dst}/xrepl/bench${run}`]);
    }
    const mbps = (ms: number): string => ((SIZE_MB / ms) * 1000).toFixed(0);
    const fmt = (xs: number[]): string => xs.map((x) => x.toFixed(0)).join(', ');
    console.log(
      `dataset: ${SIZE_MB} MiB random data (referenced ${streamBytes} bytes), ${RUNS} runs each`,
    );
    console.log(
      `zfs send | zfs recv : median ${median(plain).toFixed(0)} ms (${mbps(median(plain))} MiB/s)  runs: ${fmt(plain)}`,
    );
    console.log(
      `node bare pipeline  : median ${median(bare).toFixed(0)} ms (${mbps(median(bare))} MiB/s)  runs: ${fmt(bare)}`,
    );
    console.log(
      `xrepl zfs endpoints : median ${median(xrepl).toFixed(0)} ms (${mbps(median(xrepl))} MiB/s)  runs: ${fmt(xrepl)}`,
    );
    console.log(
      `overhead: ${(((median(xrepl) - median(plain)) / median(plain)) * 100).toFixed(1)} %`,
    );
  } finally {
    let leaked = false;
    for (const pool of created) {
      // zfs-fuse may call a pool busy for a moment after the last destroy: retry, bounded.
      let result = spawnSync('zpool', ['destroy', '-f', pool], { encoding: 'utf8' });
      for (let i = 0; i < 50 && result.status !== 0; i++) {
        await new Promise((resolve) => setTimeout(resolve, 200));
        result = spawnSync('zpool', ['destroy', '-f', pool], { encoding: 'utf8' });
      }
      if (result.status !== 0) {
        leaked = true;
        console.error(
          `could not destroy ${pool}: ${result.stderr.trim()} (backing files in ${dir})`,
        );
      }
    }
    if (!leaked) rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
