import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryPool } from '../../src/endpoints/memory/index.js';
import { parseConfig, type SnapJob } from '../../src/jobs/config.js';
import { runHook } from '../../src/jobs/hooks.js';
import { takeSnapshots } from '../../src/jobs/operations.js';
import { memoryDeps } from './fakes.js';

describe('snapshot hooks', () => {
  let dir: string;
  const script = (name: string, body: string): string => {
    const path = join(dir, name);
    writeFileSync(path, `#!/bin/sh\n${body}\n`);
    chmodSync(path, 0o755);
    return path;
  };
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'xrepl-hooks-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const env = { job: 'j', phase: 'pre' as const, snapshot: 'x_1', datasets: ['tank/a', 'tank/b'] };

  test('a hook sees the job, phase, snapshot and datasets in its environment', async () => {
    const out = join(dir, 'env');
    const path = script(
      'env.sh',
      `printf '%s|%s|%s|%s' "$XREPL_JOB" "$XREPL_HOOK_PHASE" "$XREPL_SNAPSHOT" "$XREPL_DATASETS" > ${out}`,
    );
    await runHook(
      { type: 'command', path, timeout: '10s', err_is_fatal: true },
      env,
      AbortSignal.timeout(30_000),
    );
    expect(readFileSync(out, 'utf8')).toBe('j|pre|x_1|tank/a\ntank/b');
  });

  test('a failing hook rejects with its exit code and stderr', async () => {
    const path = script('fail.sh', 'echo frozen fs busy >&2; exit 3');
    await expect(
      runHook(
        { type: 'command', path, timeout: '10s', err_is_fatal: true },
        env,
        AbortSignal.timeout(30_000),
      ),
    ).rejects.toThrow(`pre hook ${path}: exit 3: frozen fs busy`);
  });

  test('a hook past its timeout is killed', async () => {
    const path = script('slow.sh', 'exec sleep 30');
    await expect(
      runHook(
        { type: 'command', path, timeout: '200ms', err_is_fatal: true },
        env,
        AbortSignal.timeout(30_000),
      ),
    ).rejects.toThrow('timed out after 200ms');
  });

  test('err_is_fatal fails the snapshot run before any snapshot; otherwise the run goes on', async () => {
    const pool = new MemoryPool({ seed: 'h' });
    pool.createDataset('tank');
    pool.createDataset('tank/a');
    const deps = memoryDeps(pool, () => new Date(Date.UTC(2026, 11, 3)));
    const job = (fatal: boolean) =>
      parseConfig(`
jobs:
  - name: j
    type: snap
    filesystems: { "tank/a": true }
    snapshotting: { type: manual, prefix: x_, hooks: [ { type: command, path: ${script('no.sh', 'exit 1')}, err_is_fatal: ${fatal} } ] }
    pruning: { keep: [] }
`).jobs[0] as SnapJob;
    await expect(takeSnapshots(job(true), deps, AbortSignal.timeout(30_000))).rejects.toThrow(
      'exit 1',
    );
    expect(pool.get('tank/a')?.snapshots).toEqual([]);
    await expect(
      takeSnapshots(job(false), deps, AbortSignal.timeout(30_000)),
    ).resolves.toMatchObject({
      name: 'x_20261203T000000Z',
      datasets: ['tank/a'],
    });
  });
});
