/**
 * The simulated pool (REPLICATION.md "Backends", 2): datasets, snapshots, bookmarks,
 * placeholders and partial receive state, all in memory. Endpoints (`memorySender`,
 * `memoryReceiver`) serve a subtree of one pool; tests and demos build pools with the helper
 * methods here or from a JSON fixture.
 */
import type { FilesystemVersion } from '../types.js';
import { assertRelativePath } from '../paths.js';
import { GuidGenerator } from './prng.js';
import { parsePoolFixture, type DatasetFixture, type PoolFixture } from './fixture.js';

/** Payload size of a snapshot made without `size`. */
export const DEFAULT_SNAPSHOT_SIZE = 4096;

/** A snapshot as the pool keeps it. `size` is what was written since the previous snapshot. */
export interface MemorySnapshot {
  name: string;
  guid: string;
  createTxg: bigint;
  creation: Date;
  size: number;
}

export type MemoryBookmark = Omit<MemorySnapshot, 'size'>;

/** An interrupted resumable receive: what a resume token describes. */
export interface PartialReceive {
  fromGuid?: string;
  toGuid: string;
  toName: string;
  toCreation: Date;
  /** Payload bytes of the whole stream. */
  payloadSize: number;
  /** Payload bytes already received. */
  bytes: number;
}

/** @internal The pool's mutable record of a dataset; endpoints of this folder use it. */
export interface DatasetRecord {
  path: string;
  placeholder: boolean;
  snapshots: MemorySnapshot[];
  bookmarks: MemoryBookmark[];
  partial?: PartialReceive;
}

/** A copy of a dataset's state, for assertions; changing it changes nothing in the pool. */
export interface MemoryDataset {
  path: string;
  placeholder: boolean;
  snapshots: (FilesystemVersion & { size: number })[];
  bookmarks: FilesystemVersion[];
  partial?: PartialReceive;
}

export interface MemoryPoolOptions {
  /** Seeds the guid generator; pools with different seeds never share guids by chance. */
  seed?: string | number;
  /** Clock for snapshots made without `creation` (default: real time). */
  now?: () => Date;
}

let unnamedPools = 0;

