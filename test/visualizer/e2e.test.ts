/**
 * The visualizer page end to end, in real Chromium: a scripted replication whose calls wait
 * for the test (gates), the page following it live, then the recording replayed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { replicate, type Report } from '../../src/index.js';
import { startVisualizer, type Visualizer } from '../../visualizer/server/server.js';
import { flush } from '../helpers/deferred.js';
import { Script, fsWith, type CallKind } from '../helpers/scripted.js';
import {
  browserSession,
  haveChromium,
  highlighted,
  pageErrors,
  root,
  shot,
  WAIT,
} from './browser.js';

if (!haveChromium) {
  console.log(
    'visualizer e2e skipped: /usr/bin/chromium is not installed (apt-get install chromium)',
  );
}
const describeBrowser = haveChromium ? describe : describe['skip'];

function activeStates(page: Page): Promise<string[]> {
  return page.evaluate(() =>
    Array.from(document.querySelectorAll('#chart g.state.active')).map(
      (g) => g.getAttribute('data-path') ?? '',
    ),
  );
}

/** The pending call, once the driver has made it (the driver runs on its own; no sleeps). */
async function pending(script: Script, kind: CallKind, fs: string, step?: string) {
  for (let i = 0; i < 200; i++) {
    const c = script.pending.find(
      (p) => p.kind === kind && p.fs === fs && (step === undefined || p.step === step),
    );
    if (c !== undefined) return c;
    await flush(1);
  }
  return script.find(kind, fs, step); // throws, listing what is pending
}

