/**
 * Which ZFS the real-ZFS suites run against, and where its files live.
 *
 * - `zfs-fuse` (the default): the daemon on this host; pools, vdev files and mounts are local.
 * - `openzfs` (`XREPL_ZFS_BACKEND=openzfs`, set by `npm run test:openzfs`): OpenZFS 2.1 in a
 *   QEMU guest (`scripts/ozfs-vm.sh --with`). `zfs` and `zpool` on PATH are shims that run the
 *   command in the guest; the guest sees the host's files read-only and its mounts are its own,
 *   so vdev files are made and mounted files are read and written in the guest, through
 *   `ozfs-guest`.
 */
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
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
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

export type ZfsBackend = 'zfs-fuse' | 'openzfs';

const BACKENDS: readonly ZfsBackend[] = ['zfs-fuse', 'openzfs'];

/** The backend named by `XREPL_ZFS_BACKEND` (default `zfs-fuse`); an unknown name throws. */
export function zfsBackend(env: NodeJS.ProcessEnv = process.env): ZfsBackend {
  const name = env.XREPL_ZFS_BACKEND ?? 'zfs-fuse';
  if (!(BACKENDS as readonly string[]).includes(name)) {
    throw new Error(`XREPL_ZFS_BACKEND=${name}: unknown ZFS backend; use ${BACKENDS.join(' or ')}`);
  }
  return name as ZfsBackend;
}

/** Runs a command synchronously; throws with its stderr unless it exits 0. Returns stdout. */
export function sh(program: string, args: readonly string[], input?: string | Buffer): string {
  const result = spawnSync(program, args, {
    encoding: 'utf8',
    timeout: 300_000,
    maxBuffer: 64 << 20,
    ...(input === undefined ? {} : { input }),
  });
  if (result.error !== undefined) throw result.error;
  if (result.status !== 0) {
    throw new Error(
      `${program} ${args.join(' ')}: exit ${result.status ?? result.signal}: ${result.stderr.trim()}`,
    );
  }
  return result.stdout;
}

/**
 * The file system where pools keep their vdev files and mount their datasets: this host's for
 * zfs-fuse, the guest's for OpenZFS. Paths are absolute paths of that file system.
 */
export interface PoolFiles {
  /** A new empty directory. */
  makeTempDir(prefix: string): string;
  /** A directory and its parents. */
  makeDir(path: string): void;
  /** A sparse file of `bytes` (a vdev). */
  makeSparseFile(path: string, bytes: number): void;
  /** Writes `data` to `path`, creating its parent directories. */
  writeFile(path: string, data: string | Buffer): void;
  /** Writes `bytes` random bytes to `path`, creating its parent directories. */
  writeRandomFile(path: string, bytes: number): void;
  /**
   * Every file of the file system mounted at `dir`, not crossing into file systems mounted
   * below it (child datasets): relative path -> sha256 of the contents, sorted by path.
   */
  fileTree(dir: string): Map<string, string>;
  /** Removes `path` recursively. */
  remove(path: string): void;
}

function localTree(dir: string, dev: number, prefix: string, into: Map<string, string>): void {
  for (const entry of readdirSync(dir).sort()) {
    const path = join(dir, entry);
    const stat = statSync(path);
    if (stat.dev !== dev) continue; // a child dataset mounted here
    if (stat.isDirectory()) localTree(path, dev, `${prefix}${entry}/`, into);
    else
      into.set(`${prefix}${entry}`, createHash('sha256').update(readFileSync(path)).digest('hex'));
  }
}

const localFiles: PoolFiles = {
  makeTempDir: (prefix) => mkdtempSync(join(tmpdir(), prefix)),
  makeDir: (path) => void mkdirSync(path, { recursive: true }),
  makeSparseFile(path, bytes) {
    const fd = openSync(path, 'w');
    try {
      ftruncateSync(fd, bytes);
    } finally {
      closeSync(fd);
    }
  },
  writeFile(path, data) {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, data);
  },
  writeRandomFile(path, bytes) {
    localFiles.writeFile(path, randomBytes(bytes));
  },
  fileTree(dir) {
    const tree = new Map<string, string>();
    localTree(dir, statSync(dir).dev, '', tree);
    return tree;
  },
  remove: (path) => rmSync(path, { recursive: true, force: true }),
};

/** `sh -c script` in the guest, with `args` as $1...; stdout. */
function inGuest(script: string, args: readonly string[] = [], input?: string | Buffer): string {
  return sh('ozfs-guest', ['sh', '-c', script, 'sh', ...args], input);
}

const guestFiles: PoolFiles = {
  makeTempDir: (prefix) => inGuest('mktemp -d "/var/tmp/$1XXXXXX"', [prefix]).trim(),
  makeDir: (path) => void inGuest('mkdir -p "$1"', [path]),
  makeSparseFile: (path, bytes) => void inGuest('truncate -s "$2" "$1"', [path, String(bytes)]),
  writeFile: (path, data) => void inGuest('mkdir -p "$(dirname "$1")" && cat > "$1"', [path], data),
  // Made in the guest: random bytes would cross the emulated network at a few MB/s.
  writeRandomFile: (path, bytes) =>
    void inGuest('mkdir -p "$(dirname "$1")" && head -c "$2" /dev/urandom > "$1"', [
      path,
      String(bytes),
    ]),
  fileTree(dir) {
    const out = inGuest(
      'cd "$1" && find . -xdev -type f -print0 | sort -z | xargs -0 -r sha256sum',
      [dir],
    );
    const tree = new Map<string, string>();
    for (const line of out.split('\n')) {
      const match = /^([0-9a-f]{64}) [ *]\.\/(.*)$/.exec(line);
      if (match !== null) tree.set(match[2] ?? '', match[1] ?? '');
    }
    return tree;
  },
  remove: (path) => void inGuest('rm -rf "$1"', [path]),
};

/** Where the files of `backend`'s pools live. */
export function poolFiles(backend: ZfsBackend = zfsBackend()): PoolFiles {
  return backend === 'openzfs' ? guestFiles : localFiles;
}
