/**
 * The config file (JOBS.md "The config file"): YAML parsed with `yaml`, validated by a zod
 * schema. Unknown keys are errors (a typo must not silently disable pruning); every error
 * names its path (`jobs[1].pruning.keep_receiver[0].grid: ...`).
 */
import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { ConfigError } from '../errors/config-error.js';
import { durationMs } from './duration.js';
import { parseGrid } from './pruning/grid.js';
import { replicationSchema } from './replication-config.js';
import { patternProblem } from './selection.js';

/** Where `xrepl daemon` and friends look without `--config`. */
export const DEFAULT_CONFIG_PATH = '/etc/xrepl/xrepl.yml';

const duration = z.string().refine((s) => durationMs(s) !== undefined, {
  message: 'a positive duration with a unit, e.g. 30s, 15m, 1h30m, 14d',
});

const regex = z.string().refine(
  (s) => {
    try {
      new RegExp(s);
      return true;
    } catch {
      return false;
    }
  },
  { message: 'not a valid regular expression' },
);

const name = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'letters, digits, "_", "." and "-", not first');

const prefix = z
  .string()
  .regex(/^[A-Za-z0-9_.:-]+$/, 'a snapshot name prefix: letters, digits, "_", ".", ":" and "-"');

const filesystems = z.record(z.string(), z.boolean()).superRefine((patterns, ctx) => {
  for (const pattern of Object.keys(patterns)) {
    const problem = patternProblem(pattern);
    if (problem !== undefined) {
      ctx.addIssue({ code: 'custom', path: [pattern], message: `invalid pattern: ${problem}` });
    }
  }
  if (!Object.values(patterns).some((v) => v)) {
    ctx.addIssue({ code: 'custom', message: 'selects nothing: no pattern is true' });
  }
});

const hook = z.strictObject({
  type: z.literal('command'),
  path: z.string().min(1),
  timeout: duration.default('30s'),
  err_is_fatal: z.boolean().default(false),
});
const hooks = z.array(hook).default([]);

const snapshotting = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('periodic'), interval: duration, prefix, hooks }),
  z.strictObject({
    type: z.literal('cron'),
    cron: z.string().refine((s) => s.trim().split(/\s+/).length === 5, 'a 5-field cron expression'),
    prefix,
    hooks,
  }),
  z.strictObject({ type: z.literal('manual'), prefix, hooks }),
]);

const keepRule = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('not_replicated') }),
  z.strictObject({
    type: z.literal('last_n'),
    count: z.number().int().min(1),
    regex: regex.optional(),
  }),
  z.strictObject({ type: z.literal('regex'), regex, negate: z.boolean().default(false) }),
  z.strictObject({
    type: z.literal('grid'),
    grid: z.string().superRefine((text, ctx) => {
      try {
        parseGrid(text);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
      }
    }),
    regex,
  }),
]);
export type KeepRule = z.infer<typeof keepRule>;

const replication = replicationSchema;

const endpointUrl = z
  .string()
  .regex(/^[a-z]+:/, 'an endpoint, e.g. zfs:backup/host1 or grpc://host:port');

const senderReceiverPruning = z.strictObject({
  keep_sender: z.array(keepRule),
  keep_receiver: z.array(keepRule),
});

const pushJob = z.strictObject({
  name,
  type: z.literal('push'),
  connect: endpointUrl,
  filesystems,
  snapshotting,
  replication,
  pruning: senderReceiverPruning,
});

const pullJob = z.strictObject({
  name,
  type: z.literal('pull'),
  connect: endpointUrl,
  root_fs: z.string().min(1),
  interval: duration,
  replication,
  pruning: senderReceiverPruning,
});

const tls = z.strictObject({ cert: z.string(), key: z.string(), ca: z.string().optional() });

const sinkJob = z.strictObject({
  name,
  type: z.literal('sink'),
  listen: z.string().min(1),
  root_fs: z.string().min(1),
  tls: tls.optional(),
  /** Let clients prune their datasets (a push job's keep_receiver). */
  allow_prune: z.boolean().default(false),
  trust_stream_properties: z.boolean().default(false),
});

const sourceJob = z.strictObject({
  name,
  type: z.literal('source'),
  listen: z.string().min(1),
  filesystems,
  snapshotting: snapshotting.optional(),
  tls: tls.optional(),
});

