/**
 * The local pool as jobs see it: list datasets and snapshots (with their hold count), take
 * snapshots, destroy snapshots. Argument arrays through the zfs backend's exec seam, never a
 * shell string. Destroying happens only here and only when pruning runs for real.
 */
import { createZfsExec, type ZfsExec } from '../endpoints/zfs/index.js';
import { destroySnapshots } from '../endpoints/zfs/destroy.js';
import { parsePropertyRows } from '../endpoints/zfs/list.js';

/** A snapshot of a dataset, with what pruning needs to know. */
export interface SnapshotInfo {
  /** The part after `@`. */
  name: string;
  guid: string;
  createTxg: string;
  creation: Date;
  /** `zfs hold` count (`userrefs`); 0 where the pool has no holds (zfs-fuse). */
  holds: number;
}

export interface LocalZfs {
  /** Filesystems and volumes at and below `dataset`, parents first; [] when it is missing. */
  datasets(dataset: string, signal: AbortSignal): Promise<string[]>;
  /** Snapshots of each dataset at and below `dataset`, oldest first. */
  snapshots(dataset: string, signal: AbortSignal): Promise<Map<string, SnapshotInfo[]>>;
  /** One `zfs snapshot` of all `datasets` at once with the same name (atomic within a pool). */
  snapshot(datasets: readonly string[], name: string, signal: AbortSignal): Promise<void>;
  /** One `zfs destroy dataset@a,b,c`. */
  destroy(dataset: string, names: readonly string[], signal: AbortSignal): Promise<void>;
}

const PROPERTIES = 'type,guid,createtxg,creation,userrefs';

/** The local zfs command (or `exec`, in tests). */
export function localZfs(exec: ZfsExec = createZfsExec()): LocalZfs {
  // Learned from the first refusal: zfs-fuse takes one snapshot per command.
  const legacy = { snapshot: false, destroy: false };
  const get = async (dataset: string, signal: AbortSignal) => {
    try {
      const { stdout } = await exec.run(
        'zfs',
        ['get', '-Hp', '-r', '-o', 'name,property,value', PROPERTIES, dataset],
        signal,
      );
      return parsePropertyRows(stdout, false);
    } catch (err) {
      if (/does not exist/.test((err as Error).message)) return [];
      throw err;
    }
  };
  const byName = (rows: ReturnType<typeof parsePropertyRows>) => {
    const out = new Map<string, Map<string, string>>();
    for (const row of rows) {
      if (row.name.includes('%')) continue;
      let props = out.get(row.name);
      if (props === undefined) out.set(row.name, (props = new Map()));
      props.set(row.property, row.value);
    }
    return out;
  };
  return {
    async datasets(dataset, signal) {
      const names: string[] = [];
      for (const [name, props] of byName(await get(dataset, signal))) {
        const type = props.get('type');
        if (type === 'filesystem' || type === 'volume') names.push(name);
      }
      return names.sort();
    },
    async snapshots(dataset, signal) {
      const result = new Map<string, SnapshotInfo[]>();
      for (const [name, props] of byName(await get(dataset, signal))) {
        const type = props.get('type');
        if (type === 'filesystem' || type === 'volume') {
          if (!result.has(name)) result.set(name, []);
          continue;
        }
        if (type !== 'snapshot') continue;
        const at = name.indexOf('@');
        const fs = name.slice(0, at);
        let list = result.get(fs);
        if (list === undefined) result.set(fs, (list = []));
        const refs = Number(props.get('userrefs'));
        list.push({
          name: name.slice(at + 1),
          guid: props.get('guid') ?? '',
          createTxg: props.get('createtxg') ?? '0',
          creation: new Date(Number(props.get('creation')) * 1000),
          holds: Number.isFinite(refs) ? refs : 0,
        });
      }
      for (const list of result.values()) {
        list.sort((a, b) => (BigInt(a.createTxg) < BigInt(b.createTxg) ? -1 : 1));
      }
      return result;
    },
    async snapshot(datasets, name, signal) {
      if (datasets.length === 0) return;
      const all = datasets.map((d) => `${d}@${name}`);
      if (!legacy.snapshot || all.length === 1) {
        try {
          await exec.run('zfs', ['snapshot', ...all], signal);
          return;
        } catch (err) {
          if (!/too many arguments/.test((err as Error).message)) throw err;
          legacy.snapshot = true;
        }
      }
      // zfs-fuse takes one snapshot a command: the snapshot run is not atomic there.
      for (const one of all) await exec.run('zfs', ['snapshot', one], signal);
    },
    destroy: (dataset, names, signal) => destroySnapshots(exec, dataset, names, signal, legacy),
  };
}
