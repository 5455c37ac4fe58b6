import { MemoryPool, DEFAULT_SNAPSHOT_SIZE } from '../../../src/endpoints/memory/index.js';
import { at } from './helpers.js';

describe('MemoryPool', () => {
  test('guids come from a PRNG seeded per pool: same seed same guids, other seed other guids', () => {
    const make = (seed: string): string[] => {
      const pool = new MemoryPool({ seed });
      pool.createDataset('p/a');
      return ['s1', 's2', 's3'].map((n) => pool.snapshot('p/a', n).guid);
    };
    const first = make('one');
    expect(make('one')).toEqual(first);
    expect(make('two').some((g) => first.includes(g))).toBe(false);
    for (const guid of first) {
      expect(guid).toMatch(/^[1-9][0-9]*$/);
      expect(BigInt(guid)).toBeLessThan(1n << 64n);
    }
    expect(new Set(first).size).toBe(3);
  });

  test('snapshots get increasing createTxg across datasets, creation from the option or the clock', () => {
    const pool = new MemoryPool({ seed: 1, now: () => at(30) });
    pool.createDataset('p/a');
    pool.createDataset('p/b');
    const s1 = pool.snapshot('p/a', 's1', { creation: at(5) });
    const s2 = pool.snapshot('p/b', 's2');
    const s3 = pool.snapshot('p/a', 's3');
    expect([s1, s2, s3].map((s) => BigInt(s.createTxg))).toEqual([1n, 2n, 3n]);
    expect(s1.creation).toEqual(at(5));
    expect(s2.creation).toEqual(at(30));
    expect(pool.get('p/a')?.snapshots.map((s) => [s.name, s.size])).toEqual([
      ['s1', DEFAULT_SNAPSHOT_SIZE],
      ['s3', DEFAULT_SNAPSHOT_SIZE],
    ]);
  });

  test('createDataset creates missing parents as ordinary datasets, placeholder only where asked', () => {
    const pool = new MemoryPool({ seed: 1 });
    pool.createDataset('p/a/b', { placeholder: true });
    expect(pool.paths()).toEqual(['p', 'p/a', 'p/a/b']);
    expect(pool.paths().map((p) => pool.get(p)?.placeholder)).toEqual([false, false, true]);
    expect(() => pool.createDataset('p/a')).toThrow('dataset p/a already exists');
  });

  test.each(['', '/p', 'p/', 'p//a', 'p/../a', 'p@s', 'p#b', 'p/\u0007'])(
    'refuses the dataset name %j',
    (name) => {
      expect(() => new MemoryPool({ seed: 1 }).createDataset(name)).toThrow(
        /refusing dataset name/,
      );
    },
  );

  test.each(['', 'a@b', 'a#b', 'a/b', 'a\nb', '  '])('refuses the snapshot name %j', (name) => {
    const pool = new MemoryPool({ seed: 1 });
    pool.createDataset('p');
    expect(() => pool.snapshot('p', name)).toThrow(/invalid snapshot or bookmark name/);
  });

  test('snapshot errors: missing dataset, duplicate name, bad size', () => {
    const pool = new MemoryPool({ seed: 1 });
    expect(() => pool.snapshot('nope', 'a')).toThrow('dataset nope does not exist');
    pool.createDataset('p');
    pool.snapshot('p', 'a');
    expect(() => pool.snapshot('p', 'a')).toThrow('snapshot p@a already exists');
    expect(() => pool.snapshot('p', 'b', { size: -1 })).toThrow('invalid snapshot size -1');
  });

  test("destroySnapshot keeps the data: the next snapshot's delta grows by the destroyed one", () => {
    const pool = new MemoryPool({ seed: 1 });
    pool.createDataset('p');
    pool.snapshot('p', 'a', { size: 10 });
    pool.snapshot('p', 'b', { size: 20 });
    pool.snapshot('p', 'c', { size: 30 });
    pool.destroySnapshot('p', 'b');
    expect(pool.get('p')?.snapshots.map((s) => [s.name, s.size])).toEqual([
      ['a', 10],
      ['c', 50],
    ]);
  });

  test('rollback destroys every later snapshot', () => {
    const pool = new MemoryPool({ seed: 1 });
    pool.createDataset('p');
    for (const n of ['a', 'b', 'c']) pool.snapshot('p', n);
    pool.rollback('p', 'a');
    expect(pool.get('p')?.snapshots.map((s) => s.name)).toEqual(['a']);
  });

  test('bookmarks share guid, txg and creation with their snapshot and outlive it', () => {
    const pool = new MemoryPool({ seed: 1 });
    pool.createDataset('p');
    const a = pool.snapshot('p', 'a', { creation: at(1) });
    const mark = pool.bookmark('p', 'a', 'mark');
    pool.destroySnapshot('p', 'a');
    expect(mark).toEqual({ ...a, type: 'bookmark', name: 'mark' });
    expect(pool.get('p')?.bookmarks).toEqual([mark]);
  });

  test('get returns a copy: changing it changes nothing in the pool', () => {
    const pool = new MemoryPool({ seed: 1 });
    pool.createDataset('p');
    pool.snapshot('p', 'a', { creation: at(1) });
    const view = pool.get('p')!;
    view.snapshots[0]!.creation.setFullYear(1990);
    view.snapshots.pop();
    view.placeholder = true;
    expect(pool.get('p')?.snapshots[0]?.creation).toEqual(at(1));
    expect(pool.get('p')?.placeholder).toBe(false);
    expect(pool.get('missing')).toBeUndefined();
  });

  test('destroyDataset needs recursive for children', () => {
    const pool = new MemoryPool({ seed: 1 });
    pool.createDataset('p/a/b');
    expect(() => pool.destroyDataset('p/a')).toThrow('cannot destroy p/a: it has children (p/a/b)');
    pool.destroyDataset('p/a', { recursive: true });
    expect(pool.paths()).toEqual(['p']);
  });
});

