/**
 * The visualizer for a daemon: the daemon chart's inspection (the daemon, one job actor per
 * job, and each job's run, an actor system of its own, under its job) folded into the model
 * the server and the page keep; the jobs' status (`@xrepl.daemon`) and each job's run report.
 * The runtime runs on a simulated host with a clock that moves only when the test says so;
 * frames are flushed by hand.
 */
import { MemoryPool } from '../../src/endpoints/memory/index.js';
import { parseConfig } from '../../src/jobs/config.js';
import { JobRuntime } from '../../src/jobs/runtime.js';
import type { Report } from '../../src/report/schema.js';
import { Coalescer } from '../../visualizer/server/coalescer.js';
import {
  DaemonFeed,
  DaemonJobsSchema,
  daemonJobJson,
  type DaemonJobSource,
} from '../../visualizer/server/daemon-feed.js';
import { parseRecording } from '../../visualizer/server/recording.js';
import { ReportFeed } from '../../visualizer/server/report-feed.js';
import { daemonHtml, jobCardHtml } from '../../visualizer/web/daemon-panel.js';
import {
  applyFrame,
  emptyModel,
  jobNameOf,
  modelToFrame,
  type ModelState,
} from '../../visualizer/web/model.js';
import type { DaemonMessage, Frame, Message } from '../../visualizer/web/protocol.js';
import { checkFrames } from '../../visualizer/web/source.js';
import { treeRows } from '../../visualizer/web/tree-rows.js';
import { until } from '../helpers/deferred.js';
import { fakeTimers, memoryDeps } from '../jobs/fakes.js';

const CONFIG = `
jobs:
  - name: home
    type: push
    connect: zfs:backup/host
    filesystems: { "tank/home<": true }
    snapshotting: { type: periodic, interval: 1h, prefix: xrepl_ }
    pruning:
      keep_sender: [ { type: not_replicated }, { type: last_n, count: 1 } ]
      keep_receiver: [ { type: last_n, count: 2 } ]
  - name: local
    type: snap
    filesystems: { "tank/other": true }
    snapshotting: { type: manual, prefix: m_ }
    pruning: { keep: [ { type: last_n, count: 1 } ] }
`;

/** A daemon on a simulated host, inspected as `xrepl daemon --visualize` does. */
function watchedDaemon() {
  const clock = fakeTimers();
  const pool = new MemoryPool({ seed: 'host', now: clock.now });
  for (const d of ['tank', 'tank/home', 'tank/home/a', 'tank/other', 'backup', 'backup/host'])
    pool.createDataset(d);
  const model = emptyModel();
  const frames: Frame[] = [];
  const reports = new ReportFeed({ requestFlush: () => {}, intervalMs: 3_600_000 });
  // A clock that stands still: the status is never paced, every flush may carry it.
  const daemon = new DaemonFeed({ requestFlush: () => {}, intervalMs: 3_600_000, now: () => 0 });
  const coalescer = new Coalescer({
    intervalMs: 3_600_000, // frames are flushed by hand
    extras: () => [...daemon.messages(), ...reports.messages()],
    onFrame: (f) => {
      frames.push(f);
      applyFrame(model, f);
    },
  });
  const runtime = new JobRuntime({
    config: parseConfig(CONFIG),
    deps: memoryDeps(pool, clock.now),
    timers: clock.timers,
    inspect: coalescer.inspect,
    inspectRun: (job) => coalescer.inspectUnder(job),
    onRun: (r, job) => reports.attach(r, job),
  });
  daemon.attach(runtime);
  runtime.start();
  const status = (name: string) => runtime.status().jobs.find((j) => j.name === name)!;
  return {
    clock,
    model,
    frames,
    runtime,
    coalescer,
    /** Waits until `name` has run `cycles` cycles and is idle again, then flushes a frame. */
    async cycled(name: string, cycles: number) {
      await until(() => status(name).cycles === cycles && status(name).state === 'idle', 2000);
      coalescer.flush();
    },
    async close() {
      await runtime.stop();
      reports.stop();
      daemon.stop();
      coalescer.close();
    },
  };
}

type Watched = ReturnType<typeof watchedDaemon>;

const rows = (model: ModelState) =>
  treeRows(model, { text: '', state: 'all' }, new Set()).rows.map(
    (r) => `${'  '.repeat(r.depth)}${r.kind} ${r.label} ${r.state}`,
  );

const runsOf = (model: ModelState) => [...model.actors.values()].filter((a) => a.machine === 'run');

