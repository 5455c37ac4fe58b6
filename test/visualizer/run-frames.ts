/**
 * Test helper: runs a scripted replication through a Coalescer and returns the frames it
 * produced (with the report at every frame), as the server would send them. Steps wait for
 * the helper, which releases them one at a time and flushes a frame after each, so the
 * frames show the run's progress deterministically (no timers involved).
 */
import { replicate, type Report } from '../../src/index.js';
import { Coalescer } from '../../visualizer/server/coalescer.js';
import type { Frame, ReportJson } from '../../visualizer/web/protocol.js';
import { flush } from '../helpers/deferred.js';
import { Script, type FsSpec } from '../helpers/scripted.js';

export interface RunFrames {
  frames: Frame[];
  report: Report;
  /** The final report as JSON (ISO dates). */
  reportJson: ReportJson;
}

export async function runFrames(
  fss: FsSpec[],
  configure?: (script: Script) => void,
): Promise<RunFrames> {
  const script = new Script(fss, (kind) => kind !== 'step');
  configure?.(script);
  const frames: Frame[] = [];
  let replication: ReturnType<typeof replicate> | null = null;
  const coalescer = new Coalescer({
    intervalMs: 3_600_000, // frames are flushed by hand below
    onFrame: (f) => frames.push(f),
    extras: () =>
      replication === null
        ? []
        : [
            {
              type: '@xrepl.report',
              createdAt: '0',
              report: JSON.parse(JSON.stringify(replication.report())) as ReportJson,
            },
          ],
  });
  replication = replicate(
    { stepQueueConcurrency: 2, maxAttempts: 1, reconnectHardFailTimeoutMs: 1000 },
    script,
    {
      inspect: coalescer.inspect,
    },
  );
  for (;;) {
    await flush();
    coalescer.flush();
    const next = script.pending[0];
    if (next === undefined) break;
    next.gate.resolve(undefined);
  }
  const report = await replication.wait();
  coalescer.close();
  return { frames, report, reportJson: JSON.parse(JSON.stringify(report)) as ReportJson };
}
