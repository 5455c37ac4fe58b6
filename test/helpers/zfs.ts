/**
 * Real ZFS for tests (ZFS-TESTING.md): detects `zpool` and a running daemon, creates
 * file-backed pools with names unique to this test run, and destroys exactly those pools.
 * Where ZFS is missing, `describeZfs` prints one line and registers one skipped test.
 * The same suites run on zfs-fuse and on OpenZFS (zfs-backend.ts, `npm run test:openzfs`).
 */
import { spawnSync } from 'node:child_process';
import { poolFiles, sh, zfsBackend, type ZfsBackend } from './zfs-backend.js';

export { poolFiles, sh, zfsBackend, type PoolFiles, type ZfsBackend } from './zfs-backend.js';

export interface ZfsAvailability {
  available: boolean;
  /** Why not, e.g. `zpool not found`. */
  reason: string;
}

/** Whether `zpool list` works: binary present and daemon (or kernel module) answering. */
export function zfsAvailability(backend: ZfsBackend = zfsBackend()): ZfsAvailability {
  if (backend === 'openzfs') {
    const guest = spawnSync('ozfs-guest', ['true'], { encoding: 'utf8', timeout: 60_000 });
    if (guest.status !== 0) {
      return {
        available: false,
        reason: 'no OpenZFS guest (ozfs-guest failed); run the suites with npm run test:openzfs',
      };
    }
  }
  const result = spawnSync('zpool', ['list'], { encoding: 'utf8', timeout: 60_000 });
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
 * Test and hook timeout on OpenZFS: the guest is emulated (about 0.3 s a zfs command, a few
 * MB/s across its network), so a scenario takes 10-50x its zfs-fuse time.
 */
const OPENZFS_TIMEOUT_MS = 600_000;

/** A test or hook timeout: `ms` on zfs-fuse, the (longer) OpenZFS timeout on OpenZFS. */
export function zfsTimeout(ms: number): number {
  return zfsBackend() === 'openzfs' ? Math.max(ms, OPENZFS_TIMEOUT_MS) : ms;
}

/**
 * `describe` when real ZFS is available, named with its backend (`... (openzfs)`); else one
 * visible warning line and a single test that checks why: the probe still finds no ZFS and
 * names the reason (so a machine without ZFS runs no real-ZFS scenario, and says so).
 */
export function describeZfs(name: string, fn: () => void): void {
  const backend = zfsBackend();
  availability ??= zfsAvailability(backend);
  if (availability.available) {
    describe(`${name} (${backend})`, () => {
      if (backend === 'openzfs') jest.setTimeout(OPENZFS_TIMEOUT_MS);
      fn();
    });
    return;
  }
  const reason = availability.reason;
  // One plain line (console.warn would add a code frame under jest).
  process.stderr.write(`zfs tests not run: ${reason}\n`);
  describe(`${name} (${backend})`, () => {
    test(`no real ZFS here (${reason})`, () => {
      expect(zfsAvailability(backend)).toEqual({ available: false, reason });
    });
  });
}

/**
 * `test` on the given backends only; on the others the test is not defined and one line says
 * so, e.g. `onlyOn('openzfs', 'zfs-fuse pools (version 23) have no bookmarks')('...', fn)`.
 * Files whose every test is one of these are named `*-openzfs.test.ts`: jest.config.cjs runs
 * them only with XREPL_ZFS_BACKEND=openzfs.
 */
export function onlyOn(backends: ZfsBackend | readonly ZfsBackend[], reason: string): jest.It {
  const backend = zfsBackend();
  if (([] as ZfsBackend[]).concat(backends).includes(backend)) return test;
  const notHere = (name: string): void => {
    process.stderr.write(`not on ${backend}: ${name} (${reason})\n`);
  };
  return Object.assign(notHere, test);
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
 * Creates one file-backed pool per suffix, named `xrepl_t<pid>_<dir>_<suffix>` and mounted
 * below a fresh temporary directory, whose unique suffix (`<dir>`, from mkdtemp) keeps the names
 * of concurrent test processes apart without a random number in the tests. On failure the pools made so far are destroyed.
 */
export async function createPools(suffixes: readonly string[], sizeMiB = 512): Promise<TestPools> {
  const files = poolFiles();
  const dir = files.makeTempDir('xrepl-zfs-');
  const unique = dir.slice(dir.lastIndexOf('xrepl-zfs-') + 'xrepl-zfs-'.length);
  const tag = `xrepl_t${process.pid}_${unique}`;
  const pools: TestPools = { dir, name: {}, created: [] };
  try {
    for (const suffix of suffixes) {
      const file = `${dir}/${suffix}.img`;
      files.makeSparseFile(file, sizeMiB * 1024 * 1024);
      const mountpoint = `${dir}/mnt/${suffix}`;
      files.makeDir(mountpoint);
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
  if (failures.length === 0) poolFiles().remove(pools.dir);
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

/** The files of the file system mounted at `dir`, not crossing into child datasets mounted
 * below it: relative path -> sha256 (on the backend's file system, see PoolFiles). */
export function fileTree(dir: string): Map<string, string> {
  return poolFiles().fileTree(dir);
}

/** Writes `data` to `path` on the backend's file system, creating parent directories. */
export function writeFile(path: string, data: string | Buffer): void {
  poolFiles().writeFile(path, data);
}

/** Writes `bytes` random bytes to `path` on the backend's file system. */
export function writeRandomFile(path: string, bytes: number): void {
  poolFiles().writeRandomFile(path, bytes);
}
