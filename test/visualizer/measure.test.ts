/**
 * Measures the page with 2,000 filesystems: a scripted replication whose steps wait and are
 * released in batches (each batch as soon as the page has seen a new frame), the page open in
 * Chromium. Prints render time per frame and messages per second; checks the page stays
 * bounded (≤ ~10 renders a second, a virtualised tree) and ends with the run's final report.
 */
import { replicate, type Report } from '../../src/index.js';
import { startVisualizer } from '../../visualizer/server/server.js';
import type { PageStats } from '../../visualizer/web/app.js';
import { Script, type FsSpec } from '../helpers/scripted.js';
import { browserSession, haveChromium, pageErrors, root, shot } from './browser.js';
import { until } from './until.js';

if (!haveChromium) {
  console.log(
    'visualizer measurement skipped: /usr/bin/chromium is not installed (apt-get install chromium)',
  );
}
const describeBrowser = haveChromium ? describe : describe['skip'];

const FILESYSTEMS = 2000;

/** pool, 20 groups below it, and leaves below the groups: 2,000 in all, 2 steps each. */
function tree(n: number): FsSpec[] {
  const names = ['pool', ...Array.from({ length: 20 }, (_, g) => `pool/g${g}`)];
  for (let i = 0; names.length < n; i++) names.push(`pool/g${i % 20}/fs${i}`);
  return names.map((name, i) => ({
    name,
    steps: [
      { from: '', to: 's1', date: i, bytes: 4e9 + (i % 7) * 1e8 },
      { from: 's1', to: 's2', date: n + i, bytes: 2e8 + (i % 5) * 1e7 },
    ],
  }));
}

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? 0;
}

describeBrowser(`visualizer with ${FILESYSTEMS} filesystems`, () => {
  const session = browserSession();

  test('renders at most ~10 times a second, keeps the DOM small, ends with the final report', async () => {
    const vis = await startVisualizer({ port: 0, root, scriptDir: session.webDir });
    const page = await session.browser.newPage({ viewport: { width: 1600, height: 1000 } });
    const errors = pageErrors(page);
    const stats = (): Promise<PageStats> =>
      page.evaluate(() => (window as unknown as { __xrepl: { stats: PageStats } }).__xrepl.stats);
    try {
      await page.goto(vis.url);
      await page.waitForSelector('#conn.conn-live');
      const script = new Script(tree(FILESYSTEMS), (kind) => kind !== 'step');
      const started = Date.now();
      const replication = replicate(
        { stepQueueConcurrency: 200, maxAttempts: 1, reconnectHardFailTimeoutMs: 1000 },
        script,
        { inspect: vis.inspect },
      );
      vis.attachReplication(replication);
      let final: Report | null = null;
      void replication.wait().then((r) => (final = r));

      let batches = 0;
      let released = 0;
      for (;;) {
        await until(() => final !== null || script.pending.length > 0, 30_000);
        if (final !== null) break;
        // Release the next batch once the server has sent a frame with the previous one.
        const sent = vis.stats().frames;
        const batch = [...script.pending];
        for (const c of batch) c.gate.resolve(undefined);
        released += batch.length;
        batches++;
        await until(() => vis.stats().frames > sent || final !== null, 30_000);
        if (batches === 8) {
          // The tree is virtualised: find the row with the name filter, select it, clear the filter.
          await page.fill('#filter-name', 'pool/g3/fs43');
          await page.locator('.row[data-name="pool/g3/fs43"] .row-main').click();
          await page.fill('#filter-name', '');
          await shot(page, 'measure-2000-midrun.png');
        }
      }
      const runMs = Date.now() - started;
      await page.waitForSelector('#run-summary .chip.s-done', { timeout: 30_000 });
      const endMs = Date.now() - started;
      const s = await stats();
      const server = vis.stats();
      const onPage = await page.evaluate(
        () =>
          (window as unknown as { __xrepl: { app: { timeline: { head: { report: unknown } } } } })
            .__xrepl.app.timeline.head.report,
      );
      expect(onPage).toEqual(JSON.parse(JSON.stringify(final)));
      await shot(page, 'measure-2000-end.png');

      const seconds = endMs / 1000;
      const r = s.renderMs;
      const lines = [
        `visualizer, ${FILESYSTEMS} filesystems x 2 steps, ${released} steps released in ${batches} batches`,
        `  run ${runMs} ms; page showed the final report after ${endMs} ms`,
        `  server: ${server.frames} frames (${(server.frames / seconds).toFixed(1)}/s), ${server.messages} messages, ` +
          `${(server.bytes / 1e6).toFixed(1)} MB (${(server.bytes / 1e6 / seconds).toFixed(2)} MB/s); ` +
          `frame build ${(server.frameMs / Math.max(1, server.frames)).toFixed(2)} ms/frame, ` +
          `report+encode ${(server.reportMs / Math.max(1, server.reports)).toFixed(2)} ms/report (${server.reports} reports, ${server.validations} checked with ReportSchema)`,
        `  page: ${s.frames} frames, ${s.messages} messages (${(s.messages / seconds).toFixed(0)} msg/s), ` +
          `${(s.bytes / 1e6).toFixed(1)} MB received; fold ${(s.applyMs / Math.max(1, s.frames)).toFixed(2)} ms/frame`,
        `  renders: ${s.renders} (${(s.renders / seconds).toFixed(1)}/s); render time ms: ` +
          `median ${quantile(r, 0.5).toFixed(1)}, p95 ${quantile(r, 0.95).toFixed(1)}, max ${Math.max(...r).toFixed(1)}; ` +
          `last render parts ${JSON.stringify(Object.fromEntries(Object.entries(s.parts).map(([k, v]) => [k, Number(v.toFixed(1))])))}`,
        `  tree rows in the DOM: ${s.domRows} (of ${FILESYSTEMS + 2} rows)`,
      ];
      console.log(lines.join('\n'));

      expect(s.renders / seconds).toBeLessThanOrEqual(12);
      expect(s.domRows).toBeLessThan(100);
      expect(errors).toEqual([]);
    } finally {
      await page.close();
      await vis.close();
    }
  }, 120_000);
});
