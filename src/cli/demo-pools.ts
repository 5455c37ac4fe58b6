/**
 * The demo's pools: a sender with a realistic tree below `tank` (home directories, services,
 * virtual machine disks, media; 3-4 levels deep, hourly snapshots), and a receiver below
 * `backup/host1` that already holds the older snapshots of some subtrees, so those go
 * incremental while the rest start with a full send.
 */
import { MemoryPool } from '../endpoints/memory/index.js';
import type { DatasetFixture } from '../endpoints/memory/index.js';

export const SENDER_ROOT = 'tank';
export const RECEIVER_ROOT = 'backup/host1';

/** Payload of the first (full) snapshot and of each later one, in size units. */
type Profile = readonly [full: number, incremental: number];

const CONTAINER: Profile = [0.05, 0.01];
const HOME: Profile = [2, 0.6];
const DB: Profile = [6, 1.5];
const VM: Profile = [14, 2];
const MEDIA: Profile = [9, 1];
const WEB: Profile = [3, 0.4];

/** Dataset paths below the sender root, parents first, with their size profile. */
const TREE: readonly (readonly [string, Profile])[] = [
  ['home', CONTAINER],
  ...['alice', 'bob', 'carol', 'dave', 'erin'].map((u) => [`home/${u}`, HOME] as const),
  ['home/alice/mail', HOME],
  ['home/alice/projects', HOME],
  ['home/alice/projects/xrepl', WEB],
  ['home/alice/photos', MEDIA],
  ['home/bob/mail', HOME],
  ['home/bob/projects', HOME],
  ['home/bob/projects/website', WEB],
  ['home/carol/mail', HOME],
  ['home/carol/thesis', HOME],
  ['home/dave/mail', HOME],
  ['srv', CONTAINER],
  ['srv/www', WEB],
  ['srv/www/blog', WEB],
  ['srv/www/shop', WEB],
  ['srv/git', WEB],
  ['srv/git/mirrors', WEB],
  ['srv/db', CONTAINER],
  ['srv/db/postgres', DB],
  ['srv/db/postgres/wal', DB],
  ['srv/db/redis', DB],
  ['srv/mail', HOME],
  ['srv/mail/spool', HOME],
  ['vm', CONTAINER],
  ['vm/debian', CONTAINER],
  ['vm/debian/disk0', VM],
  ['vm/windows', CONTAINER],
  ['vm/windows/disk0', VM],
  ['vm/windows/disk1', VM],
  ['vm/router', CONTAINER],
  ['vm/router/disk0', VM],
  ['media', CONTAINER],
  ['media/photos', MEDIA],
  ['media/photos/2023', MEDIA],
  ['media/photos/2024', MEDIA],
  ['media/music', MEDIA],
  ['media/video', MEDIA],
];

/** Subtrees the receiver has in part already: their first snapshots arrived in an earlier run. */
const ALREADY_REPLICATED = ['home', 'srv', 'srv/db'];
const ALREADY_REPLICATED_TREES = ['home', 'srv/db'];

export interface DemoPools {
  sender: MemoryPool;
  receiver: MemoryPool;
  /** Dataset paths relative to the roots. */
  datasets: string[];
  /** Datasets that start incremental. */
  incremental: string[];
  snapshotsPerDataset: number;
  /** Payload bytes the run has to move (stream headers aside). */
  bytesToSend: number;
}

export interface DemoPoolOptions {
  /** Bytes of one size unit (default 1 MiB). */
  unit?: number;
  /** Snapshots per dataset (default 5). */
  snapshots?: number;
}

const HOUR = 3_600_000;
const FIRST_SNAPSHOT = Date.UTC(2024, 5, 1, 8);

/** A deterministic variation of 0.7..1.3 per dataset and snapshot, so sizes look organic. */
function jitter(path: string, i: number): number {
  let h = 2166136261;
  for (const c of `${path}@${i}`) h = Math.imul(h ^ c.charCodeAt(0), 16777619);
  return 0.7 + ((h >>> 0) % 600) / 1000;
}

function isAlreadyReplicated(path: string): boolean {
  return (
    ALREADY_REPLICATED.includes(path) ||
    ALREADY_REPLICATED_TREES.some((t) => path.startsWith(`${t}/`))
  );
}

/** Builds the two pools of the demo. */
export function demoPools(options: DemoPoolOptions = {}): DemoPools {
  const unit = options.unit ?? 1 << 20;
  const count = options.snapshots ?? 5;
  const sender = new MemoryPool({ seed: 'demo-sender' });
  const kept: DatasetFixture[] = [];
  let bytesToSend = 0;
  for (const [path, [full, incremental]] of TREE) {
    const dataset = `${SENDER_ROOT}/${path}`;
    sender.createDataset(dataset);
    const partly = isAlreadyReplicated(path);
    const snapshots = [];
    for (let i = 0; i < count; i++) {
      const hour = new Date(FIRST_SNAPSHOT + i * HOUR);
      const name = `auto-${hour.toISOString().slice(0, 13).replace(/[-T]/g, '')}00`;
      const size = Math.round((i === 0 ? full : incremental) * unit * jitter(path, i));
      snapshots.push(sender.snapshot(dataset, name, { creation: hour, size }));
      // The receiver has the first 3 of a partly replicated dataset: the rest must be sent.
      if (!partly || i >= 3) bytesToSend += size;
    }
    if (partly) {
      kept.push({
        path: `${RECEIVER_ROOT}/${path}`,
        snapshots: snapshots.slice(0, 3).map((s) => ({
          name: s.name,
          guid: s.guid,
          createTxg: s.createTxg,
          creation: s.creation.toISOString(),
        })),
      });
    }
  }
  const receiver = MemoryPool.fromFixture({ seed: 'demo-receiver', datasets: kept });
  return {
    sender,
    receiver,
    datasets: TREE.map(([path]) => path),
    incremental: TREE.map(([path]) => path).filter(isAlreadyReplicated),
    snapshotsPerDataset: count,
    bytesToSend,
  };
}

/** Datasets whose snapshot guids differ between sender and receiver (empty: in sync). */
export function guidMismatches(pools: DemoPools): string[] {
  return pools.datasets.filter((path) => {
    const sent = pools.sender.get(`${SENDER_ROOT}/${path}`)?.snapshots.map((s) => s.guid) ?? [];
    const got = pools.receiver.get(`${RECEIVER_ROOT}/${path}`)?.snapshots.map((s) => s.guid);
    return got === undefined || got.join(',') !== sent.join(',');
  });
}
