/**
 * Scratch ZFS pools for the data-path benchmarks: two file-backed pools (`<tag>_src`,
 * `<tag>_dst`) in a temporary directory, a source dataset `<src>/data/bench` holding `sizeMiB`
 * of random data in snapshot `@s1`, and the CPU time of the ZFS daemon (zfs-fuse runs the
 * whole pool in one process, so its CPU is the pool's work). Needs root and a running ZFS.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  ftruncateSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const MiB = 1 << 20;

/** Runs a command; throws with its stderr if it fails. */
export function sh(program: string, args: string[]): string {
  const result = spawnSync(program, args, { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`${program} ${args.join(' ')}: ${result.stderr.trim()}`);
  return result.stdout;
}

/** Why ZFS cannot be used here, or null when `zpool list` works. */
export function zfsUnavailable(): string | null {
  const result = spawnSync('zpool', ['list'], { encoding: 'utf8' });
  if (result.error !== undefined) return `no zpool command (${result.error.message})`;
  if (result.status !== 0) return `zpool list failed: ${result.stderr.trim()}`;
  return null;
}

/** User + system CPU of process `pid` so far, ms (from /proc; 0 when it is gone). */
export function cpuMsOf(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which may contain spaces: state is field 3, utime 14.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return (ticks * 1000) / 100; // USER_HZ is 100 on Linux
  } catch {
    return 0;
  }
}

/** The pid of the ZFS daemon (zfs-fuse), if there is one. */
export function zfsDaemonPid(): number | undefined {
  const out = spawnSync('pgrep', ['-x', 'zfs-fuse'], { encoding: 'utf8' }).stdout ?? '';
  const pid = Number(out.trim().split('\n')[0]);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

export interface BenchPools {
  src: string;
  dst: string;
  /** `<src>/data/bench@s1`. */
  snapshot: string;
  /** Creates `<dst>/<name>` (a parent for received datasets). */
  parent(name: string): string;
  destroy(): void;
}

/** Creates the two pools and the source snapshot of `sizeMiB` random data. */
export function createBenchPools(tag: string, sizeMiB: number): BenchPools {
  const dir = mkdtempSync(join(tmpdir(), 'xrepl-bench-'));
  const pools = { src: `${tag}_src`, dst: `${tag}_dst` };
  const created: string[] = [];
  const destroy = (): void => {
    const left = created.splice(0).filter((pool) => {
      return spawnSync('zpool', ['destroy', '-f', pool]).status !== 0;
    });
    // A pool that could not be destroyed keeps its backing file: deleting it would leave a
    // FAULTED pool behind. Say so instead.
    if (left.length > 0) {
      console.error(`bench: could not destroy ${left.join(', ')}; backing files kept in ${dir}`);
      return;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (const [role, pool] of Object.entries(pools)) {
      const file = join(dir, `${role}.img`);
      const fd = openSync(file, 'w');
      // Sparse: room for the data and a few received copies of it.
      ftruncateSync(fd, Math.max(1024, sizeMiB * 4) * MiB);
      closeSync(fd);
      mkdirSync(join(dir, 'mnt', role), { recursive: true });
      sh('zpool', ['create', '-m', join(dir, 'mnt', role), pool, file]);
      created.push(pool);
    }
    sh('zfs', ['create', `${pools.src}/data`]);
    sh('zfs', ['create', `${pools.src}/data/bench`]);
    const fd = openSync(join(dir, 'mnt', 'src', 'data', 'bench', 'data.bin'), 'w');
    for (let i = 0; i < sizeMiB; i++) writeSync(fd, randomBytes(MiB));
    closeSync(fd);
    sh('zfs', ['snapshot', `${pools.src}/data/bench@s1`]);
  } catch (err) {
    destroy();
    throw err;
  }
  return {
    ...pools,
    snapshot: `${pools.src}/data/bench@s1`,
    parent(name) {
      sh('zfs', ['create', `${pools.dst}/${name}`]);
      return `${pools.dst}/${name}`;
    },
    destroy,
  };
}

/** Resident set size of process `pid` now, bytes (from /proc; 0 when it is gone). */
export function rssOf(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}
