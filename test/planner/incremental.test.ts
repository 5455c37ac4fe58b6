import type { FilesystemVersion } from '../../src/endpoints/types.js';
import {
  incrementalPath,
  initialTransfers,
  planTransfers,
  PlanningError,
  resumeTransfers,
  sortVersions,
  StaleResumeTokenError,
  type Transfer,
} from '../../src/planner/index.js';
import { bm, v } from './helpers.js';

/** `from->to` per transfer, `#` marking a bookmark source, `~` a resumed transfer. */
const show = (ts: Transfer[]): string[] =>
  ts.map(
    (t) =>
      `${t.resumeToken ? '~' : ''}${t.from ? (t.from.type === 'bookmark' ? '#' : '') + t.from.name : ''}->${t.to.name}`,
  );

const names = (path: FilesystemVersion[] | 'initial'): string[] | 'initial' =>
  path === 'initial' ? path : path.map((x) => `${x.type === 'bookmark' ? '#' : '@'}${x.name}`);

describe('sorting versions', () => {
  test('by createTxg compared as BigInt, bookmarks before snapshots at equal txg', () => {
    const big = '18446744073709551610';
    const sorted = sortVersions([
      v('z', big),
      v('b', '10'),
      v('a', '9'),
      bm('a', '9'),
      v('y', '9007199254740993'),
      v('x', '9007199254740992'),
    ]);
    expect(sorted.map((x) => `${x.type[0]}:${x.name}`)).toEqual([
      'b:a',
      's:a',
      's:b',
      's:x',
      's:y',
      's:z',
    ]);
  });
});

describe('the incremental path', () => {
  const cases: [string, FilesystemVersion[], FilesystemVersion[], string[] | 'initial'][] = [
    ['receiver empty: initial replication', [v('a', 1), v('b', 2)], [], 'initial'],
    [
      'receiver has only bookmarks: they are ignored, initial replication',
      [v('a', 1)],
      [bm('a', 1)],
      'initial',
    ],
    [
      'most recent already present: the path is the ancestor alone',
      [v('a', 1), v('b', 2)],
      [v('a', 1), v('b', 2)],
      ['@b'],
    ],
    ['one newer snapshot', [v('a', 1), v('b', 2)], [v('a', 1)], ['@a', '@b']],
    [
      'every later sender snapshot, in txg order',
      [v('d', 4), v('b', 2), v('a', 1), v('c', 3)],
      [v('b', 2)],
      ['@b', '@c', '@d'],
    ],
    [
      'the most recent common version is the ancestor',
      [v('a', 1), v('b', 2), v('c', 3)],
      [v('a', 1), v('b', 2)],
      ['@b', '@c'],
    ],
    [
      'sender bookmark of a destroyed snapshot serves as ancestor',
      [bm('a', 1), v('b', 2)],
      [v('a', 1)],
      ['#a', '@b'],
    ],
    [
      'a snapshot is preferred over its bookmark',
      [bm('a', 1), v('a', 1), v('b', 2)],
      [v('a', 1)],
      ['@a', '@b'],
    ],
    [
      'sender bookmarks are not sent',
      [v('a', 1), bm('x', 2), v('b', 3)],
      [v('a', 1)],
      ['@a', '@b'],
    ],
    [
      "the receiver's older snapshots the sender lost do not matter",
      [v('b', 2), v('c', 3)],
      [v('a', 1), v('b', 2)],
      ['@b', '@c'],
    ],
    [
      'common versions match by guid, not name',
      [v('a', 1, 'G1'), v('b', 2, 'G2')],
      [v('renamed', 7, 'G1')],
      ['@a', '@b'],
    ],
    [
      'txg compared as BigInt beyond 2^53',
      [v('a', '9007199254740992'), v('b', '9007199254740993')],
      [v('a', '9007199254740992')],
      ['@a', '@b'],
    ],
  ];
  test.each(cases)('%s', (_name, sender, receiver, expected) => {
    expect(names(incrementalPath('pool/fs', sender, receiver))).toEqual(expected);
  });
});

