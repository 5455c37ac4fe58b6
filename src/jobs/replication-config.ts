/**
 * A job's `replication` section (JOBS.md "The config file"): the driver's settings, `zfs send`
 * and `zfs recv` options and a bandwidth limit, the same ones `xrepl replicate` takes as flags
 * and carried to the same code: `ZfsSendOptions` (send-options.ts) for the sender, `recvSet`
 * and `recvExclude` for the receiver, `parseBandwidth` for the token bucket.
 */
import { z } from 'zod';
import type { DriverConfig } from '../config/driver-config.js';
import type { ZfsEndpointOptions } from '../endpoints/zfs/context.js';
import { jobNameProblem } from '../endpoints/zfs/holds.js';
import type { ZfsSendOptions } from '../endpoints/zfs/send-options.js';
import { parseBandwidth } from '../transport/bandwidth.js';
import { durationMs } from './duration.js';

const duration = z.string().refine((s) => durationMs(s) !== undefined, {
  message: 'a positive duration with a unit, e.g. 30s, 15m, 1h30m, 14d',
});

const sendOptions = z
  .strictObject({
    raw: z.boolean().optional(),
    send_decrypted: z.boolean().optional(),
    compressed: z.boolean().optional(),
    large_blocks: z.boolean().optional(),
    embedded_data: z.boolean().optional(),
    properties: z.boolean().optional(),
    backup_properties: z.boolean().optional(),
  })
  .refine((s) => !(s.raw === true && s.send_decrypted === true), {
    message: 'raw and send_decrypted contradict each other: choose one',
  });

const property = z.string().regex(/^[a-z][a-z0-9_:.-]*$/, 'a zfs property name, e.g. mountpoint');

const recvOptions = z.strictObject({
  /** `zfs recv -o NAME=VALUE` for every receive. */
  set: z.record(property, z.string()).optional(),
  /** `zfs recv -x NAME` for every receive. */
  exclude: z.array(property).optional(),
  trust_stream_properties: z.boolean().default(false),
});

export const replicationSchema = z
  .strictObject({
    concurrency: z.number().int().min(1).default(1),
    initial: z.enum(['most-recent', 'all', 'fail']).default('most-recent'),
    max_attempts: z.number().int().min(1).default(3),
    reconnect_timeout: duration.default('10m'),
    replan_limit: z.number().int().min(0).default(3),
    fs_retries: z.number().int().min(0).default(2),
    stall_timeout: duration.default('10m'),
    on_stale_resume_token: z.enum(['fail', 'clear']).default('fail'),
    bandwidth: z
      .string()
      .superRefine((text, ctx) => {
        try {
          parseBandwidth(text);
        } catch (err) {
          ctx.addIssue({ code: 'custom', message: (err as Error).message });
        }
      })
      .optional(),
    send: sendOptions.optional(),
    recv: recvOptions.optional(),
  })
  .prefault({});

export type ReplicationConfig = z.infer<typeof replicationSchema>;

/** What a job's sender and receiver are opened with (zfs: endpoints use all of it). */
export interface JobEndpointOptions {
  sender: Pick<ZfsEndpointOptions, 'job' | 'send'>;
  receiver: Pick<ZfsEndpointOptions, 'job' | 'recvSet' | 'recvExclude' | 'trustStreamProperties'>;
}

/** The driver's config of a job's runs. */
export function driverConfigOf(replication: ReplicationConfig): DriverConfig {
  return {
    stepQueueConcurrency: replication.concurrency,
    maxAttempts: replication.max_attempts,
    reconnectHardFailTimeoutMs: durationMs(replication.reconnect_timeout) ?? 600_000,
    replanLimit: replication.replan_limit,
    filesystemRetries: replication.fs_retries,
    stepStallTimeoutMs: durationMs(replication.stall_timeout) ?? 600_000,
  };
}

/**
 * The endpoint options of a job: the job's name names its holds and cursor bookmarks (so that
 * jobs sharing a pool keep apart), and the send and recv sections become the zfs options.
 */
export function endpointOptionsOf(
  jobName: string,
  replication: ReplicationConfig,
): JobEndpointOptions {
  const job = jobNameProblem(jobName) === undefined ? { job: jobName } : {};
  const s = replication.send ?? {};
  const send: ZfsSendOptions = {
    ...(s.raw !== undefined && { raw: s.raw }),
    ...(s.send_decrypted !== undefined && { sendDecrypted: s.send_decrypted }),
    ...(s.compressed !== undefined && { compressed: s.compressed }),
    ...(s.large_blocks !== undefined && { largeBlocks: s.large_blocks }),
    ...(s.embedded_data !== undefined && { embeddedData: s.embedded_data }),
    ...(s.properties !== undefined && { properties: s.properties }),
    ...(s.backup_properties !== undefined && { backupProperties: s.backup_properties }),
  };
  const r = replication.recv;
  return {
    sender: { ...job, ...(Object.keys(send).length > 0 && { send }) },
    receiver: {
      ...job,
      ...(r?.set !== undefined && { recvSet: r.set }),
      ...(r?.exclude !== undefined && { recvExclude: r.exclude }),
      ...(r?.trust_stream_properties === true && { trustStreamProperties: true }),
    },
  };
}

/** The rate limit of a job's send streams in bytes a second, if any. */
export function bandwidthOf(replication: ReplicationConfig): number | undefined {
  return replication.bandwidth === undefined ? undefined : parseBandwidth(replication.bandwidth);
}

/** Config keys a non-zfs side cannot use (its server decides), for a clear error. */
export function zfsOnlyKeys(replication: ReplicationConfig, role: 'sender' | 'receiver'): string[] {
  if (role === 'sender') return replication.send === undefined ? [] : ['replication.send'];
  const r = replication.recv;
  if (r === undefined) return [];
  return [
    ...(r.set !== undefined || r.exclude !== undefined ? ['replication.recv'] : []),
    ...(r.trust_stream_properties ? ['replication.recv.trust_stream_properties'] : []),
  ];
}