const snapJob = z.strictObject({
  name,
  type: z.literal('snap'),
  filesystems,
  snapshotting,
  pruning: z.strictObject({ keep: z.array(keepRule) }),
});

const job = z.discriminatedUnion('type', [pushJob, pullJob, sinkJob, sourceJob, snapJob]);

export const ConfigSchema = z
  .strictObject({
    global: z
      .strictObject({
        logging: z
          .strictObject({
            level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info'),
            format: z.enum(['human', 'json']).default('human'),
          })
          .optional(),
        monitoring: z
          .strictObject({
            listen: z.string().regex(/^[^\s:]*:\d{1,5}$/, 'HOST:PORT, e.g. 127.0.0.1:9811'),
          })
          .optional(),
        control: z.strictObject({ socket: z.string().min(1) }).optional(),
      })
      .default({}),
    jobs: z.array(job).min(1, 'at least one job'),
  })
  .superRefine((config, ctx) => {
    const seen = new Set<string>();
    for (const [i, j] of config.jobs.entries()) {
      const senderOnly = (rules: readonly KeepRule[], key: string): void => {
        for (const [r, rule] of rules.entries()) {
          if (rule.type !== 'not_replicated') continue;
          ctx.addIssue({
            code: 'custom',
            path: ['jobs', i, 'pruning', key, r, 'type'],
            message: 'not_replicated keeps what the receiver lacks: a keep_sender rule only',
          });
        }
      };
      if (j.type === 'push' || j.type === 'pull')
        senderOnly(j.pruning.keep_receiver, 'keep_receiver');
      if (j.type === 'snap') senderOnly(j.pruning.keep, 'keep');
      if (seen.has(j.name)) {
        ctx.addIssue({
          code: 'custom',
          path: ['jobs', i, 'name'],
          message: `job name ${JSON.stringify(j.name)} is used twice`,
        });
      }
      seen.add(j.name);
    }
  });

export type Config = z.infer<typeof ConfigSchema>;
export type JobConfig = Config['jobs'][number];
export type PushJob = z.infer<typeof pushJob>;
export type SnapJob = z.infer<typeof snapJob>;
export type PullJob = z.infer<typeof pullJob>;
export type SinkJob = z.infer<typeof sinkJob>;
export type SourceJob = z.infer<typeof sourceJob>;
export type SnapshottingConfig = z.infer<typeof snapshotting>;

/** `jobs[1].pruning.keep_receiver[0].grid`: the path as a reader writes it. */
export function issuePath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(String(key)))
      out += `${out === '' ? '' : '.'}${String(key)}`;
    else out += `[${JSON.stringify(String(key))}]`;
  }
  return out;
}

/**
 * The validated config of the YAML `text`, or a ConfigError naming every problem by path.
 *
 * @example
 * const config = parseConfig(readFileSync('/etc/xrepl/xrepl.yml', 'utf8'), '/etc/xrepl/xrepl.yml');
 */
export function parseConfig(text: string, source = 'config'): Config {
  const doc = parseDocument(text, { uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      doc.errors.map((e) => ({ path: '', message: `YAML: ${e.message.split('\n')[0]}` })),
      source,
    );
  }
  const result = ConfigSchema.safeParse(doc.toJS());
  if (!result.success) {
    throw new ConfigError(
      result.error.issues.map((issue) => ({
        path: issuePath(issue.path),
        message: issue.message,
      })),
      source,
    );
  }
  return result.data;
}

/** Reads and parses `file`; an unreadable file is a ConfigError too. */
export function loadConfig(file: string): Config {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError([{ path: '', message: `cannot read: ${(err as Error).message}` }], file);
  }
  return parseConfig(text, file);
}

/** The job named `name`, or a ConfigError listing the names there are. */
export function jobNamed(config: Config, name: string): JobConfig {
  const found = config.jobs.find((j) => j.name === name);
  if (found === undefined) {
    const names = config.jobs.map((j) => j.name).join(', ');
    throw new ConfigError([
      { path: 'jobs', message: `no job named ${JSON.stringify(name)} (jobs: ${names})` },
    ]);
  }
  return found;
}
