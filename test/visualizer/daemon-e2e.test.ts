/**
 * The visualizer page for a daemon, end to end in real Chromium: the daemon's runtime on a
 * simulated pool (a push job with a manual schedule, woken up by the test) wired to the
 * visualizer as `xrepl daemon --visualize` wires it. One receive waits for the test, so the
 * page is seen while the job replicates. Every wait polls the DOM with a deadline.
 */
import type { Page } from 'playwright-core';
import { visualizerWiring } from '../../src/cli/daemon.js';
import { MemoryPool } from '../../src/endpoints/memory/index.js';
import type { Receiver } from '../../src/endpoints/types.js';
import { parseConfig } from '../../src/jobs/config.js';
import { JobRuntime } from '../../src/jobs/runtime.js';
import { startVisualizer, type Visualizer } from '../../visualizer/server/server.js';
import { deferred } from '../helpers/deferred.js';
import { fakeTimers, memoryDeps } from '../jobs/fakes.js';
import {
  browserSession,
  haveChromium,
  highlighted,
  pageErrors,
  root,
  shot,
  WAIT,
} from './browser.js';
import { until } from './until.js';

const describeBrowser = haveChromium ? describe : describe['skip'];
const CONFIG = parseConfig(`
jobs:
  - name: home
    type: push
    connect: zfs:backup/host
    filesystems: { "tank/home<": true }
    snapshotting: { type: manual, prefix: m_ }
    pruning:
      keep_sender: [ { type: not_replicated }, { type: last_n, count: 1 } ]
      keep_receiver: [ { type: last_n, count: 2 } ]
`);

function text(page: Page, selector: string, wanted: string): Promise<unknown> {
  return page.waitForFunction(
    ([s, w]) => document.querySelector(s as string)?.textContent?.includes(w as string) === true,
    [selector, wanted],
    WAIT,
  );
}

/** The tree's rows top to bottom, indented by depth: `  job home`. */
function treeShown(page: Page): Promise<string[]> {
  return page.evaluate(() =>
    Array.from(document.querySelectorAll<HTMLElement>('#tree .row'))
      .filter((r) => r.style.display !== 'none')
      .map((r) => {
        const y = Number(/translateY\((\d+)/.exec(r.style.transform)?.[1] ?? 0);
        const pad = parseInt(r.querySelector<HTMLElement>('.row-main')?.style.paddingLeft ?? '8');
        return { y, line: `${'  '.repeat((pad - 8) / 16)}${r.dataset.kind} ${r.dataset.name}` };
      })
      .sort((a, b) => a.y - b.y)
      .map((r) => r.line),
  );
}

describeBrowser('the visualizer page for a daemon, in Chromium', () => {
  const session = browserSession();

  test('shows the daemon, its job, and the job run with its filesystems; a new run replaces the last', async () => {
    const clock = fakeTimers();
    const pool = new MemoryPool({ seed: 'host', now: clock.now });
    for (const d of ['tank', 'tank/home', 'tank/home/a', 'backup', 'backup/host'])
      pool.createDataset(d);
    const deps = memoryDeps(pool, clock.now);
    // home/a's receive waits for the test (aborted with the job when the daemon stops).
    let gate = deferred();
    const openReceiver = deps.openReceiver;
    deps.openReceiver = async (spec, options) => {
      const opened = await openReceiver(spec, options);
      const endpoint: Receiver = Object.create(opened.endpoint) as Receiver;
      endpoint.receive = async (req, stream, signal) => {
        if (req.filesystem === 'home/a') {
          const aborted = new Promise<never>((_, reject) =>
            signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true }),
          );
          await Promise.race([gate.promise, aborted]);
        }
        return opened.endpoint.receive(req, stream, signal);
      };
      return { ...opened, endpoint };
    };

    const vis: Visualizer = await startVisualizer({ port: 0, root, scriptDir: session.webDir });
    const runtime = new JobRuntime({
      config: CONFIG,
      deps,
      timers: clock.timers,
      ...visualizerWiring(vis),
    });
    vis.attachDaemon(runtime);
    const page = await session.browser.newPage({ viewport: { width: 1600, height: 1000 } });
    const errors = pageErrors(page);
    const job = () => runtime.status().jobs[0]!;
    try {
      runtime.start();
      await page.goto(vis.url);
      await page.waitForSelector('#conn.conn-live', WAIT);

      // The daemon and its idle job; the daemon's panel lists the job.
      await page.waitForSelector('.row[data-kind="daemon"][data-state="running"]', WAIT);
      await page.waitForSelector(
        '.row[data-kind="job"][data-name="home"][data-state="idle"]',
        WAIT,
      );
      await page.waitForSelector('#run-summary .chip.s-running', WAIT);
      await page.locator('.row[data-kind="daemon"] .row-main').click(WAIT);
      await text(page, '#chart-title', 'daemon');
      await highlighted(page, 'running');
      await page.waitForSelector('#report tr[data-job="home"]', WAIT);

      // Woken up: the job snapshots and replicates; home/a's receive holds it in replicating.
      runtime.wakeup('home');
      await page.waitForSelector(
        '.row[data-kind="job"][data-name="home"][data-state="replicating"]',
        WAIT,
      );
      await page.locator('#report tr[data-job="home"]').click(WAIT);
      await text(page, '#chart-title', 'home');
      await highlighted(page, 'replicating');
      await text(page, '#report', 'Job home');
      // Under the job: its run, the attempt and the filesystems.
      await page.waitForSelector('.row[data-kind="run"][data-state="attempting"]', WAIT);
      await page.waitForSelector('.row[data-kind="fs"][data-name="home"][data-state="done"]', WAIT);
      await page.waitForSelector(
        '.row[data-kind="fs"][data-name="home/a"][data-state="stepping"]',
        WAIT,
      );
      expect(await treeShown(page)).toEqual([
        'daemon daemon',
        '  job home',
        '    run run',
        '      attempt attempt 1',
        '        fs home',
        '        fs home/a',
      ]);
      await shot(page, 'e2e-daemon-replicating.png');

      gate.resolve();
      await until(() => job().cycles === 1 && job().state === 'idle');
      await page.waitForSelector(
        '.row[data-kind="job"][data-name="home"][data-state="idle"]',
        WAIT,
      );
      await page.waitForSelector(
        '.row[data-kind="fs"][data-name="home/a"][data-state="done"]',
        WAIT,
      );
      await page.waitForSelector('.row[data-kind="run"][data-state="done"]', WAIT);
      await highlighted(page, 'idle');
      // The job's card and its run's report: done, both filesystems.
      await page.waitForSelector('#report .chip.s-done', WAIT);
      await text(page, '#report', 'pruned (receiver)');
      const firstRun = await page.getAttribute('.row[data-kind="run"]', 'data-session');

      // A second cycle: the new run replaces the old one under the job.
      gate = deferred();
      gate.resolve();
      clock.advance(60_000); // the next snapshot's name is a minute later
      runtime.wakeup('home');
      await until(() => job().cycles === 2 && job().state === 'idle');
      await page.waitForFunction(
        (old) => {
          const runs = document.querySelectorAll('.row[data-kind="run"]');
          return (
            runs.length === 1 &&
            runs[0]?.getAttribute('data-session') !== old &&
            runs[0]?.getAttribute('data-state') === 'done'
          );
        },
        firstRun,
        WAIT,
      );
      await shot(page, 'e2e-daemon.png');
      expect(errors).toEqual([]);
    } finally {
      await page.close();
      await runtime.stop();
      await vis.close();
    }
  });
});
