import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  compareVersions,
  datasetRecords,
  filesystemsAt,
  listArgs,
  parseListing,
  parsePropertyRows,
  versionsOf,
} from '../../../src/endpoints/zfs/list.js';

const sample = (name: string): string => readFileSync(join(__dirname, 'samples', name), 'utf8');

describe('listing with zfs get -Hp', () => {
  test('argv: the whole tree, or one dataset with its versions; resume tokens only where known', () => {
    expect(listArgs('tank/data', { resumeTokens: false })).toEqual([
      'get',
      '-Hp',
      '-r',
      '-o',
      'name,property,value,source',
      'guid,createtxg,creation,type,xrepl:placeholder',
      'tank/data',
    ]);
    expect(listArgs('tank/data/home', { depth: 1, resumeTokens: true })).toEqual([
      'get',
      '-Hp',
      '-r',
      '-d',
      '1',
      '-o',
      'name,property,value,source',
      'guid,createtxg,creation,type,xrepl:placeholder,receive_resume_token',
      'tank/data/home',
    ]);
  });

  test('the brief three-column form parses too (no source column)', () => {
    const rows = parsePropertyRows('tank/a\tguid\t18446744073709551615\n', false);
    expect(rows).toEqual([{ name: 'tank/a', property: 'guid', value: '18446744073709551615' }]);
  });

  test('a malformed line is an error naming the line, not a silent skip', () => {
    expect(() => parsePropertyRows('tank/a guid 1\n')).toThrow(
      /unexpected zfs get output line "tank\/a guid 1"/,
    );
  });

  test('a non-numeric guid is refused (plain zfs list would print "4.38E")', () => {
    const out =
      'tank/a\tguid\t4.38E\t-\ntank/a\tcreatetxg\t1\t-\ntank/a\tcreation\t1\t-\ntank/a\ttype\tfilesystem\t-\n';
    expect(() => parseListing(out)).toThrow(/tank\/a has guid "4.38E", not a number/);
  });
});

describe('zfs-fuse sample (captured on pool version 23)', () => {
  const records = parseListing(sample('zfs-fuse-get.txt'));

  test('guids above 2^53 stay exact decimal strings', () => {
    const s1 = records.find((r) => r.name === 'xplore_c/home@s1');
    expect(s1?.guid).toBe('15645849384593175855');
    expect(s1?.createTxg).toBe('11');
    expect(s1?.creation).toEqual(new Date(1795644147 * 1000));
  });

  test('a placeholder is one with the property set locally; children inheriting it are not', () => {
    expect(filesystemsAt('xplore_c', records, { includePlaceholders: true })).toEqual([
      { path: '', isPlaceholder: false },
      { path: 'home', isPlaceholder: false },
      { path: 'ph', isPlaceholder: true },
      { path: 'ph/child', isPlaceholder: false },
    ]);
  });

  test('the sender view leaves placeholders out', () => {
    expect(
      filesystemsAt('xplore_c', records, { includePlaceholders: false }).map((f) => f.path),
    ).toEqual(['', 'home', 'ph/child']);
  });

  test('paths are relative to the root; the root itself is listed first as ""', () => {
    expect(filesystemsAt('xplore_c/ph', records, { includePlaceholders: true })).toEqual([
      { path: '', isPlaceholder: true },
      { path: 'child', isPlaceholder: false },
    ]);
  });

  test('versions of one filesystem, by createtxg, not those of its children', () => {
    expect(versionsOf('xplore_c/home', records).map((v) => [v.type, v.name, v.createTxg])).toEqual([
      ['snapshot', 's1', '11'],
      ['snapshot', 'c', '43'],
    ]);
    expect(versionsOf('xplore_c/ph', records)).toEqual([]);
  });
});

describe('OpenZFS sample (written after the documented format)', () => {
  const records = parseListing(sample('openzfs-get.txt'));

  test('volumes are filesystems to replicate; a resume token is kept (unreadable: no resume), "-" is none', () => {
    expect(filesystemsAt('tank/data', records, { includePlaceholders: true })).toEqual([
      { path: '', isPlaceholder: false },
      { path: 'home', isPlaceholder: false, resumeToken: '1-e604ea4bf-e0-789c63a2c06294' },
      { path: 'vol', isPlaceholder: true },
    ]);
  });

  test('the receiver reads a real token itself: guids, the sender name, the command that clears it', () => {
    // Captured on OpenZFS 2.1.11: an incremental receive src/data@s1 -> @s2 cut short.
    const token =
      '1-ea45c25d6-e0-789c636064000310a501c49c50360710a715e5e7a69766a63040c1dc84d5778f31cc605200b2d991d4e52765a5269730303043d561c8a7a515a796806458e0f26c48f2499525a9c5407a022f1b56fd25f910574c89389c72fb6447a306923c27583e2f31379581a1b828593f25b124d1a1d808e66406006d591e0c';
    const rows = sample('openzfs-get.txt').replace('1-e604ea4bf-e0-789c63a2c06294', token);
    const home = filesystemsAt('tank/data', parseListing(rows), {
      includePlaceholders: true,
    }).find((fs) => fs.path === 'home');
    expect(home).toEqual({
      path: 'home',
      isPlaceholder: false,
      resumeToken: token,
      resume: {
        fromGuid: '186900238658396317',
        toGuid: BigInt('0x8188c9db64c35894').toString(),
        toName: 'src/data@s2',
        clearCommand: 'zfs recv -A tank/data/home',
      },
    });
  });

  test('uint64 guid 2^64-1 is exact', () => {
    expect(records.find((r) => r.name === 'tank/data/home')?.guid).toBe('18446744073709551615');
  });

  test('versions sort by createtxg as uint64 (beyond 2^53), bookmark before snapshot at equal txg', () => {
    expect(versionsOf('tank/data/home', records).map((v) => `${v.type}:${v.name}`)).toEqual([
      'bookmark:daily-1',
      'snapshot:daily-1',
      'snapshot:daily-2',
    ]);
  });
});

describe('record grouping', () => {
  test('hidden datasets of a partial receive (%recv) are skipped', () => {
    const rows = parsePropertyRows('tank/a/%recv\tguid\t1\t-\n');
    expect(datasetRecords(rows)).toEqual([]);
  });

  test('compareVersions does not lose precision between neighbours above 2^53', () => {
    const v = (createTxg: string) =>
      ({ type: 'snapshot', name: createTxg, guid: '1', createTxg, creation: new Date(0) }) as const;
    expect(compareVersions(v('9007199254740993'), v('9007199254740992'))).toBe(1);
  });
});
