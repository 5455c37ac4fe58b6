import fc from 'fast-check';
import type { KeepRule } from '../../src/jobs/config.js';
import { gridKeeps, parseGrid } from '../../src/jobs/pruning/grid.js';
import { planPrune, type PruneSnapshot } from '../../src/jobs/pruning/plan.js';

const NOW = new Date(Date.UTC(2026, 11, 3, 12));
const H = 3_600_000;

/** Snapshot `name` created `ageMs` before NOW; txg grows with time. */
function snap(name: string, ageMs: number, holds = 0): PruneSnapshot {
  return {
    name,
    guid: `g-${name}`,
    createTxg: String(1_000_000_000 - Math.round(ageMs / 1000)),
    creation: new Date(NOW.getTime() - ageMs),
    holds,
  };
}

const destroyed = (input: Parameters<typeof planPrune>[0]): string[] =>
  planPrune(input)
    .filter((v) => v.destroy)
    .map((v) => v.name);

describe('grid: parsing', () => {
  test('zrepl grammar with keep=all', () => {
    expect(parseGrid('1x1h(keep=all) | 24x1h | 14x1d')).toEqual([
      { count: 1, lengthMs: H, keepAll: true, text: '1x1h(keep=all)' },
      { count: 24, lengthMs: H, keepAll: false, text: '24x1h' },
      { count: 14, lengthMs: 24 * H, keepAll: false, text: '14x1d' },
    ]);
  });
  test('a bad interval is named', () => {
    expect(() => parseGrid('1x1h | 0x1d')).toThrow('"0x1d"');
    expect(() => parseGrid('24h')).toThrow('"24h"');
  });
});

describe('grid: buckets', () => {
  const grid = parseGrid('2x1h');
  test('the oldest snapshot of each bucket is kept, the others are not', () => {
    const kept = gridKeeps(
      grid,
      [snap('a', 10 * 60e3), snap('b', 50 * 60e3), snap('c', 70 * 60e3)],
      NOW,
    );
    expect([...kept.keys()].sort()).toEqual(['b', 'c']);
  });
  test('a snapshot exactly one bucket old belongs to the older bucket', () => {
    const kept = gridKeeps(grid, [snap('edge', H), snap('older', H + 1000)], NOW);
    expect([...kept]).toEqual([['older', '2x1h bucket 2 (interval 1)']]);
  });
  test('a snapshot of age 0 is in the first bucket; one as old as the grid is outside it', () => {
    const kept = gridKeeps(
      grid,
      [snap('now', 0), snap('end', 2 * H), snap('last', 2 * H - 1000)],
      NOW,
    );
    expect([...kept.keys()].sort()).toEqual(['last', 'now']);
  });
  test('keep=all keeps every snapshot of its interval', () => {
    const kept = gridKeeps(
      parseGrid('1x1h(keep=all) | 1x1h'),
      [snap('a', 1e3), snap('b', 2e3), snap('c', 61 * 60e3), snap('d', 62 * 60e3)],
      NOW,
    );
    expect([...kept.keys()].sort()).toEqual(['a', 'b', 'd']);
  });
  test('snapshots from the future are not kept by the grid', () => {
    expect(gridKeeps(grid, [snap('future', -1000)], NOW).size).toBe(0);
  });
});

describe('keep rules', () => {
  const snaps = [
    snap('xrepl_1', 5 * H),
    snap('manual', 4 * H),
    snap('xrepl_2', 3 * H),
    snap('xrepl_3', 2 * H),
  ];
  test('last_n keeps the newest N (matching the regex)', () => {
    expect(
      destroyed({
        side: 'sender',
        snapshots: snaps,
        rules: [{ type: 'last_n', count: 2 }],
        now: NOW,
      }),
    ).toEqual(['xrepl_1', 'manual']);
    expect(
      destroyed({
        side: 'sender',
        snapshots: snaps,
        rules: [{ type: 'last_n', count: 2, regex: '^xrepl_' }],
        now: NOW,
      }),
    ).toEqual(['xrepl_1', 'manual']);
    expect(
      destroyed({
        side: 'sender',
        snapshots: snaps,
        rules: [{ type: 'last_n', count: 1, regex: '^man' }],
        now: NOW,
      }),
    ).toEqual(['xrepl_1', 'xrepl_2', 'xrepl_3']);
  });
  test('regex keeps what matches, negate what does not', () => {
    expect(
      destroyed({
        side: 'sender',
        snapshots: snaps,
        rules: [{ type: 'regex', regex: '^xrepl_', negate: false }],
        now: NOW,
      }),
    ).toEqual(['manual']);
    expect(
      destroyed({
        side: 'sender',
        snapshots: snaps,
        rules: [{ type: 'regex', regex: '^xrepl_', negate: true }],
        now: NOW,
      }),
    ).toEqual(['xrepl_1', 'xrepl_2', 'xrepl_3']);
  });
  test('not_replicated keeps what is newer than the newest snapshot the receiver has', () => {
    const verdicts = planPrune({
      side: 'sender',
      snapshots: snaps,
      rules: [{ type: 'not_replicated' }],
      otherSide: new Set(['g-xrepl_1']),
      now: NOW,
    });
    expect(verdicts.map((v) => [v.name, v.destroy, v.reason])).toEqual([
      ['xrepl_1', false, 'newest common snapshot'],
      ['manual', false, 'keep[0] not_replicated'],
      ['xrepl_2', false, 'keep[0] not_replicated'],
      ['xrepl_3', false, 'keep[0] not_replicated'],
    ]);
  });
  test('not_replicated keeps nothing on the receiver', () => {
    expect(
      destroyed({
        side: 'receiver',
        snapshots: snaps,
        rules: [{ type: 'not_replicated' }],
        otherSide: new Set(),
        now: NOW,
      }),
    ).toHaveLength(4);
  });
  test('a snapshot kept by several rules names the first', () => {
    const v = planPrune({
      side: 'sender',
      snapshots: snaps,
      rules: [
        { type: 'regex', regex: '3$', negate: false },
        { type: 'last_n', count: 1 },
      ],
      now: NOW,
    });
    expect(v.at(-1)?.reason).toBe('keep[0] regex');
  });
});