describeBrowser('visualizer page in Chromium', () => {
  const session = browserSession();
  // In a directory of its own that does not exist yet: the recorder creates it.
  const recordings = mkdtempSync(join(tmpdir(), 'xrepl-e2e-'));
  const recording = join(recordings, 'new', 'e2e-recording.jsonl');
  let finalReport: Report;

  afterAll(() => rmSync(recordings, { recursive: true, force: true }));

  test('follows a live replication: planning -> stepping -> done, and an injected error', async () => {
    const vis: Visualizer = await startVisualizer({ port: 0, root, scriptDir: session.webDir });
    const page = await session.browser.newPage({ viewport: { width: 1600, height: 1000 } });
    const errors = pageErrors(page);
    try {
      vis.record(recording);
      await page.goto(vis.url);
      await page.waitForSelector('#conn.conn-live', WAIT);

      const script = new Script(
        [fsWith('pool', [1]), fsWith('pool/a', [2, 3]), fsWith('pool/b', [4])],
        (kind: CallKind) => kind === 'plan',
      );
      script.failures.set(
        'step:pool/b:s1',
        new Error('cannot receive: destination pool/b has been modified'),
      );
      const replication = replicate(
        { stepQueueConcurrency: 4, maxAttempts: 1, reconnectHardFailTimeoutMs: 1000 },
        script,
        { inspect: vis.inspect },
      );
      vis.attachReplication(replication);

      // The tree shows run -> attempt -> filesystems; select pool/a.
      await page.locator('.row[data-name="pool/a"] .row-main').click(WAIT);
      await page.waitForFunction(
        () => document.querySelector('#chart-title')?.textContent === 'pool/a',
        null,
        WAIT,
      );
      await highlighted(page, 'planning');
      expect(await activeStates(page)).toEqual(expect.arrayContaining(['planning']));

      (await pending(script, 'planFS', 'pool')).gate.resolve(undefined);
      (await pending(script, 'planFS', 'pool/a')).gate.resolve(undefined);
      // pool/a planned: it waits for its parent pool to be present on the receiver.
      await highlighted(page, 'stepping.waiting-for-parents');
      await page.waitForSelector(
        '.row[data-name="pool/a"][data-blocked="parent-initial-repl"]',
        WAIT,
      );
      expect(await activeStates(page)).not.toContain('planning');
      await shot(page, 'e2e-stepping.png');

      (await pending(script, 'step', 'pool', 's1')).gate.resolve(undefined);
      (await pending(script, 'step', 'pool/a', 's1')).gate.resolve(undefined);
      await highlighted(page, 'stepping.running');
      (await pending(script, 'step', 'pool/a', 's2')).gate.resolve(undefined);
      await highlighted(page, 'done');
      expect(await activeStates(page)).toEqual(['', 'done']);

      // The injected error: pool/b's step fails as soon as it is called.
      (await pending(script, 'planFS', 'pool/b')).gate.resolve(undefined);
      finalReport = await replication.wait();
      expect(finalReport.state).toBe('failed');
      await page.waitForSelector(
        '.row[data-name="pool/b"][data-state="step-error"] .err-dot',
        WAIT,
      );
      await page.waitForFunction(
        () =>
          document
            .querySelector('#report')
            ?.textContent?.includes('destination pool/b has been modified') === true,
        null,
        WAIT,
      );
      await page.waitForSelector('#run-summary .chip.s-failed', WAIT);

      // Clicking the error in the report selects pool/b; its chart shows step-error.
      await page.locator('#report .errors li[data-index]').first().click(WAIT);
      await page.waitForFunction(
        () => document.querySelector('#chart-title')?.textContent === 'pool/b',
        null,
        WAIT,
      );
      await highlighted(page, 'step-error');
      // The filter: errors only.
      await page.selectOption('#filter-state', 'errors');
      await page.waitForFunction(
        () =>
          Array.from(document.querySelectorAll('.row[data-kind="fs"]')).filter(
            (r) => (r as HTMLElement).style.display !== 'none',
          ).length === 1,
        null,
        WAIT,
      );
      await page.selectOption('#filter-state', 'all');
      await page.locator('.row[data-name="pool/a"] .row-main').click(WAIT);
      await highlighted(page, 'done');
      await shot(page, 'e2e-live.png');
      expect(errors).toEqual([]);
    } finally {
      await page.close();
      await vis.close();
    }
  });

  test('replays the recording to the same end, and steps backwards and forwards', async () => {
    expect(finalReport).toBeDefined();
    const vis = await startVisualizer({
      port: 0,
      root,
      scriptDir: session.webDir,
      replay: recording,
    });
    const page = await session.browser.newPage({ viewport: { width: 1600, height: 1000 } });
    const errors = pageErrors(page);
    try {
      await page.goto(vis.url);
      await page.waitForSelector('#conn.conn-replay', WAIT);
      // The end of the replay is the live run's final report.
      const report = await page.evaluate(
        () =>
          (window as unknown as { __xrepl: { app: { timeline: { head: { report: unknown } } } } })
            .__xrepl.app.timeline.head.report,
      );
      expect(report).toEqual(JSON.parse(JSON.stringify(finalReport)));
      await page.waitForSelector('#run-summary .chip.s-failed', WAIT);

      await page.locator('.row[data-name="pool/a"] .row-main').click(WAIT);
      await highlighted(page, 'done');
      const last = Number(await page.getAttribute('#slider', 'max'));
      expect(last).toBeGreaterThan(3);

      // Backwards to the first frame: pool/a had just been created, planning.
      await page.click('#tl-start');
      await page.waitForFunction(
        () => (document.querySelector('#slider') as HTMLInputElement).value === '0',
        null,
        WAIT,
      );
      const firstStates = await activeStates(page);
      expect(firstStates).toContain('planning');
      // Forwards frame by frame: the highlighted state moves through stepping to done.
      const seen = new Set<string>();
      for (let i = 1; i <= last; i++) {
        await page.click('#tl-fwd');
        await page.waitForFunction(
          (v) => (document.querySelector('#slider') as HTMLInputElement).value === String(v),
          i,
          WAIT,
        );
        for (const s of await activeStates(page)) seen.add(s);
      }
      expect([...seen]).toEqual(expect.arrayContaining(['stepping', 'done']));
      await highlighted(page, 'done');
      // And backwards with the slider: the middle is neither the start nor the end.
      await page.locator('#slider').fill(String(Math.floor(last / 2)));
      await page.waitForFunction(
        (v) =>
          document.querySelector('#tl-label')?.textContent?.startsWith(`frame ${v + 1} /`) === true,
        Math.floor(last / 2),
        WAIT,
      );
      await page.click('#tl-end');
      await highlighted(page, 'done');
      await shot(page, 'e2e-replay.png');
      expect(errors).toEqual([]);
    } finally {
      await page.close();
      await vis.close();
    }
  });
});