describe('the daemon in the visualizer', () => {
  let d: Watched;
  beforeEach(() => {
    d = watchedDaemon();
  });
  afterEach(() => d.close());

  test('the tree shows the daemon, one row a job, and under a job its run -> attempt -> filesystems', async () => {
    d.clock.advance(0); // the periodic job's first tick
    await d.cycled('home', 1);
    expect(rows(d.model)).toEqual([
      'daemon daemon running',
      '  job home idle',
      '    run run done',
      '      attempt attempt 1 done',
      '        fs home done',
      '        fs home/a done',
      '  job local idle',
    ]);
    const [run] = runsOf(d.model);
    expect(jobNameOf(d.model, run)).toBe('home');
  });

  test("a job row has the job's type and next tick; the filesystems read their job's report", async () => {
    d.clock.advance(0);
    await d.cycled('home', 1);
    const all = treeRows(d.model, { text: '', state: 'all' }, new Set()).rows;
    const home = all.find((r) => r.kind === 'job' && r.label === 'home')!;
    const local = all.find((r) => r.kind === 'job' && r.label === 'local')!;
    expect(home.job).toEqual({ type: 'push', nextTick: '2026-12-03T11:00:00.000Z' });
    expect(local.job).toEqual({ type: 'snap', nextTick: null }); // manual: no schedule
    const fs = all.find((r) => r.kind === 'fs' && r.label === 'home/a')!;
    expect(fs.step).toEqual({ current: 1, total: 1 });
    expect(fs.bytes?.done).toBeGreaterThan(0);
  });

  test("a job's new run replaces its last one, with all its actors", async () => {
    d.clock.advance(0);
    await d.cycled('home', 1);
    const [first] = runsOf(d.model);
    const before = d.model.actors.size;
    d.clock.advance(3_600_000);
    await d.cycled('home', 2);
    const runs = runsOf(d.model);
    expect(runs).toHaveLength(1);
    expect(runs[0]!.sessionId).not.toBe(first!.sessionId);
    // Nothing of the first run stays: the same actors as after one cycle.
    expect(d.model.actors.size).toBe(before);
    const parents = new Set([...d.model.actors.values()].map((a) => a.parentId));
    expect(parents.has(first!.sessionId)).toBe(false);
  });

  test('the jobs go out as @xrepl.daemon, checked, only when they changed; the run report with its job', async () => {
    d.clock.advance(0);
    await d.cycled('home', 1);
    const daemonMessages = d.frames.flatMap((f) =>
      f.messages.filter((m): m is DaemonMessage => m.type === '@xrepl.daemon'),
    );
    expect(daemonMessages.length).toBeGreaterThan(0);
    for (const m of daemonMessages) expect(() => DaemonJobsSchema.parse(m.jobs)).not.toThrow();
    const home = d.model.daemon?.find((j) => j.name === 'home');
    expect(home).toMatchObject({
      type: 'push',
      state: 'idle',
      cycles: 1,
      nextTick: '2026-12-03T11:00:00.000Z',
      lastError: null,
      lastSnapshot: { name: 'xrepl_20261203T100000Z', datasets: 2 },
      run: { state: 'done', attempts: 1, filesystems: 2, done: 2, failed: 0 },
      lastPrune: { sender: { datasets: 2, destroyed: 0 }, receiver: { datasets: 2 } },
    });
    expect(d.model.jobReports.get('home')?.report.state).toBe('done');
    expect(d.model.report).toBeNull(); // no lone run
    // Nothing changed: the next frame carries no daemon message.
    d.coalescer.requestFlush();
    const next = d.coalescer.flush();
    expect(next?.messages.some((m) => m.type === '@xrepl.daemon') ?? false).toBe(false);
  });

  test('a page that joins late gets the daemon, its jobs, the run and its report in one frame', async () => {
    d.clock.advance(0);
    await d.cycled('home', 1);
    const late = emptyModel();
    applyFrame(late, modelToFrame(d.model, d.model.seq, d.model.time));
    expect(rows(late)).toEqual(rows(d.model));
    expect(late.daemon).toEqual(d.model.daemon);
    expect(late.jobReports).toEqual(d.model.jobReports);
  });
});

const jobSource = (over: Partial<DaemonJobSource> = {}): DaemonJobSource => ({
  name: 'home',
  type: 'push',
  state: 'idle',
  cycles: 3,
  nextTick: new Date('2026-12-03T11:00:00Z'),
  lastError: null,
  lastSnapshot: null,
  run: null,
  lastPrune: { sender: null, receiver: null },
  serving: null,
  ...over,
});

