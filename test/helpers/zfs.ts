/**
 * Real ZFS for tests (ZFS-TESTING.md): detects `zpool` and a running daemon, creates
 * file-backed pools with names unique to this test run, and destroys exactly those pools.
 * Where ZFS is missing, `describeZfs` prints one line and registers one skipped test.
 */
import { spawnSync } from 'node:child_process';
import {
  closeSync,
  ftruncateSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface ZfsAvailability {
  available: boolean;
  /** Why not, e.g. `zpool not found`. */
  reason: string;
}

/** Whether `zpool list` works: binary present and daemon (or kernel module) answering. */
export function zfsAvailability(): ZfsAvailability {
  const result = spawnSync('zpool', ['list'], { encoding: 'utf8', timeout: 10_000 });
  if (result.error !== undefined) {
    const code = (result.error as NodeJS.ErrnoException).code;
    return {
      available: false,
      reason: code === 'ENOENT' ? 'zpool not found' : result.error.message,
    };
  }
  if (result.status !== 0) {
    const said = (result.stderr || result.stdout).trim().split('\n')[0] ?? '';
    return {
      available: false,
      reason: `zpool list failed (${said}); is the zfs-fuse daemon running? see .ci/zfs-setup.sh`,
    };
  }
  return { available: true, reason: '' };
}

let availability: ZfsAvailability | undefined;

/**
 * `describe` when real ZFS is available; else one visible warning line and a single skipped
 * test naming the reason.
 */
export function describeZfs(name: string, fn: () => void): void {
  availability ??= zfsAvailability();
  if (availability.available) {
    describe(name, fn);
    return;
  }
  const reason = availability.reason;
  // One plain line (console.warn would add a code frame under jest).
  process.stderr.write(`zfs tests skipped: ${reason}\n`);
  describe(name, () => {
    test.skip(`needs real ZFS (${reason})`, () => {});
  });
}

/** Runs a command synchronously; throws with its stderr unless it exits 0. Returns stdout. */
export function sh(program: string, args: readonly string[]): string {
  const result = spawnSync(program, args, { encoding: 'utf8', timeout: 120_000 });
  if (result.error !== undefined) throw result.error;
  if (result.status !== 0) {
    throw new Error(
      `${program} ${args.join(' ')}: exit ${result.status ?? result.signal}: ${result.stderr.trim()}`,
    );
  }
  return result.stdout;
}

/** `zfs ...args`, stdout. */
export function zfs(...args: string[]): string {
  return sh('zfs', args);
}

/** One property value (`zfs get -Hp -o value`). */
export function zfsGet(property: string, dataset: string): string {
  return zfs('get', '-Hp', '-o', 'value', property, dataset).trim();
}

export interface TestPools {
  /** Directory holding the backing files and mountpoints. */
  dir: string;
  /** Pool names by the suffix asked for, e.g. `pools.name.src`. */
  name: Record<string, string>;
  /** The pools actually created (destroyPools touches these only). */
  created: string[];
}

/**
 * Creates one file-backed pool per suffix, named `xrepl_t<pid>_<random>_<suffix>` and
 * mounted below a fresh temporary directory. On failure the pools made so far are destroyed.
 */
export async function createPools(suffixes: readonly string[], sizeMiB = 512): Promise<TestPools> {
  const dir = mkdtempSync(join(tmpdir(), 'xrepl-zfs-'));
  const tag = `xrepl_t${process.pid}_${Math.random().toString(36).slice(2, 6)}`;
  const pools: TestPools = { dir, name: {}, created: [] };
  try {
    for (const suffix of suffixes) {
      const file = join(dir, `${suffix}.img`);
      const fd = openSync(file, 'w');
      ftruncateSync(fd, sizeMiB * 1024 * 1024);
      closeSync(fd);
      const mountpoint = join(dir, 'mnt', suffix);
      mkdirSync(mountpoint, { recursive: true });
      const name = `${tag}_${suffix}`;
      sh('zpool', ['create', '-m', mountpoint, name, file]);
      pools.created.push(name);
      pools.name[suffix] = name;
    }
    return pools;
  } catch (err) {
    await destroyPools(pools).catch(() => undefined);
    throw err;
  }
}

function tryDestroy(pool: string): string | undefined {
  const result = spawnSync('zpool', ['destroy', '-f', pool], { encoding: 'utf8', timeout: 60_000 });
  if (result.status === 0) return undefined;
  return `${result.stderr}`.trim() || `exit ${result.status ?? result.signal}`;
}

/**
 * Destroys the pools of `pools.created` (never any other) and removes the directory. zfs-fuse
 * may report a pool busy for a moment after a receive or an unmount: retried, bounded to 10 s.
 * Throws when a pool could not be destroyed, so a leak is visible.
 */
export async function destroyPools(pools: TestPools): Promise<void> {
  const failures: string[] = [];
  for (const pool of pools.created) {
    const deadline = Date.now() + 10_000;
    let problem = tryDestroy(pool);
    while (problem !== undefined && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      problem = tryDestroy(pool);
    }
    if (problem !== undefined) failures.push(`${pool}: ${problem}`);
  }
  pools.created = [];
  if (failures.length === 0) rmSync(pools.dir, { recursive: true, force: true });
  if (failures.length > 0) {
    throw new Error(
      `could not destroy test pools (backing files kept in ${pools.dir}): ${failures.join('; ')}`,
    );
  }
}

/** Child processes of this process still running (e.g. a leaked `zfs send`). */
export function childProcesses(): string[] {
  const result = spawnSync('pgrep', ['-a', '-P', String(process.pid)], { encoding: 'utf8' });
  return result.stdout.split('\n').filter((line) => line.trim() !== '' && !/\bpgrep\b/.test(line));
}

/** Every file of the filesystem mounted at `dir` (relative path -> contents, base64), not
 * crossing into child datasets mounted below it. */
export function fileTree(dir: string, dev = statSync(dir).dev, prefix = ''): Map<string, string> {
  const files = new Map<string, string>();
  for (const entry of readdirSync(dir).sort()) {
    const path = join(dir, entry);
    const stat = statSync(path);
    if (stat.dev !== dev) continue; // a child dataset mounted here
    if (stat.isDirectory()) {
      for (const [k, v] of fileTree(path, dev, `${prefix}${entry}/`)) files.set(k, v);
    } else {
      files.set(`${prefix}${entry}`, readFileSync(path).toString('base64'));
    }
  }
  return files;
}
