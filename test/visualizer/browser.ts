/**
 * Test helpers for the visualizer page in real Chromium: is there a browser, build the page,
 * launch headless.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
export const haveChromium = existsSync(CHROMIUM);
export const root = resolve(__dirname, '../..');
export const artifacts = join(root, 'artifacts');

/** Compiles the page (visualizer/web) into a fresh directory; returns the page's scripts' dir. */
export function buildPage(): string {
  const out = mkdtempSync(join(tmpdir(), 'xrepl-page-'));
  const tsc = require.resolve('typescript/bin/tsc');
  execFileSync(
    process.execPath,
    [tsc, '-p', join(root, 'visualizer/web/tsconfig.json'), '--outDir', out],
    {
      stdio: 'pipe',
    },
  );
  // The page's tsconfig is rooted at the repository (it imports types from src/).
  return join(out, 'visualizer', 'web');
}

export function launch(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
      '--disable-sync',
      '--disable-quic',
    ],
  });
}

/** Saves a screenshot under artifacts/ (gitignored). */
export async function shot(page: Page, name: string): Promise<string> {
  mkdirSync(artifacts, { recursive: true });
  const path = join(artifacts, name);
  await page.screenshot({ path });
  return path;
}

/** Collects the page's errors, so a test can assert there were none. */
export function pageErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  return errors;
}

/** How long the page tests wait for something to show. */
export const WAIT = { timeout: 10_000 };

/** Waits until the chart highlights state `path` (e.g. `stepping`) of the selected actor. */
export function highlighted(page: Page, path: string): Promise<unknown> {
  return page.waitForFunction(
    (p) => document.querySelector(`#chart g.state.active[data-path="${p}"]`) !== null,
    path,
    WAIT,
  );
}

/** Chromium and the built page of one describe block: launched before its tests, gone after. */
export interface BrowserSession {
  browser: Browser;
  webDir: string;
}

/** Registers the hooks that launch Chromium and build the page for the enclosing describe. */
export function browserSession(): BrowserSession {
  const session = {} as BrowserSession;
  beforeAll(async () => {
    session.webDir = buildPage();
    session.browser = await launch();
  });
  afterAll(async () => {
    await session.browser?.close();
    if (session.webDir !== undefined) rmSync(session.webDir, { recursive: true, force: true });
  });
  return session;
}