/** Refuses snapshot and bookmark names that ZFS would refuse. */
function assertVersionName(name: string): void {
  // eslint-disable-next-line no-control-regex
  if (!/^[^@#/\u0000-\u001f\u007f]+$/.test(name) || name.trim() === '') {
    throw new Error(`invalid snapshot or bookmark name ${JSON.stringify(name)}`);
  }
}

function byTxg(a: { createTxg: bigint }, b: { createTxg: bigint }): number {
  return a.createTxg < b.createTxg ? -1 : a.createTxg > b.createTxg ? 1 : 0;
}

function parentOf(path: string): string | undefined {
  const i = path.lastIndexOf('/');
  return i < 0 ? undefined : path.slice(0, i);
}

/** The public form of a snapshot or bookmark. */
export function toVersion(type: 'snapshot' | 'bookmark', v: MemoryBookmark): FilesystemVersion {
  return {
    type,
    name: v.name,
    guid: v.guid,
    createTxg: v.createTxg.toString(),
    creation: new Date(v.creation),
  };
}

/**
 * An in-memory ZFS pool.
 *
 * @example
 * const pool = new MemoryPool({ seed: 'src' });
 * pool.createDataset('tank/data');
 * pool.snapshot('tank/data', 'a', { size: 1 << 20 });
 * const sender = memorySender(pool, 'tank');
 */
export class MemoryPool {
  private readonly datasets = new Map<string, DatasetRecord>();
  private guids: GuidGenerator;
  private readonly seed: string | number;
  private readonly now: () => Date;
  private nextTxg = 1n;

  constructor(options: MemoryPoolOptions = {}) {
    this.seed = options.seed ?? `memory-pool-${++unnamedPools}`;
    this.guids = new GuidGenerator(this.seed);
    this.now = options.now ?? (() => new Date());
  }

  /**
   * Builds a pool from a fixture (an object or a JSON string), validated with zod.
   *
   * @example
   * MemoryPool.fromFixture({ seed: 1, datasets: [{ path: 'tank/a', snapshots: [{ name: 's1' }] }] });
   */
  static fromFixture(json: unknown, options: Omit<MemoryPoolOptions, 'seed'> = {}): MemoryPool {
    const fixture = parsePoolFixture(json);
    const pool = new MemoryPool({ ...options, seed: fixture.seed ?? 'fixture' });
    if (fixture.rngState !== undefined) {
      pool.guids = new GuidGenerator(pool.seed, BigInt(fixture.rngState));
    }
    for (const ds of fixture.datasets) pool.loadDataset(ds);
    if (fixture.nextTxg !== undefined) {
      const next = BigInt(fixture.nextTxg);
      if (next < pool.nextTxg) {
        throw new Error(`fixture nextTxg ${next} is not above the highest createTxg in it`);
      }
      pool.nextTxg = next;
    }
    return pool;
  }

  /** The whole pool as a fixture; `MemoryPool.fromFixture(pool.toFixture())` is equivalent. */
  toFixture(): PoolFixture {
    return {
      version: 1,
      seed: this.seed,
      rngState: this.guids.currentState.toString(),
      nextTxg: this.nextTxg.toString(),
      datasets: this.paths().map((path) => {
        const r = this.mustGet(path);
        const ds: DatasetFixture = {
          path,
          placeholder: r.placeholder,
          snapshots: r.snapshots.map((s) => ({
            name: s.name,
            guid: s.guid,
            createTxg: s.createTxg.toString(),
            creation: s.creation.toISOString(),
            size: s.size,
          })),
          bookmarks: r.bookmarks.map((b) => ({
            name: b.name,
            guid: b.guid,
            createTxg: b.createTxg.toString(),
            creation: b.creation.toISOString(),
          })),
        };
        if (r.partial) {
          const { toCreation, ...rest } = r.partial;
          ds.partial = { ...rest, toCreation: toCreation.toISOString() };
        }
        return ds;
      }),
    };
  }

  /** Creates a dataset; missing parents are created as ordinary datasets (`zfs create -p`). */
  createDataset(path: string, options: { placeholder?: boolean } = {}): void {
    assertRelativePath(path, 'dataset name');
    if (this.datasets.has(path)) throw new Error(`dataset ${path} already exists`);
    const parent = parentOf(path);
    if (parent !== undefined && !this.datasets.has(parent)) this.createDataset(parent);
    this.datasets.set(path, {
      path,
      placeholder: options.placeholder ?? false,
      snapshots: [],
      bookmarks: [],
    });
  }

  /** Destroys a dataset; with children only when `recursive`. */
  destroyDataset(path: string, options: { recursive?: boolean } = {}): void {
    this.mustGet(path);
    const children = this.paths().filter((p) => p.startsWith(`${path}/`));
    if (children.length > 0 && !options.recursive) {
      throw new Error(`cannot destroy ${path}: it has children (${children.join(', ')})`);
    }
    for (const p of [path, ...children]) this.datasets.delete(p);
  }

  /** Marks or unmarks a dataset as a placeholder (the `xrepl:placeholder` property). */
  setPlaceholder(path: string, placeholder: boolean): void {
    this.mustGet(path).placeholder = placeholder;
  }

  /** Takes a snapshot `path@name` in a new txg. `size`: bytes written since the last one. */
  snapshot(
    path: string,
    name: string,
    options: { creation?: Date; size?: number } = {},
  ): FilesystemVersion {
    const ds = this.mustGet(path);
    assertVersionName(name);
    if (ds.snapshots.some((s) => s.name === name))
      throw new Error(`snapshot ${path}@${name} already exists`);
    const size = options.size ?? DEFAULT_SNAPSHOT_SIZE;
    if (!Number.isSafeInteger(size) || size < 0) throw new Error(`invalid snapshot size ${size}`);
    const snap: MemorySnapshot = {
      name,
      guid: this.guids.next(),
      createTxg: this.takeTxg(),
      creation: new Date(options.creation ?? this.now()),
      size,
    };
    ds.snapshots.push(snap);
    return toVersion('snapshot', snap);
  }

  /** Bookmarks `path@snapshot` as `path#name` (same guid, txg and creation). */
  bookmark(path: string, snapshot: string, name: string): FilesystemVersion {
    const ds = this.mustGet(path);
    assertVersionName(name);
    const snap = this.mustGetSnapshot(ds, snapshot);
    if (ds.bookmarks.some((b) => b.name === name))
      throw new Error(`bookmark ${path}#${name} already exists`);
    const { size: _size, ...bookmark } = snap;
    ds.bookmarks.push({ ...bookmark, name });
    ds.bookmarks.sort(byTxg);
    return toVersion('bookmark', { ...bookmark, name });
  }

  destroySnapshot(path: string, name: string): void {
    const ds = this.mustGet(path);
    const snap = this.mustGetSnapshot(ds, name);
    const i = ds.snapshots.indexOf(snap);
    // The data written before it is still there: the next snapshot's delta grows by it.
    const next = ds.snapshots[i + 1];
    if (next) next.size += snap.size;
    ds.snapshots.splice(i, 1);
  }

  /** `zfs rollback -r`: destroys every snapshot newer than `path@name` and partial receive state. */
  rollback(path: string, name: string): void {
    const ds = this.mustGet(path);
    const snap = this.mustGetSnapshot(ds, name);
    ds.snapshots = ds.snapshots.filter((s) => s.createTxg <= snap.createTxg);
    delete ds.partial;
  }

  /** A copy of the dataset's state, or undefined when it does not exist. */
  get(path: string): MemoryDataset | undefined {
    const r = this.datasets.get(path);
    if (!r) return undefined;
    const view: MemoryDataset = {
      path,
      placeholder: r.placeholder,
      snapshots: r.snapshots.map((s) => ({ ...toVersion('snapshot', s), size: s.size })),
      bookmarks: r.bookmarks.map((b) => toVersion('bookmark', b)),
    };
    if (r.partial) view.partial = { ...r.partial, toCreation: new Date(r.partial.toCreation) };
    return view;
  }

  /** Every dataset path, sorted (parents before children). */
  paths(): string[] {
    return [...this.datasets.keys()].sort();
  }

  /** @internal The mutable record, for the endpoints of this folder. */
  record(path: string): DatasetRecord | undefined {
    return this.datasets.get(path);
  }

  /**
   * @internal Applies a completed receive: creates the dataset (and missing parents as
   * placeholders), appends the snapshot in a new txg, clears placeholder flag and partial state.
   */
  applyReceive(path: string, snap: Omit<MemorySnapshot, 'createTxg'>): void {
    const ds = this.ensureWithPlaceholderParents(path);
    ds.snapshots.push({ ...snap, createTxg: this.takeTxg() });
    ds.placeholder = false;
    delete ds.partial;
  }

  /** @internal Records (or with undefined, clears) partial receive state of `path`. */
  setPartial(path: string, partial: PartialReceive | undefined): void {
    if (partial === undefined) {
      const ds = this.datasets.get(path);
      if (ds) delete ds.partial;
      return;
    }
    this.ensureWithPlaceholderParents(path).partial = partial;
  }

  private ensureWithPlaceholderParents(path: string): DatasetRecord {
    const existing = this.datasets.get(path);
    if (existing) return existing;
    const parent = parentOf(path);
    if (parent !== undefined) this.ensureWithPlaceholderParents(parent);
    const created: DatasetRecord = { path, placeholder: true, snapshots: [], bookmarks: [] };
    this.datasets.set(path, created);
    return created;
  }

  private takeTxg(): bigint {
    return this.nextTxg++;
  }

  private mustGet(path: string): DatasetRecord {
    const ds = this.datasets.get(path);
    if (!ds) throw new Error(`dataset ${path} does not exist`);
    return ds;
  }

  private mustGetSnapshot(ds: DatasetRecord, name: string): MemorySnapshot {
    const snap = ds.snapshots.find((s) => s.name === name);
    if (!snap) throw new Error(`snapshot ${ds.path}@${name} does not exist`);
    return snap;
  }

  private loadDataset(fixture: DatasetFixture): void {
    if (!this.datasets.has(fixture.path)) this.createDataset(fixture.path);
    const ds = this.mustGet(fixture.path);
    ds.placeholder = fixture.placeholder ?? false;
    for (const s of fixture.snapshots ?? []) {
      if (ds.snapshots.some((existing) => existing.name === s.name)) {
        throw new Error(`fixture has snapshot ${fixture.path}@${s.name} twice`);
      }
      if (s.guid === undefined && s.createTxg === undefined) {
        this.snapshot(fixture.path, s.name, {
          ...(s.creation !== undefined && { creation: new Date(s.creation) }),
          ...(s.size !== undefined && { size: s.size }),
        });
        continue;
      }
      assertVersionName(s.name);
      const createTxg = s.createTxg !== undefined ? BigInt(s.createTxg) : this.nextTxg;
      if (createTxg >= this.nextTxg) this.nextTxg = createTxg + 1n;
      ds.snapshots.push({
        name: s.name,
        guid: s.guid ?? this.guids.next(),
        createTxg,
        creation: s.creation !== undefined ? new Date(s.creation) : this.now(),
        size: s.size ?? DEFAULT_SNAPSHOT_SIZE,
      });
    }
    ds.snapshots.sort(byTxg);
    for (const b of fixture.bookmarks ?? []) {
      if ('snapshot' in b) {
        this.bookmark(fixture.path, b.snapshot, b.name);
      } else {
        assertVersionName(b.name);
        ds.bookmarks.push({
          name: b.name,
          guid: b.guid,
          createTxg: BigInt(b.createTxg),
          creation: new Date(b.creation),
        });
      }
    }
    ds.bookmarks.sort(byTxg);
    if (fixture.partial) {
      const { toCreation, ...rest } = fixture.partial;
      ds.partial = { ...rest, toCreation: new Date(toCreation) };
    }
  }
}
