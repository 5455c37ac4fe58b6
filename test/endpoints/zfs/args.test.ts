import {
  parseDrySize,
  recvArgs,
  sendArgs,
  sendDryArgs,
  versionNameProblem,
} from '../../../src/endpoints/zfs/args.js';
import { MINIMAL_CAPABILITIES, type ZfsCapabilities } from '../../../src/endpoints/zfs/index.js';
import { snap } from './fake-exec.js';

const OPENZFS: ZfsCapabilities = {
  ...MINIMAL_CAPABILITIES,
  poolVersion: 'feature-flags',
  bookmarks: true,
  resumeTokens: true,
  sendDryRun: true,
  recvProperties: true,
};

describe('zfs send argv', () => {
  test('full send: the target snapshot below the root', () => {
    expect(
      sendArgs('tank/data', { filesystem: 'home', to: snap('s1') }, MINIMAL_CAPABILITIES),
    ).toEqual({
      args: ['send', 'tank/data/home@s1'],
      usedResumeToken: false,
    });
  });

  test('incremental send from a snapshot', () => {
    const req = { filesystem: 'home/alice', from: snap('s1'), to: snap('s2') };
    expect(sendArgs('tank', req, MINIMAL_CAPABILITIES).args).toEqual([
      'send',
      '-i',
      'tank/home/alice@s1',
      'tank/home/alice@s2',
    ]);
  });

  test('incremental send from a bookmark uses #', () => {
    const req = { filesystem: 'home', from: snap('cursor', 'bookmark'), to: snap('s2') };
    expect(sendArgs('tank', req, OPENZFS).args).toEqual([
      'send',
      '-i',
      'tank/home#cursor',
      'tank/home@s2',
    ]);
  });

  test('resume: send -t token, where resume tokens are supported', () => {
    const req = {
      filesystem: 'home',
      from: snap('s1'),
      to: snap('s2'),
      resumeToken: '1-e604ea4bf-e0-789c63a2',
    };
    expect(sendArgs('tank', req, OPENZFS)).toEqual({
      args: ['send', '-t', '1-e604ea4bf-e0-789c63a2'],
      usedResumeToken: true,
    });
  });

  test('a token without resume support: a fresh send, reported as not resumed', () => {
    const req = { filesystem: 'home', from: snap('s1'), to: snap('s2'), resumeToken: '1-abc' };
    expect(sendArgs('tank', req, MINIMAL_CAPABILITIES)).toEqual({
      args: ['send', '-i', 'tank/home@s1', 'tank/home@s2'],
      usedResumeToken: false,
    });
  });

  test('a token that is not one is refused', () => {
    const req = { filesystem: 'home', to: snap('s2'), resumeToken: '-R tank' };
    expect(() => sendArgs('tank', req, OPENZFS)).toThrow(/refusing resume token/);
  });

  test('the target must be a snapshot', () => {
    expect(() =>
      sendArgs('tank', { filesystem: 'home', to: snap('b', 'bookmark') }, OPENZFS),
    ).toThrow(/target must be a snapshot/);
  });

  test('dry run: -n -v -P before the same source', () => {
    const req = { filesystem: 'home', from: snap('s1'), to: snap('s2') };
    expect(sendDryArgs('tank', req, OPENZFS)).toEqual([
      'send',
      '-n',
      '-v',
      '-P',
      '-i',
      'tank/home@s1',
      'tank/home@s2',
    ]);
  });

  test('dry run size: the "size" line, on stdout or stderr; none is 0 (unknown)', () => {
    expect(parseDrySize('incremental\ts1\ttank/home@s2\t4242\nsize\t4242\n')).toBe(4242);
    expect(parseDrySize('full\ttank/home@s1\t123\n\nsize\t123')).toBe(123);
    expect(parseDrySize('')).toBe(0);
  });
});

describe('zfs recv argv', () => {
  test.each([
    [
      'a new or existing filesystem: -u, the snapshot named, no -F',
      false,
      false,
      'recv -u b/h/home@s1',
    ],
    ['an empty placeholder: -F', true, false, 'recv -u -F b/h/home@s1'],
    ['a pool with resume tokens: -s', false, true, 'recv -u -s b/h/home@s1'],
  ])('into %s', (_what, force, resumable, argv) => {
    expect(recvArgs('b/h/home', snap('s1'), { force, resumable }).join(' ')).toBe(argv);
  });
});

describe('snapshot names', () => {
  test.each([
    ['', 'empty name'],
    ['a/b', 'contains one of / @ # %'],
    ['a@b', 'contains one of / @ # %'],
    ['a#b', 'contains one of / @ # %'],
    ['a%b', 'contains one of / @ # %'],
    ['a\nb', 'control character'],
    ['-F', 'leading "-"'],
    ['x'.repeat(256), 'longer than 255 characters'],
  ])('%j is refused: %s', (name, problem) => {
    expect(versionNameProblem(name)).toBe(problem);
  });

  test.each(['s1', 'zrepl_20240101_000000_000', 'daily-2024.01.01', 'a:b'])(
    '%j is fine',
    (name) => {
      expect(versionNameProblem(name)).toBeUndefined();
    },
  );
});
