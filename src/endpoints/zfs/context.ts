/**
 * What the zfs sender and receiver share: the root, the exec seam, the capability cache, and
 * the Endpoint listing methods.
 */
import type { EndpointFilesystem, FilesystemVersion } from '../types.js';
import { assertFilesystemPath, assertRelativePath, joinRoot } from '../paths.js';
import { capabilityCache, poolOf, type ZfsCapabilities } from './capabilities.js';
import { isDatasetMissing } from './errors.js';
import { DEFAULT_JOB, jobNameProblem } from './holds.js';
import type { ZfsSendOptions } from './send-options.js';
import { createZfsExec, type ZfsExec } from './exec.js';
import { filesystemsAt, listArgs, parseListing, versionsOf, type DatasetRecord } from './list.js';

/** Options of `zfsSender` and `zfsReceiver`. */
export interface ZfsEndpointOptions {
  /** The root dataset, e.g. `tank/data`; endpoint paths are relative to it. */
  root: string;
  /** The zfs binary (default `zfs` on PATH). */
  zfsPath?: string;
  /** The zpool binary (default `zpool` on PATH); used to probe capabilities. */
  zpoolPath?: string;
  /** Replaces process spawning (tests); zfsPath and zpoolPath are then unused. */
  exec?: ZfsExec;
  /** Known capabilities: skips the probe. */
  capabilities?: ZfsCapabilities;
  /**
   * Receiver only: accept streams that carry dataset properties (`zfs send -p`, `-R`) and keep
   * them, and leave the filesystems it creates as zfs makes them. Default false: such streams
   * are refused and new filesystems get `canmount=noauto setuid=off exec=off devices=off`
   * (property-policy.ts). Only for senders trusted as much as root on the receiving host.
   */
  trustStreamProperties?: boolean;
  /**
   * Names this replication's holds and cursor bookmarks (`xrepl_step_<job>`,
   * `xrepl_cursor_<job>_<guid>`, `xrepl_last_received_<job>`), so that jobs sharing a pool keep
   * apart. Default `default`.
   */
  job?: string;
  /** Sender only: `zfs send` options (send-options.ts); defaults keep data safe and small. */
  send?: ZfsSendOptions;
  /**
   * Receiver only: `zfs recv -o name=value` for every receive (OpenZFS; zfs-fuse has no -o).
   * They win over the confinement of new filesystems.
   */
  recvSet?: Readonly<Record<string, string>>;
  /** Receiver only: `zfs recv -x name` for every receive (OpenZFS; zfs-fuse has no -x). */
  recvExclude?: readonly string[];
}

/** The shared state of one endpoint. */
export interface ZfsContext {
  readonly root: string;
  /** The job name of holds and cursor bookmarks. */
  readonly job: string;
  readonly exec: ZfsExec;
  capabilities(signal: AbortSignal): Promise<ZfsCapabilities>;
  /** Records of `dataset` and below (`depth` 1: with its versions only); undefined if missing. */
  list(dataset: string, signal: AbortSignal, depth?: number): Promise<DatasetRecord[] | undefined>;
  listFilesystems(signal: AbortSignal, includePlaceholders: boolean): Promise<EndpointFilesystem[]>;
  listFilesystemVersions(fs: string, signal: AbortSignal): Promise<FilesystemVersion[]>;
  waitForConnectivity(signal: AbortSignal): Promise<void>;
}

/** Validates the options and builds the shared state (nothing runs until a method is called). */
export function zfsContext(options: ZfsEndpointOptions): ZfsContext {
  const root = options.root;
  assertRelativePath(root, 'root dataset');
  const job = options.job ?? DEFAULT_JOB;
  const jobProblem = jobNameProblem(job);
  if (jobProblem !== undefined)
    throw new Error(`invalid job name ${JSON.stringify(job)}: ${jobProblem}`);
  const exec =
    options.exec ?? createZfsExec({ zfsPath: options.zfsPath, zpoolPath: options.zpoolPath });
  const capabilities = capabilityCache(exec, poolOf(root), options.capabilities);

  const list: ZfsContext['list'] = async (dataset, signal, depth) => {
    const caps = await capabilities(signal);
    const args = listArgs(dataset, { depth, resumeTokens: caps.resumeTokens, holds: caps.holds });
    try {
      return parseListing((await exec.run('zfs', args, signal)).stdout);
    } catch (err) {
      if (isDatasetMissing(err)) return undefined;
      throw err;
    }
  };

  return {
    root,
    job,
    exec,
    capabilities,
    list,
    async listFilesystems(signal, includePlaceholders) {
      const records = await list(root, signal);
      if (records === undefined) {
        throw new Error(`root dataset ${root} does not exist; create it (zfs create -p ${root})`);
      }
      return filesystemsAt(root, records, { includePlaceholders });
    },
    async listFilesystemVersions(fs, signal) {
      assertFilesystemPath(fs);
      const full = joinRoot(root, fs);
      const records = await list(full, signal, 1);
      if (records === undefined) {
        throw new Error(`filesystem ${JSON.stringify(fs)} does not exist (zfs dataset ${full})`);
      }
      return versionsOf(full, records);
    },
    async waitForConnectivity(signal) {
      // Local zfs is reachable when the root can be listed: daemon up, pool imported.
      await exec.run('zfs', ['list', '-H', '-o', 'name', root], signal);
    },
  };
}