describe('the daemon feed', () => {
  test('a status the schema refuses is not sent, and its error is kept', () => {
    let state = 'dreaming';
    const feed = new DaemonFeed({ requestFlush: () => {}, intervalMs: 3_600_000, now: () => 0 });
    feed.attach({ status: () => ({ jobs: [jobSource({ state })] }) });
    try {
      expect(feed.messages()).toEqual([]);
      expect(feed.stats.error).toMatch(/state/);
      state = 'replicating';
      expect(feed.messages()).toMatchObject([
        { type: '@xrepl.daemon', jobs: [{ name: 'home', state: 'replicating' }] },
      ]);
    } finally {
      feed.stop();
    }
  });

  test('a status that took 100 ms to build is not asked for again before 900 ms', () => {
    let clock = 0;
    let calls = 0;
    const feed = new DaemonFeed({
      requestFlush: () => {},
      intervalMs: 3_600_000,
      now: () => clock,
    });
    feed.attach({
      status: () => {
        calls++;
        clock += 100;
        return { jobs: [jobSource({ cycles: calls })] };
      },
    });
    try {
      expect(feed.messages()).toHaveLength(1);
      clock = 500;
      expect(feed.messages()).toEqual([]);
      expect(calls).toBe(1);
      clock = 1000;
      expect(feed.messages()).toMatchObject([{ jobs: [{ cycles: 2 }] }]);
    } finally {
      feed.stop();
    }
  });

  test('a recording with a bad daemon status is refused with its line', () => {
    const bad = { type: '@xrepl.daemon', createdAt: '0', jobs: [{ name: 'home' }] };
    const header = { type: '@xrepl.frame', seq: 0, time: 0, droppedEvents: 0 };
    expect(() =>
      parseRecording(`${JSON.stringify(header)}\n${JSON.stringify(bad)}\n`, 'daemon.jsonl'),
    ).toThrow(/^daemon\.jsonl:2: invalid daemon status/);
  });

  test('the page drops a daemon message without the shape of jobs, and says so', () => {
    const good: Message = {
      type: '@xrepl.daemon',
      createdAt: '0',
      jobs: [daemonJobJson(jobSource())],
    };
    const bad = { type: '@xrepl.daemon', createdAt: '0', jobs: [{ name: 'x' }] } as Message;
    const problems: string[] = [];
    const [frame] = checkFrames(
      [{ seq: 4, time: 0, droppedEvents: 0, messages: [good, bad] }],
      (p) => problems.push(p),
    );
    expect(frame?.messages).toEqual([good]);
    expect(problems).toEqual(['frame 4: daemon status dropped: job 0 has no type']);
  });
});

describe('reports of several jobs', () => {
  const report = (state: Report['state'], n: number): Report => ({
    state,
    startAt: new Date(n),
    finishAt: state === 'attempting' ? null : new Date(n + 1),
    waitReconnectSince: null,
    waitReconnectUntil: null,
    waitReconnectError: null,
    attempts: [],
  });

  test("each job's run report goes out with its job; a job's new run replaces its last", () => {
    const feed = new ReportFeed({ requestFlush: () => {}, intervalMs: 3_600_000 });
    try {
      feed.attach({ report: () => report('attempting', 1) }, 'home');
      feed.attach({ report: () => report('attempting', 2) }, 'other');
      expect(feed.messages()).toMatchObject([
        { type: '@xrepl.report', job: 'home', report: { startAt: new Date(1).toISOString() } },
        { type: '@xrepl.report', job: 'other', report: { startAt: new Date(2).toISOString() } },
      ]);
      feed.attach({ report: () => report('attempting', 3) }, 'home');
      expect(feed.messages()).toMatchObject([
        { job: 'home', report: { startAt: new Date(3).toISOString() } },
      ]);
    } finally {
      feed.stop();
    }
  });
});

describe('the daemon panel', () => {
  const now = Date.parse('2026-12-03T10:59:00Z');

  test('one row a job: its state, next tick and last result; an error says where it failed', () => {
    const html = daemonHtml(
      [
        daemonJobJson(jobSource()),
        daemonJobJson(
          jobSource({
            name: 'offsite',
            state: 'replicating-error',
            nextTick: null,
            lastError: { during: 'replicating', err: 'receiver unreachable', time: new Date(now) },
          }),
        ),
      ],
      now,
    );
    expect(html).toContain('<tr data-job="home">');
    expect(html).toContain('in 1m 00s');
    expect(html).toContain('<span class="chip s-replicating-error">replicating-error</span>');
    expect(html).toContain('replicating failed: receiver unreachable');
    expect(html).toContain('no schedule');
  });

  test("a job's card has its last snapshot, run and prunes", () => {
    const html = jobCardHtml(
      daemonJobJson(
        jobSource({
          lastSnapshot: { name: 'xrepl_1', datasets: ['a', 'b'], time: new Date(now) },
          lastPrune: { sender: { datasets: 2, destroyed: 1 }, receiver: null },
        }),
      ),
      now,
    );
    expect(html).toContain('Job home');
    expect(html).toContain('xrepl_1 <span class="muted">(2 datasets');
    expect(html).toContain('1 destroyed <span class="muted">(2 datasets)</span>');
  });
});
