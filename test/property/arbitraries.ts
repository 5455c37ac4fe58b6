/** fast-check arbitraries for driver scenarios: dataset trees, steps, failures, schedules. */
import fc from 'fast-check';
import type { Healing, Scenario } from './harness.js';
import {
  failureKey,
  type CallKind,
  type Failure,
  type FilesystemSpec,
  type SnapshotSpec,
  type TargetDate,
  type WorldSpec,
} from './world.js';

/** Components that are prefixes of one another: `pool/a` and `pool/ab` are not related (D3). */
const component = fc.constantFrom('a', 'ab', 'abc', 'b', 'ba');
const root = fc.constantFrom('pool', 'pools');

/** Dataset paths of 1 to 4 levels. */
export const datasetPath = fc
  .tuple(root, fc.array(component, { maxLength: 3 }))
  .map(([r, rest]) => [r, ...rest].join('/'));

export interface ScenarioOptions {
  minFilesystems?: number;
  maxFilesystems?: number;
  /** Fixed stepQueueConcurrency (default: 1 to 16). */
  concurrency?: number;
  failures?: readonly Failure[];
  /** Steps whose targetDate() throws or is invalid. */
  oddDates?: boolean;
  cancel?: boolean;
  reconnectFails?: boolean;
  /** D13-D15 on, with vanishing snapshots and flapping connections among the failures. */
  healing?: boolean;
}

/** Small limits and short timers, so that limits are reached and stalls happen. */
const healing: fc.Arbitrary<Healing> = fc.record(
  {
    replanLimit: fc.integer({ min: 0, max: 2 }),
    filesystemRetries: fc.integer({ min: 0, max: 2 }),
    filesystemRetryBackoffMs: fc.integer({ min: 1, max: 5 }),
    stepStallTimeoutMs: fc.integer({ min: 1, max: 40 }),
  },
  { requiredKeys: ['replanLimit', 'filesystemRetries', 'filesystemRetryBackoffMs'] },
);

/** Small numbers, so equal dates are common (D8: ties in request order). */
const date = (odd: boolean): fc.Arbitrary<TargetDate> =>
  odd
    ? fc.oneof(
        { weight: 40, arbitrary: fc.integer({ min: 0, max: 12 }) },
        { weight: 1, arbitrary: fc.constant<TargetDate>('invalid') },
        { weight: 1, arbitrary: fc.constant<TargetDate>('throws') },
      )
    : fc.integer({ min: 0, max: 12 });

const filesystem = (name: string, odd: boolean): fc.Arbitrary<FilesystemSpec> =>
  fc
    .record({
      base: fc.boolean(),
      dates: fc.array(date(odd), { maxLength: 5 }),
      later: fc.option(date(odd), { freq: 4 }),
    })
    .map(({ base, dates, later }) => ({
      name,
      base,
      snapshots: dates.map((d, i): SnapshotSpec => ({ name: `s${i + 1}`, date: d })),
      later: later === null ? null : { name: 'later', date: later },
    }));

interface FailureChoice {
  attempt: number;
  kind: CallKind;
  fs: number;
  snapshot: number;
  failure: Failure;
}

function failureMap(filesystems: FilesystemSpec[], choices: FailureChoice[]): Map<string, Failure> {
  const failures = new Map<string, Failure>();
  for (const c of choices) {
    if (c.kind === 'plan') {
      failures.set(failureKey(c.attempt, 'plan'), c.failure);
      continue;
    }
    const fs = filesystems[c.fs % Math.max(1, filesystems.length)];
    if (fs === undefined) continue;
    if (c.kind === 'planFS') {
      failures.set(failureKey(c.attempt, 'planFS', fs.name), c.failure);
      continue;
    }
    const targets = [...fs.snapshots, ...(fs.later ? [fs.later] : [])];
    const target = targets[c.snapshot % Math.max(1, targets.length)];
    if (target !== undefined)
      failures.set(failureKey(c.attempt, 'step', fs.name, target.name), c.failure);
  }
  return failures;
}

export function worldSpec(options: ScenarioOptions = {}): fc.Arbitrary<WorldSpec> {
  const odd = options.oddDates ?? true;
  // Mostly temporary failures, so that runs retry (D2, D5).
  const kinds =
    options.failures ??
    (options.healing === true
      ? (['stale', 'stale', 'flap', 'flap', 'temporary', 'permanent'] as const)
      : undefined) ??
    ([
      'temporary',
      'temporary',
      'temporary',
      'permanent',
      'thrown-string',
      'thrown-at-once',
    ] as const);
  const failureChoice: fc.Arbitrary<FailureChoice> = fc.record({
    attempt: fc.integer({ min: 0, max: 2 }),
    kind: fc.constantFrom<CallKind>('plan', 'planFS', 'planFS', 'step', 'step', 'step', 'step'),
    fs: fc.nat(),
    snapshot: fc.nat({ max: 5 }),
    failure: fc.constantFrom(...kinds),
  });
  return fc
    .uniqueArray(datasetPath, {
      minLength: options.minFilesystems ?? 0,
      maxLength: options.maxFilesystems ?? 24,
    })
    .chain((names) =>
      fc.record({
        filesystems: fc.tuple(...names.map((n) => filesystem(n, odd))),
        failures: fc.array(failureChoice, { maxLength: kinds.length === 0 ? 0 : 8 }),
        honourSignal: fc.boolean(),
        reconnectFails:
          options.reconnectFails === false
            ? fc.constant(false)
            : fc.oneof(
                { weight: 6, arbitrary: fc.constant(false) },
                { weight: 1, arbitrary: fc.constant(true) },
              ),
      }),
    )
    .map(({ filesystems, failures, honourSignal, reconnectFails }) => ({
      filesystems,
      failures: failureMap(filesystems, failures),
      honourSignal,
      reconnectFails,
    }));
}

export function scenario(options: ScenarioOptions = {}): fc.Arbitrary<Scenario> {
  return fc.record({
    world: worldSpec(options),
    concurrency:
      options.concurrency !== undefined
        ? fc.constant(options.concurrency)
        : fc.integer({ min: 1, max: 16 }),
    maxAttempts: fc.constantFrom(-1, -1, 1, 2, 3, 3, 4),
    schedule: fc.record({
      picks: fc.array(fc.nat({ max: 1 << 16 }), { maxLength: 300 }),
      seed: fc.nat(),
    }),
    cancel:
      options.cancel === false
        ? fc.constant(null)
        : fc.option(fc.record({ at: fc.nat({ max: 80 }), inside: fc.boolean() }), { freq: 3 }),
    healing: options.healing === true ? healing : fc.constant(null),
  });
}