describe('the never-destroy list', () => {
  test('the newest common snapshot stays though no rule keeps it', () => {
    const snaps = [snap('a', 3 * H), snap('b', 2 * H), snap('c', H)];
    expect(
      destroyed({
        side: 'receiver',
        snapshots: snaps,
        rules: [],
        otherSide: new Set(['g-a', 'g-b']),
        now: NOW,
      }),
    ).toEqual(['a', 'c']);
  });
  test('a held snapshot stays', () => {
    expect(
      destroyed({
        side: 'sender',
        snapshots: [snap('h', H, 1), snap('x', H / 2)],
        rules: [],
        now: NOW,
      }),
    ).toEqual(['x']);
  });
  test('a snapshot a running step uses stays', () => {
    expect(
      destroyed({
        side: 'sender',
        snapshots: [snap('s', H), snap('x', H / 2)],
        rules: [],
        inUse: new Set(['s']),
        now: NOW,
      }),
    ).toEqual(['x']);
  });
});

describe('pruning properties (fast-check, pinned seed)', () => {
  const PARAMS = { seed: 1512, numRuns: 300 };
  const ruleArb: fc.Arbitrary<KeepRule> = fc.oneof(
    fc.constant({ type: 'not_replicated' as const }),
    fc.record({ type: fc.constant('last_n' as const), count: fc.integer({ min: 1, max: 5 }) }),
    fc.record({
      type: fc.constant('regex' as const),
      regex: fc.constantFrom('^a', '^b', '1$'),
      negate: fc.boolean(),
    }),
    fc.record({
      type: fc.constant('grid' as const),
      grid: fc.constantFrom(
        '1x1h(keep=all) | 3x1h',
        '2x30m | 2x2h',
        '1x10m | 5x1h(keep=all) | 2x1d',
      ),
      regex: fc.constantFrom('.', '^a'),
    }),
  );
  const worldArb = fc
    .record({
      ages: fc.uniqueArray(fc.integer({ min: 0, max: 3 * 24 * 3600 }), {
        minLength: 0,
        maxLength: 25,
      }),
      prefixes: fc.array(fc.constantFrom('a', 'b'), { minLength: 25, maxLength: 25 }),
      held: fc.array(fc.boolean(), { minLength: 25, maxLength: 25 }),
      common: fc.array(fc.boolean(), { minLength: 25, maxLength: 25 }),
      rules: fc.array(ruleArb, { maxLength: 4 }),
      side: fc.constantFrom('sender' as const, 'receiver' as const),
    })
    .map((w) => {
      const snapshots = w.ages.map((age, i) =>
        snap(`${w.prefixes[i] ?? 'a'}${i}`, age * 1000, w.held[i] === true ? 1 : 0),
      );
      const otherSide = new Set(
        snapshots.filter((_, i) => w.common[i] === true).map((s) => s.guid),
      );
      return { side: w.side, snapshots, rules: w.rules, otherSide, now: NOW };
    });

  test('never destroys the newest common snapshot nor a held one', () => {
    fc.assert(
      fc.property(worldArb, (input) => {
        const gone = new Set(destroyed(input));
        const newestCommon = [...input.snapshots]
          .filter((s) => input.otherSide.has(s.guid))
          .sort((a, b) => Number(BigInt(a.createTxg) - BigInt(b.createTxg)))
          .at(-1);
        if (newestCommon !== undefined) expect(gone.has(newestCommon.name)).toBe(false);
        for (const s of input.snapshots) if (s.holds > 0) expect(gone.has(s.name)).toBe(false);
      }),
      PARAMS,
    );
  });

  test('pruning twice destroys nothing more', () => {
    fc.assert(
      fc.property(worldArb, (input) => {
        const gone = new Set(destroyed(input));
        const left = input.snapshots.filter((s) => !gone.has(s.name));
        expect(destroyed({ ...input, snapshots: left })).toEqual([]);
      }),
      PARAMS,
    );
  });
});
