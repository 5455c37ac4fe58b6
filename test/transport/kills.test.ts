/**
 * The served side dies mid-stream, again and again: the client's run waits for connectivity,
 * retries, and completes with every snapshot in place and nothing half-received. Kills are
 * triggered by byte counts on the server, never by timers.
 */
import type { Readable } from 'node:stream';
import { MemoryPool, memoryReceiver, memorySender } from '../../src/endpoints/memory/index.js';
import type { ReceiveReq, Receiver } from '../../src/endpoints/types.js';
import { createPlanner } from '../../src/planner/index.js';
import { replicate, type Planner, type Report, type Replication } from '../../src/index.js';
import { grpcReceiver, grpcSender } from '../../src/transport/index.js';
import { config } from '../helpers/driver.js';
import { countingSender, mismatches, partials, Restartable, sourceTree, tap } from './helpers.js';

/** A receiver that calls `onBytes(total)` as bytes arrive, counting over every receive. */
function counting(inner: Receiver, onBytes: (total: number) => void): Receiver {
  let total = 0;
  return {
    listFilesystems: (signal) => inner.listFilesystems(signal),
    listFilesystemVersions: (fs, signal) => inner.listFilesystemVersions(fs, signal),
    waitForConnectivity: (signal) => inner.waitForConnectivity(signal),
    receive(req: ReceiveReq, stream: Readable, signal: AbortSignal) {
      const counted = stream.pipe(tap((n) => onBytes((total += n))));
      stream.once('error', (err) => counted.destroy(err));
      return inner.receive(req, counted, signal);
    },
  };
}

interface Window {
  since: Date | null;
  until: Date | null;
  state: Report['state'];
}

async function runWithKills(options: { resumable: boolean; kills: number; everyBytes: number }) {
  const src = sourceTree({ size: 400_000 });
  const dst = new MemoryPool({ seed: 'dst' });
  let nextKillAt = options.everyBytes;
  const endpoint = counting(
    memoryReceiver(dst, 'backup', { resumable: options.resumable }),
    (total) => {
      if (restartable.kills < options.kills && total >= nextKillAt) {
        nextKillAt = total + options.everyBytes;
        restartable.killAndRestart();
      }
    },
  );
  const restartable: Restartable = new Restartable({ role: 'receiver', endpoint });
  await restartable.start();
  const receiver = grpcReceiver(`grpc://127.0.0.1:${restartable.port}`, {
    reconnect: { initialDelayMs: 5, maxDelayMs: 50 },
  });
  const windows: Window[] = [];
  let replication!: Replication;
  const planner = createPlanner(memorySender(src, 'tank'), receiver, { initial: 'all' });
  const observed: Planner = {
    plan: (signal) => planner.plan(signal),
    waitForConnectivity: (signal) => {
      const r = replication.report();
      windows.push({ since: r.waitReconnectSince, until: r.waitReconnectUntil, state: r.state });
      return planner.waitForConnectivity(signal);
    },
  };
  try {
    replication = replicate(
      config({ maxAttempts: 20, reconnectHardFailTimeoutMs: 60_000, stepQueueConcurrency: 2 }),
      observed,
    );
    const report = await replication.wait();
    return { src, dst, report, windows, kills: restartable.kills };
  } finally {
    receiver.close();
    await restartable.stop();
  }
}

describe('the server killed mid-stream and restarted', () => {
  test.each([
    ['discards partial receives', false],
    ['keeps partial receives for resume', true],
  ])('5 kills in one run: the run completes (receiver %s)', async (_name, resumable) => {
    const { src, dst, report, windows, kills } = await runWithKills({
      resumable,
      kills: 5,
      everyBytes: 1_000_000,
    });
    expect(kills).toBe(5);
    expect(report.state).toBe('done');
    expect(mismatches(src, 'tank', dst, 'backup')).toEqual([]);
    expect(partials(dst)).toEqual([]);
    // Every attempt but the last failed on a dropped connection, and was followed by a
    // reconnect window; an attempt may see more than one kill (other filesystems go on).
    const failed = report.attempts.slice(0, -1);
    expect(failed.length).toBeGreaterThanOrEqual(1);
    expect(failed.length).toBeLessThanOrEqual(5);
    expect(report.attempts.at(-1)?.state).toBe('done');
    for (const attempt of failed) {
      expect(attempt.state).toBe('filesystem-error');
      const errors = attempt.filesystems.flatMap((fs) => (fs.stepError ? [fs.stepError.err] : []));
      expect(errors).toContainEqual(expect.stringMatching(/receive: connection failed/));
    }
    expect(windows).toHaveLength(failed.length);
    const resumedSteps = report.attempts.flatMap((a) =>
      a.filesystems.flatMap((fs) => fs.steps.filter((step) => step.info.resumed)),
    );
    if (resumable) expect(resumedSteps.length).toBeGreaterThan(0);
    else expect(resumedSteps).toEqual([]);
    for (const w of windows) {
      expect(w.state).toBe('waiting-reconnect');
      expect(w.since).toBeInstanceOf(Date);
      expect(w.until!.getTime() - w.since!.getTime()).toBe(60_000);
    }
  });
});

test('a served sender killed mid-stream 5 times: the local receiver ends consistent and complete', async () => {
  const src = sourceTree({ size: 400_000 });
  const dst = new MemoryPool({ seed: 'dst' });
  let nextKillAt = 700_000;
  const endpoint = countingSender(memorySender(src, 'tank'), (total) => {
    if (restartable.kills < 5 && total >= nextKillAt) {
      nextKillAt = total + 700_000;
      restartable.killAndRestart();
    }
  });
  const restartable: Restartable = new Restartable({ role: 'sender', endpoint });
  await restartable.start();
  const sender = grpcSender(`grpc://127.0.0.1:${restartable.port}`, {
    reconnect: { initialDelayMs: 5, maxDelayMs: 50 },
  });
  try {
    const planner = createPlanner(sender, memoryReceiver(dst, 'backup'), { initial: 'all' });
    const report = await replicate(
      config({ maxAttempts: 20, reconnectHardFailTimeoutMs: 60_000 }),
      planner,
    ).wait();
    expect(restartable.kills).toBe(5);
    expect(report.state).toBe('done');
    expect(report.attempts.length).toBeGreaterThan(1);
    const errors = report.attempts
      .slice(0, -1)
      .flatMap((a) => a.filesystems.flatMap((fs) => (fs.stepError ? [fs.stepError.err] : [])));
    expect(errors).toContainEqual(expect.stringMatching(/send: connection failed/));
    expect(mismatches(src, 'tank', dst, 'backup')).toEqual([]);
    expect(partials(dst)).toEqual([]);
  } finally {
    sender.close();
    await restartable.stop();
  }
});
