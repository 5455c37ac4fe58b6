import {
  applyFrame,
  emptyModel,
  modelToFrame,
  type ModelState,
} from '../../visualizer/web/model.js';
import type { Frame } from '../../visualizer/web/protocol.js';
import { Timeline } from '../../visualizer/web/timeline.js';
import { treeRows } from '../../visualizer/web/tree-rows.js';
import { fsWith } from '../helpers/scripted.js';
import { runFrames, type RunFrames } from './run-frames.js';

function fold(frames: Frame[], upTo: number): ModelState {
  const m = emptyModel();
  for (let i = 0; i <= upTo; i++) applyFrame(m, frames[i] as Frame);
  return m;
}

/** What a page shows of a model: comparable with toEqual. */
function view(m: ModelState): unknown {
  return {
    actors: [...m.actors.entries()].sort(),
    graphs: [...m.graphs.keys()].sort(),
    report: m.report,
  };
}

let run: RunFrames;
beforeAll(async () => {
  run = await runFrames(
    [fsWith('pool', [1, 2]), fsWith('pool/a', [3]), fsWith('pool/b', [4, 5])],
    (script) => {
      script.failures.set('step:pool/b:s2', new Error('disk full'));
    },
  );
});

describe('the model folded from frames', () => {
  test('ends with the final report and every driver actor in its final state', () => {
    const m = fold(run.frames, run.frames.length - 1);
    expect(m.report).toEqual(run.reportJson);
    expect([...m.graphs.keys()].sort()).toEqual(['attempt', 'filesystem', 'run']);
    const states = [...m.actors.values()].map((a) => [a.name, a.snapshot.value]);
    expect(states).toEqual(
      expect.arrayContaining([
        ['run', 'failed'],
        ['attempt-0', 'filesystem-error'],
        ['fs-0', 'done'],
        ['fs-2', 'step-error'],
      ]),
    );
  });

  test('forgets finished non-machine actors (promise actors, the step queue)', () => {
    const m = fold(run.frames, run.frames.length - 1);
    expect([...m.actors.values()].every((a) => a.machine !== null)).toBe(true);
  });

  test('a catch-up frame brings an empty model to the same state', () => {
    const m = fold(run.frames, Math.floor(run.frames.length / 2));
    const copy = emptyModel();
    applyFrame(copy, modelToFrame(m, m.seq, m.time));
    expect(view(copy)).toEqual(view(m));
  });
});

describe('the timeline goes forwards and backwards', () => {
  test('stateAt(i) equals folding frames 0..i, in any order of seeks', () => {
    const t = new Timeline({ checkpointEvery: 4 });
    for (const f of run.frames) t.append(f);
    const n = run.frames.length;
    expect(n).toBeGreaterThan(5);
    const order = [n - 1, 0, Math.floor(n / 2), 3, n - 2, 1, n - 3, 2];
    for (const i of order) expect(view(t.stateAt(i))).toEqual(view(fold(run.frames, i)));
  });

  test('seeking back does not change the head', () => {
    const t = new Timeline({ checkpointEvery: 3 });
    for (const f of run.frames) t.append(f);
    const before = view(t.head);
    t.stateAt(2);
    t.stateAt(0);
    expect(view(t.head)).toEqual(before);
  });

  test('a live timeline forgets its oldest frames but still seeks correctly', () => {
    const t = new Timeline({ checkpointEvery: 2, maxFrames: 6 });
    for (const f of run.frames) t.append(f);
    expect(t.length).toBeLessThanOrEqual(6);
    expect(t.dropped + t.length).toBe(run.frames.length);
    for (let i = 0; i < t.length; i++)
      expect(view(t.stateAt(i))).toEqual(view(fold(run.frames, t.dropped + i)));
  });

  test('keeps a report in history at most once per reportEveryMs, and always the final one', () => {
    const t = new Timeline({ reportEveryMs: 1000 });
    const frames = run.frames.map((f, i) => ({ ...f, time: i * 10 }));
    for (const f of frames) t.append(f);
    const kept = t.frames.filter((f) => f.messages.some((m) => m.type === '@xrepl.report'));
    const final = (f: Frame): boolean =>
      f.messages.some(
        (m) =>
          m.type === '@xrepl.report' && ['done', 'failed', 'cancelled'].includes(m.report.state),
      );
    expect(kept.length).toBeLessThan(frames.length);
    expect(kept[0]).toBe(frames[0]);
    expect(kept.slice(1).every(final)).toBe(true);
    expect(t.head.report).toEqual(run.reportJson);
    expect(t.stateAt(t.length - 1).report).toEqual(run.reportJson);
  });

  test('eventsUpTo gives the newest events up to a frame, oldest first, filtered by actor', () => {
    const t = new Timeline();
    for (const f of run.frames) t.append(f);
    const all = t.eventsUpTo(t.length - 1, 10_000);
    const last5 = t.eventsUpTo(t.length - 1, 5);
    expect(last5.map((e) => e.msg)).toEqual(all.slice(-5).map((e) => e.msg));
    const mid = Math.floor(t.length / 2);
    expect(t.eventsUpTo(mid, 10_000).every((e) => e.frame <= mid)).toBe(true);
    const fs0 = [...t.head.actors.values()].find((a) => a.name === 'fs-0')?.sessionId;
    const only = t.eventsUpTo(t.length - 1, 10_000, (id) => id === fs0);
    expect(only.length).toBeGreaterThan(0);
    expect(only.every((e) => e.msg.sessionId === fs0)).toBe(true);
  });
});

describe('the actor tree', () => {
  const m = (): ModelState => fold(run.frames, run.frames.length - 1);

  test('run -> attempt -> filesystems, with state, step i/n, bytes and errors', () => {
    const { rows, shown, total } = treeRows(m(), { text: '', state: 'all' }, new Set());
    expect(rows.map((r) => [r.kind, r.depth, r.label, r.state])).toEqual([
      ['run', 0, 'run', 'failed'],
      ['attempt', 1, 'attempt 1', 'filesystem-error'],
      ['fs', 2, 'pool', 'done'],
      ['fs', 2, 'pool/a', 'done'],
      ['fs', 2, 'pool/b', 'step-error'],
    ]);
    expect([shown, total]).toEqual([3, 3]);
    const b = rows[4];
    expect(b?.step).toEqual({ current: 1, total: 2 });
    expect(b?.error?.err).toBe('disk full');
    expect(b?.blockedOn).toBe('nothing');
  });

  test('filters filesystems by state and name; run and attempt rows stay', () => {
    const errors = treeRows(m(), { text: '', state: 'errors' }, new Set());
    expect(errors.rows.map((r) => r.label)).toEqual(['run', 'attempt 1', 'pool/b']);
    const named = treeRows(m(), { text: 'POOL/A', state: 'all' }, new Set());
    expect(named.rows.map((r) => r.label)).toEqual(['run', 'attempt 1', 'pool/a']);
    expect([named.shown, named.total]).toEqual([1, 3]);
  });

  test('a collapsed attempt hides its filesystems', () => {
    const model = m();
    const attempt =
      [...model.actors.values()].find((a) => a.machine === 'attempt')?.sessionId ?? '';
    const { rows, total } = treeRows(model, { text: '', state: 'all' }, new Set([attempt]));
    expect(rows.map((r) => r.label)).toEqual(['run', 'attempt 1']);
    expect(total).toBe(3);
  });
});
