/** What the pools hold, read with `zfs` for the jobs' real-ZFS tests. */
import { zfs } from '../helpers/zfs.js';

/** Snapshot names of `dataset` itself, oldest first. */
export function snapshotsOf(dataset: string): string[] {
  return zfs('get', '-Hp', '-o', 'name', '-d', '1', 'createtxg', dataset)
    .split('\n')
    .filter((l) => l.startsWith(`${dataset}@`))
    .map((l) => l.slice(dataset.length + 1));
}

/** `root` and every filesystem below it, sorted. */
export function datasetsBelow(root: string): string[] {
  return zfs('list', '-H', '-o', 'name', '-r', root).split('\n').filter(Boolean).sort();
}
