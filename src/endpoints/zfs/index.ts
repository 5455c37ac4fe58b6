/**
 * The zfs CLI backend (`zfs:<root>`, REPLICATION.md "Backends"): a Sender and a Receiver over
 * the local `zfs` command, working with OpenZFS and with zfs-fuse.
 *
 * @example
 * import { zfsReceiver, zfsSender } from './endpoints/zfs/index.js';
 * const sender = zfsSender({ root: 'tank/data' });
 * const receiver = zfsReceiver({ root: 'backup/host1', zfsPath: '/usr/sbin/zfs' });
 */
export { zfsSender } from './sender.js';
export { zfsReceiver } from './receiver.js';
export type { ZfsEndpointOptions } from './context.js';
export { createZfsExec } from './exec.js';
export type { ZfsExec, ZfsExecOptions, ZfsProcess, ZfsProgram, ZfsRunResult } from './exec.js';
export { ZfsError, isDatasetMissing } from './errors.js';
export type { ZfsExit } from './errors.js';
export { MINIMAL_CAPABILITIES, probeCapabilities } from './capabilities.js';
export type { ZfsCapabilities } from './capabilities.js';
export { PLACEHOLDER_PROPERTY } from './list.js';