describe('conflicts are planning errors naming the versions', () => {
  const cases: [string, FilesystemVersion[], FilesystemVersion[], string, RegExp][] = [
    [
      'no snapshots on the sender',
      [],
      [v('a', 1)],
      'no-sender-snapshots',
      /pool\/fs: the sender has no snapshots/,
    ],
    [
      'only bookmarks on the sender',
      [bm('a', 1)],
      [],
      'no-sender-snapshots',
      /the sender has no snapshots/,
    ],
    [
      'no common ancestor',
      [v('a', 1, 'S1'), v('b', 2, 'S2')],
      [v('x', 1, 'R1'), v('y', 2, 'R2')],
      'no-common-ancestor',
      /pool\/fs: no common snapshot: the receiver has @x, @y, the sender has @a, @b/,
    ],
    [
      'diverged: receiver has versions newer than the ancestor',
      [v('a', 1), v('b', 2)],
      [v('a', 1), v('local1', 5, 'L1'), v('local2', 6, 'L2')],
      'diverged',
      /pool\/fs: the receiver has diverged: after the common snapshot @a it has @local1, @local2.*rollback -r/,
    ],
    [
      'diverged although the sender has newer snapshots too',
      [v('a', 1), v('c', 3)],
      [v('a', 1), v('b', 2, 'other')],
      'diverged',
      /after the common snapshot @a it has @b/,
    ],
  ];
  test.each(cases)('%s', (_name, sender, receiver, kind, message) => {
    let caught: unknown;
    try {
      incrementalPath('pool/fs', sender, receiver);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(PlanningError);
    expect(caught).toMatchObject({ kind, filesystem: 'pool/fs' });
    expect((caught as Error).message).toMatch(message);
  });
});

describe('initial replication policies', () => {
  const sender = [v('c', 3), v('a', 1), bm('a', 1), v('b', 2)];
  test('most-recent: one full send of the newest snapshot', () => {
    expect(show(initialTransfers('fs', sender, 'most-recent'))).toEqual(['->c']);
  });
  test('all: a full send of the oldest, then incrementals', () => {
    expect(show(initialTransfers('fs', sender, 'all'))).toEqual(['->a', 'a->b', 'b->c']);
  });
  test('fail: a planning error naming the newest snapshot and the policy', () => {
    expect(() => initialTransfers('fs', sender, 'fail')).toThrow(
      expect.objectContaining({
        kind: 'initial-replication-disabled',
        message: expect.stringMatching(/fs: .*@c.*"fail"/),
      }),
    );
  });
  test('planTransfers applies the policy only when the receiver is empty', () => {
    expect(show(planTransfers('fs', sender, [], 'all'))).toEqual(['->a', 'a->b', 'b->c']);
    expect(show(planTransfers('fs', sender, [v('b', 2)], 'fail'))).toEqual(['b->c']);
    expect(planTransfers('fs', sender, [v('c', 3)], 'most-recent')).toEqual([]);
  });
});

describe('planning from a resume token', () => {
  const sender = [v('a', 1), v('b', 2), v('c', 3), v('d', 4)];
  /** A receiver filesystem whose token the receiver read as `resume`. */
  const receiverFS = (resume?: { fromGuid?: string; toGuid: string }) => ({
    path: 'fs',
    isPlaceholder: false,
    resumeToken: 'tok',
    ...(resume && { resume: { ...resume, toName: 'src/fs@x', clearCommand: 'zfs recv -A b/fs' } }),
  });

  test('the resumed transfer first, then incrementals over the later sender snapshots', () => {
    const transfers = resumeTransfers(receiverFS({ fromGuid: 'g-a', toGuid: 'g-b' }), sender);
    expect(show(transfers ?? [])).toEqual(['~a->b', 'b->c', 'c->d']);
    expect(transfers?.[0]?.resumeToken).toBe('tok');
  });
  test('a resumed full send has no from', () => {
    expect(show(resumeTransfers(receiverFS({ toGuid: 'g-d' }), sender) ?? [])).toEqual(['~->d']);
  });
  test('the incremental source may be a sender bookmark', () => {
    const transfers = resumeTransfers(receiverFS({ fromGuid: 'g-z', toGuid: 'g-c' }), [
      bm('z', 1),
      ...sender,
    ]);
    expect(show(transfers ?? [])).toEqual(['~#z->c', 'c->d']);
  });
  test.each([
    [
      'target gone',
      { fromGuid: 'g-a', toGuid: 'gone' },
      /src\/fs@x \(guid gone\) no longer exists/,
    ],
    ['source gone', { fromGuid: 'gone', toGuid: 'g-b' }, /incremental source of @b \(guid gone\)/],
  ])('stale (%s), policy fail: StaleResumeTokenError naming zfs recv -A', (_n, resume, message) => {
    let caught: unknown;
    try {
      resumeTransfers(receiverFS(resume), sender, 'fail');
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(StaleResumeTokenError);
    expect((caught as Error).message).toMatch(message);
    expect((caught as Error).message).toMatch(/\(zfs recv -A b\/fs\)/);
    expect((caught as Error).message).toMatch(/--on-stale-resume-token clear/);
  });
  test('stale, policy clear: no resumed plan (the caller plans without the token)', () => {
    expect(resumeTransfers(receiverFS({ toGuid: 'gone' }), sender, 'clear')).toBeUndefined();
  });
  test('a token its receiver cannot read: a planning error, whatever the policy', () => {
    expect(() => resumeTransfers(receiverFS(), sender, 'clear')).toThrow(
      expect.objectContaining({
        kind: 'resume-token-invalid',
        message: expect.stringMatching(/zfs recv -A/),
      }),
    );
  });
});
