import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  capabilityCache,
  MINIMAL_CAPABILITIES,
  parsePoolVersion,
  parseRecvUsage,
  parseSendUsage,
  parseZpoolGet,
  poolOf,
  probeCapabilities,
} from '../../../src/endpoints/zfs/capabilities.js';
import { fakeExec, type FakeAnswer } from './fake-exec.js';

const sample = (name: string): string => readFileSync(join(__dirname, 'samples', name), 'utf8');
const signal = new AbortController().signal;

/** Answers of a zfs-fuse machine (pool version 23, captured). */
function zfsFuse(program: string, args: string[]): FakeAnswer {
  const command = [program, ...args].join(' ');
  if (command === 'zpool get version tank') {
    return { stdout: 'NAME      PROPERTY  VALUE    SOURCE\ntank  version   23       default\n' };
  }
  if (command === 'zfs send') return { exitCode: 2, stderr: sample('zfs-fuse-send-usage.txt') };
  if (command === 'zfs receive') return { exitCode: 2, stderr: sample('zfs-fuse-recv-usage.txt') };
  return { exitCode: 2, stderr: `bad property list: invalid property '${args[1]}'\n` };
}

/** Answers of an OpenZFS 2.x machine with feature flags. */
function openZfs(program: string, args: string[]): FakeAnswer {
  const command = [program, ...args].join(' ');
  if (command === 'zpool get version tank') {
    return { stdout: 'NAME  PROPERTY  VALUE    SOURCE\ntank  version   -        default\n' };
  }
  if (command === 'zfs send') return { exitCode: 2, stderr: sample('openzfs-2.1-send-usage.txt') };
  if (command === 'zfs receive') {
    return { exitCode: 2, stderr: sample('openzfs-2.1-recv-usage.txt') };
  }
  if (
    command === 'zpool get feature@bookmarks,feature@extensible_dataset,feature@encryption tank'
  ) {
    return {
      stdout:
        'NAME  PROPERTY                    VALUE   SOURCE\n' +
        'tank  feature@bookmarks           enabled local\n' +
        'tank  feature@extensible_dataset  active  local\n' +
        'tank  feature@encryption          enabled local\n',
    };
  }
  return { exitCode: 1, stderr: 'unexpected\n' };
}

describe('capability detection', () => {
  test('the pool of a dataset is its first component', () => {
    expect(poolOf('tank/a/b')).toBe('tank');
    expect(poolOf('tank')).toBe('tank');
  });

  test('zpool get (table form, zfs-fuse has no -H) by property', () => {
    const values = parseZpoolGet(
      'NAME      PROPERTY  VALUE    SOURCE\nxplore_a  version   23       default\n',
    );
    expect(values.get('version')).toBe('23');
  });

  test('pool version: a number on legacy pools, "-" or 5000 means feature flags', () => {
    expect(parsePoolVersion('23')).toBe(23);
    expect(parsePoolVersion('-')).toBe('feature-flags');
    expect(parsePoolVersion('5000')).toBe('feature-flags');
    expect(() => parsePoolVersion(undefined)).toThrow(/unexpected value/);
  });

  test('send usage: zfs-fuse has neither -n -P nor -t; OpenZFS has both', () => {
    expect(parseSendUsage(sample('openzfs-2.1-send-usage.txt'))).toEqual({
      dryRun: true,
      resume: true,
      flags: 'DLPRVbcehnpvw',
    });
    expect(parseSendUsage(sample('zfs-fuse-send-usage.txt'))).toEqual({
      flags: 'DRp',
      dryRun: false,
      resume: false,
    });
    expect(parseSendUsage(sample('openzfs-send-usage.txt'))).toEqual({
      flags: 'DLPVbcehnpsvw',
      dryRun: true,
      resume: true,
    });
  });

  test('receive usage: OpenZFS sets and excludes properties (-o, -x); zfs-fuse cannot', () => {
    expect(parseRecvUsage(sample('zfs-fuse-recv-usage.txt'))).toEqual({ properties: false });
    expect(parseRecvUsage(sample('openzfs-recv-usage.txt'))).toEqual({ properties: true });
  });

  test('zfs-fuse (pool version 23): no bookmarks, no resume tokens, no size estimates', async () => {
    const exec = fakeExec(zfsFuse);
    await expect(probeCapabilities(exec, 'tank', signal)).resolves.toEqual(MINIMAL_CAPABILITIES);
    // Legacy pools have no features to ask about.
    expect(exec.commands()).toEqual(['zpool get version tank', 'zfs send', 'zfs receive']);
  });

  test('OpenZFS with feature flags: bookmarks, resume tokens, size estimates, holds, encryption', async () => {
    await expect(probeCapabilities(fakeExec(openZfs), 'tank', signal)).resolves.toEqual({
      poolVersion: 'feature-flags',
      bookmarks: true,
      resumeTokens: true,
      sendDryRun: true,
      recvProperties: true,
      holds: true,
      encryption: true,
      sendFlags: 'DLPRVbcehnpvw',
    });
  });

  test('probed once and cached', async () => {
    const exec = fakeExec(zfsFuse);
    const capabilities = capabilityCache(exec, 'tank');
    await capabilities(signal);
    await capabilities(signal);
    expect(exec.commands()).toEqual(['zpool get version tank', 'zfs send', 'zfs receive']);
  });

  test('a failed probe is not cached: the next call probes again', async () => {
    let poolImported = false;
    const exec = fakeExec((program, args) =>
      poolImported
        ? zfsFuse(program, args)
        : { exitCode: 1, stderr: "cannot open 'tank': no such pool\n" },
    );
    const capabilities = capabilityCache(exec, 'tank');
    await expect(capabilities(signal)).rejects.toThrow(/no such pool/);
    poolImported = true;
    await expect(capabilities(signal)).resolves.toEqual(MINIMAL_CAPABILITIES);
  });

  test('given capabilities skip the probe', async () => {
    const exec = fakeExec();
    await capabilityCache(exec, 'tank', MINIMAL_CAPABILITIES)(signal);
    expect(exec.calls).toEqual([]);
  });

  test("one caller's abort rejects that caller only", async () => {
    const exec = fakeExec(zfsFuse);
    const capabilities = capabilityCache(exec, 'tank');
    const aborted = new AbortController();
    aborted.abort(new Error('stop'));
    await expect(capabilities(aborted.signal)).rejects.toThrow('stop');
    await expect(capabilities(signal)).resolves.toEqual(MINIMAL_CAPABILITIES);
  });
});