describe('fixtures', () => {
  const fixture = {
    seed: 'fx',
    datasets: [
      { path: 'tank/home', placeholder: true },
      {
        path: 'tank/home/alice',
        snapshots: [{ name: 'a', creation: '2024-01-01T00:01:00.000Z', size: 10 }, { name: 'b' }],
        bookmarks: [{ name: 'ma', snapshot: 'a' }],
      },
      {
        path: 'tank/fixed',
        snapshots: [
          { name: 'x', guid: '12345', createTxg: '100', creation: '2024-01-01T00:00:00Z', size: 1 },
        ],
      },
    ],
  };

  test('fromFixture builds the pool; omitted guids and txgs are generated', () => {
    const pool = MemoryPool.fromFixture(fixture, { now: () => at(9) });
    expect(pool.paths()).toEqual(['tank', 'tank/fixed', 'tank/home', 'tank/home/alice']);
    expect(pool.get('tank/home')?.placeholder).toBe(true);
    const alice = pool.get('tank/home/alice')!;
    expect(alice.snapshots.map((s) => [s.name, s.size, s.creation])).toEqual([
      ['a', 10, at(1)],
      ['b', 4096, at(9)],
    ]);
    expect(alice.bookmarks[0]).toMatchObject({ name: 'ma', guid: alice.snapshots[0]?.guid });
    expect(pool.get('tank/fixed')?.snapshots[0]).toMatchObject({ guid: '12345', createTxg: '100' });
    // Later snapshots come after every txg of the fixture.
    expect(BigInt(pool.snapshot('tank/fixed', 'y').createTxg)).toBeGreaterThan(100n);
  });

  test('toFixture round-trips, and the copy goes on with fresh guids like the original', () => {
    const pool = MemoryPool.fromFixture(JSON.stringify(fixture), { now: () => at(9) });
    const json = JSON.stringify(pool.toFixture());
    const copy = MemoryPool.fromFixture(json);
    expect(JSON.stringify(copy.toFixture())).toBe(json);
    const next = copy.snapshot('tank/fixed', 'y', { creation: at(3) });
    expect(pool.snapshot('tank/fixed', 'y', { creation: at(3) })).toEqual(next);
    const existing = pool.paths().flatMap((p) => pool.get(p)?.snapshots.map((s) => s.guid) ?? []);
    expect(existing.filter((g) => g === next.guid)).toHaveLength(1);
  });

  test('an invalid fixture is refused with every issue named', () => {
    const bad = {
      datasets: [
        {
          path: 'a',
          snapshots: [
            { name: 'x', guid: '-1' },
            { name: 'y', size: 1.5 },
          ],
        },
      ],
      extra: true,
    };
    expect(() => MemoryPool.fromFixture(bad)).toThrow(
      /invalid memory pool fixture:[\s\S]*datasets\.0\.snapshots\.0\.guid[\s\S]*datasets\.0\.snapshots\.1\.size/,
    );
    expect(() => MemoryPool.fromFixture('{not json')).toThrow(
      'memory pool fixture is not valid JSON',
    );
    expect(() => MemoryPool.fromFixture({ datasets: [{ path: 'a/../b' }] })).toThrow(
      /refusing dataset name/,
    );
    expect(() =>
      MemoryPool.fromFixture({
        datasets: [{ path: 'a', snapshots: [{ name: 'x' }, { name: 'x', guid: '5' }] }],
      }),
    ).toThrow('fixture has snapshot a@x twice');
  });
});
