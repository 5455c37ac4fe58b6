/**
 * Endpoints: one side of a replication (REPLICATION.md "Endpoints"). The same interface is
 * served locally (simulated pool, zfs CLI) or over gRPC. Paths are relative to the endpoint's
 * root; guids and txgs are uint64 kept as decimal strings, never JS numbers.
 */
import type { Readable } from 'node:stream';

export interface FilesystemVersion {
  type: 'snapshot' | 'bookmark';
  /** The part after `@` or `#`. */
  name: string;
  /** ZFS guid, uint64 as a decimal string. */
  guid: string;
  /** uint64 as a decimal string; the ordering key. */
  createTxg: string;
  creation: Date;
}

/**
 * An endpoint's own reading of its resume token (each backend has its own format): the
 * interrupted send, by guid. The planner looks these guids up on the sender.
 */
export interface ResumeTokenInfo {
  /** The incremental source's guid; absent for a full send. */
  fromGuid?: string;
  toGuid: string;
  /** The sender's name of the target, for messages (e.g. `tank/data@s2`). */
  toName?: string;
  /** What discards the partial receive on this endpoint, for messages (`zfs recv -A backup/a`). */
  clearCommand?: string;
}

export interface EndpointFilesystem {
  path: string;
  isPlaceholder: boolean;
  /** The token of an interrupted resumable receive (receivers only). */
  resumeToken?: string;
  /** The receiver's reading of `resumeToken`; absent when it cannot read its own token. */
  resume?: ResumeTokenInfo;
}

export interface Endpoint {
  /** No placeholders on the sender. */
  listFilesystems(signal: AbortSignal): Promise<EndpointFilesystem[]>;
  /** Versions of `fs`; rejects when the filesystem does not exist. */
  listFilesystemVersions(fs: string, signal: AbortSignal): Promise<FilesystemVersion[]>;
  waitForConnectivity(signal: AbortSignal): Promise<void>;
}

export interface SendReq {
  filesystem: string;
  /** Undefined for a full send. */
  from?: FilesystemVersion;
  to: FilesystemVersion;
  resumeToken?: string;
}

export interface ReceiveReq {
  filesystem: string;
  to: FilesystemVersion;
  clearResumeToken: boolean;
}

export interface Sender extends Endpoint {
  /** 0 = unknown. */
  sendDry(req: SendReq, signal: AbortSignal): Promise<{ expectedSize: number }>;
  send(req: SendReq, signal: AbortSignal): Promise<{ usedResumeToken: boolean; stream: Readable }>;
  sendCompleted(req: SendReq, signal: AbortSignal): Promise<void>;
}

export interface Receiver extends Endpoint {
  receive(req: ReceiveReq, stream: Readable, signal: AbortSignal): Promise<void>;
}

/** Snapshots of one filesystem that the active side's pruning plan lets go (JOBS.md "Pruning"). */
export interface DestroySnapshotsReq {
  filesystem: string;
  /** Each by name and guid: a snapshot since replaced under the same name stays. */
  snapshots: { name: string; guid: string }[];
  /** Only say what would happen. */
  dryRun: boolean;
}

export interface DestroySnapshotsResult {
  /** Names destroyed (or, on a dry run, that would be). */
  destroyed: string[];
  /** Names the receiver refused to destroy, each with why. */
  kept: { name: string; reason: string }[];
}

/**
 * A receiver that lets the active side prune it (zrepl's way: the client lists and destroys
 * the receiver's snapshots through the endpoint, confined to its root). Whatever it is asked,
 * it never destroys a held snapshot or the filesystem's newest one (the base of the next
 * incremental).
 */
export interface PrunableReceiver extends Receiver {
  destroySnapshots(req: DestroySnapshotsReq, signal: AbortSignal): Promise<DestroySnapshotsResult>;
}

/** Whether `receiver` lets the active side destroy its snapshots. */
export function isPrunable(receiver: Receiver): receiver is PrunableReceiver {
  return typeof (receiver as Partial<PrunableReceiver>).destroySnapshots === 'function';
}
