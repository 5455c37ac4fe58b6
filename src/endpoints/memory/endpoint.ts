/**
 * What the memory sender and receiver share: a pool, a root (paths are relative to it), the
 * fault gate every call passes, listing, and waiting for connectivity.
 */
import type { Endpoint, EndpointFilesystem, FilesystemVersion } from '../types.js';
import { assertFilesystemPath, assertRelativePath, joinRoot, relativeTo } from '../paths.js';
import { Faults } from './faults.js';
import type { DatasetRecord, MemoryPool } from './pool.js';
import { toVersion } from './pool.js';
import { encodeResumeToken } from './resume-token.js';

/** Options common to memory endpoints. */
export interface MemoryEndpointOptions {
  /** Faults to apply (default: a fresh `Faults`, reachable as `endpoint.faults`). */
  faults?: Faults;
}

export abstract class MemoryEndpoint implements Endpoint {
  /** Fault injection of this endpoint; settable while it runs. */
  readonly faults: Faults;

  /** `root` undefined: the whole pool, paths are full dataset names. */
  protected constructor(
    readonly pool: MemoryPool,
    readonly root: string | undefined,
    options: MemoryEndpointOptions,
  ) {
    if (root !== undefined) assertRelativePath(root, 'root dataset');
    this.faults = options.faults ?? new Faults();
  }

  /**
   * The root (as `""`, when it exists) and the datasets below it, parents before children. With
   * no root (the whole pool) paths are full dataset names.
   */
  async listFilesystems(signal: AbortSignal): Promise<EndpointFilesystem[]> {
    await this.faults.enter('listFilesystems', signal);
    const result: EndpointFilesystem[] = [];
    for (const full of this.pool.paths()) {
      const path = this.root === undefined ? full : relativeTo(this.root, full);
      if (path === undefined) continue;
      const ds = this.pool.record(full) as DatasetRecord;
      const fs: EndpointFilesystem = { path, isPlaceholder: ds.placeholder };
      if (ds.partial) {
        const { fromGuid, toGuid, toName, bytes } = ds.partial;
        fs.resumeToken = encodeResumeToken({
          fs: path,
          ...(fromGuid !== undefined && { fromGuid }),
          toGuid,
          toName,
          bytes,
        });
        // The simulated pool reads its own tokens: this is what the planner looks up.
        fs.resume = { ...(fromGuid !== undefined && { fromGuid }), toGuid, toName };
      }
      result.push(fs);
    }
    return result;
  }

  /** Snapshots and bookmarks of `fs`, by createTxg; rejects when `fs` does not exist. */
  async listFilesystemVersions(fs: string, signal: AbortSignal): Promise<FilesystemVersion[]> {
    const full = this.fullPath(fs);
    await this.faults.enter('listFilesystemVersions', signal);
    const ds = this.dataset(full);
    return [
      ...ds.bookmarks.map((b) => toVersion('bookmark', b)),
      ...ds.snapshots.map((s) => toVersion('snapshot', s)),
    ].sort((a, b) => {
      const d = BigInt(a.createTxg) - BigInt(b.createTxg);
      return d < 0n ? -1 : d > 0n ? 1 : a.type === b.type ? 0 : a.type === 'bookmark' ? -1 : 1;
    });
  }

  /** Resolves once the endpoint is not dropped (after its latency); abortable. */
  async waitForConnectivity(signal: AbortSignal): Promise<void> {
    await this.faults.enter('waitForConnectivity', signal, 'wait');
  }

  /** The pool path of the root-relative `fs`; throws on hostile paths before anything runs. */
  protected fullPath(fs: string): string {
    if (this.root === undefined) {
      assertRelativePath(fs);
      return fs;
    }
    assertFilesystemPath(fs);
    return joinRoot(this.root, fs);
  }

  protected dataset(full: string): DatasetRecord {
    const ds = this.pool.record(full);
    if (!ds) throw new Error(`dataset ${full} does not exist`);
    return ds;
  }
}
