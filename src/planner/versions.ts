/** Ordering and naming of filesystem versions (createTxg is a uint64 decimal string). */
import type { FilesystemVersion } from '../endpoints/types.js';

/** By createTxg (as BigInt), bookmarks before snapshots at equal txg. */
export function compareVersions(a: FilesystemVersion, b: FilesystemVersion): number {
  const ta = BigInt(a.createTxg);
  const tb = BigInt(b.createTxg);
  if (ta !== tb) return ta < tb ? -1 : 1;
  if (a.type === b.type) return 0;
  return a.type === 'bookmark' ? -1 : 1;
}

/** A sorted copy (see `compareVersions`). */
export function sortVersions(versions: readonly FilesystemVersion[]): FilesystemVersion[] {
  return [...versions].sort(compareVersions);
}

/** `@name` for a snapshot, `#name` for a bookmark: how errors name versions. */
export function versionLabel(v: FilesystemVersion): string {
  return `${v.type === 'bookmark' ? '#' : '@'}${v.name}`;
}

/** `@a, @b, @c` (at most `max`, then "and N more"). */
export function versionList(versions: readonly FilesystemVersion[], max = 5): string {
  const shown = versions.slice(0, max).map(versionLabel).join(', ');
  return versions.length > max ? `${shown} and ${versions.length - max} more` : shown;
}
