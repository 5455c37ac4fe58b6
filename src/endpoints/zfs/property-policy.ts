/**
 * What a receiver lets a sender decide about the datasets it creates. By default (confined):
 *
 * - Streams that carry dataset properties (`zfs send -p`, `-R`: a compound stream) are refused
 *   before any command runs. xrepl's senders never make them; a hostile one could otherwise
 *   set `mountpoint=/etc` or `setuid=on` and have the next `zfs mount -a` put its files there.
 *   So every received filesystem inherits its mountpoint from the receiver's root.
 * - Each filesystem a full receive creates gets `canmount=noauto setuid=off exec=off
 *   devices=off`: it is not mounted at boot, and when mounted, a sender's setuid binaries and
 *   device nodes are inert. With `zfs recv -o` (OpenZFS) they are set by the receive itself;
 *   where recv has no `-o` (zfs-fuse) right after it, before anything mounts the filesystem
 *   (it is received with `-u`, and its properties come from no stream). Incremental receives
 *   change none of them, so an administrator's later `zfs set` stays.
 *
 * `trustStreamProperties` (the CLI's `--trust-stream-properties`) turns both off, for a trusted
 * setup that wants `zfs send -p` streams kept as they are.
 */
import type { ZfsCapabilities } from './capabilities.js';
import { streamKind } from './stream-header.js';

/** The properties every newly received filesystem gets unless stream properties are trusted. */
export const CONFINED_PROPERTIES: Readonly<Record<string, string>> = Object.freeze({
  canmount: 'noauto',
  setuid: 'off',
  exec: 'off',
  devices: 'off',
});

/** A receive refused because of what its stream would do to the receiving host. */
export class StreamRefusedError extends Error {
  override readonly name = 'StreamRefusedError';
}

/**
 * Throws StreamRefusedError when the stream starting with `header` carries dataset
 * properties. Other malformed headers are left to zfs recv, which refuses them in its words.
 */
export function assertNoStreamProperties(header: Buffer, target: string): void {
  if (streamKind(header) !== 'compound') return;
  throw new StreamRefusedError(
    `refusing the stream for ${target}: it carries dataset properties (made by zfs send -p or ` +
      '-R), which could mount it outside the receiver or enable setuid; send without -p, or ' +
      'start the receiver with --trust-stream-properties if the sender is trusted',
  );
}

/** The `zfs set` commands applying `properties` after the receive (pools without recv -o). */
export function setPropertyCommands(
  caps: ZfsCapabilities,
  properties: Record<string, string>,
  dataset: string,
): string[][] {
  if (caps.recvProperties) return [];
  // One property a command: zfs-fuse's set takes exactly one.
  return Object.entries(properties).map(([name, value]) => ['set', `${name}=${value}`, dataset]);
}
