import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { WebSocket } from 'ws';
import { replicate, ReportSchema } from '../../src/index.js';
import { parseRecording, Recorder } from '../../visualizer/server/recording.js';
import { startVisualizer, type Visualizer } from '../../visualizer/server/server.js';
import { applyFrame, emptyModel } from '../../visualizer/web/model.js';
import type { Frame, ServerMessage, SessionInfo } from '../../visualizer/web/protocol.js';
import { Script, fsWith } from '../helpers/scripted.js';
import { until } from './until.js';

const root = resolve(__dirname, '../..');
let dir: string;
let scriptDir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'xrepl-vis-'));
  scriptDir = join(dir, 'js');
  mkdirSync(scriptDir);
  writeFileSync(join(scriptDir, 'main.js'), 'export const page = 1;\n');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function httpGet(url: string): Promise<{ status: number; type: string; body: string }> {
  return new Promise((ok, fail) => {
    get(url, { agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () =>
        ok({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body }),
      );
    }).on('error', fail);
  });
}

/** A WebSocket client that collects frames until `until` says it has seen enough. */
function watch(
  url: string,
  until: (frames: Frame[]) => boolean,
): { done: Promise<Frame[]>; ws: WebSocket; hello: Promise<void> } {
  const ws = new WebSocket(`${url.replace(/^http/, 'ws')}ws`);
  const frames: Frame[] = [];
  let helloSeen!: () => void;
  const hello = new Promise<void>((r) => (helloSeen = r));
  const done = new Promise<Frame[]>((ok, fail) => {
    ws.on('message', (data: Buffer) => {
      const msg = JSON.parse(data.toString()) as ServerMessage;
      if (msg.type === 'hello') helloSeen();
      else frames.push(...msg.frames);
      if (until(frames)) ok(frames);
    });
    ws.on('error', fail);
  });
  return { done, ws, hello };
}

function closeClient(ws: WebSocket): Promise<void> {
  return new Promise((r) => {
    if (ws.readyState === ws.CLOSED) return r();
    ws.once('close', () => r());
    ws.close();
  });
}

const finalReport = (frames: Frame[]): boolean =>
  frames.some((f) =>
    f.messages.some((m) => m.type === '@xrepl.report' && m.report.state !== 'attempting'),
  );

function fold(frames: Frame[]) {
  const m = emptyModel();
  for (const f of frames) applyFrame(m, f);
  return m;
}

/** Starts a visualizer that is closed after the test, whether the test passed or not. */
const opened: Visualizer[] = [];
async function open(options: Parameters<typeof startVisualizer>[0]): Promise<Visualizer> {
  const vis = await startVisualizer(options);
  opened.push(vis);
  return vis;
}
afterEach(async () => {
  await Promise.all(opened.splice(0).map((v) => v.close()));
});

const fss = () => [fsWith('pool', [1, 2]), fsWith('pool/a', [3]), fsWith('pool/b', [4])];
const config = { stepQueueConcurrency: 2, maxAttempts: 1, reconnectHardFailTimeoutMs: 1000 };

describe('the visualizer server serves the page from local files', () => {
  let vis: Visualizer;
  beforeAll(async () => {
    vis = await startVisualizer({ port: 0, root, scriptDir });
  });
  afterAll(() => vis.close());

  test('index.html, style.css, the page modules and elkjs', async () => {
    expect(vis.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const index = await httpGet(vis.url);
    expect([index.status, index.type]).toEqual([200, 'text/html; charset=utf-8']);
    expect(index.body).toContain('<script type="module" src="/js/main.js">');
    expect((await httpGet(`${vis.url}style.css`)).type).toBe('text/css; charset=utf-8');
    const main = await httpGet(`${vis.url}js/main.js`);
    expect([main.status, main.type, main.body]).toEqual([
      200,
      'text/javascript; charset=utf-8',
      'export const page = 1;\n',
    ]);
    const elk = await httpGet(`${vis.url}vendor/elk.bundled.js`);
    expect(elk.status).toBe(200);
    expect(elk.body).toContain('ELK');
  });

  test('refuses paths outside its directories; says how to build a missing page', async () => {
    expect((await httpGet(`${vis.url}js/..%2F..%2Fpackage.json`)).status).toBe(404);
    expect((await httpGet(`${vis.url}package.json`)).status).toBe(404);
    const missing = await httpGet(`${vis.url}js/nope.js`);
    expect(missing.status).toBe(404);
    expect(missing.body).toContain('tsc -p visualizer/web/tsconfig.json');
  });

  test('/api/session says live, with the WebSocket path', async () => {
    const s = JSON.parse((await httpGet(`${vis.url}api/session`)).body) as SessionInfo;
    expect(s).toEqual({ mode: 'live', ws: '/ws' });
  });
});

describe('live: inspection frames and the report over the WebSocket', () => {
  test('a page gets hello, graphs, actors and reports validated by ReportSchema, ending with the final report', async () => {
    const vis = await open({ port: 0, root, scriptDir });
    const client = watch(vis.url, finalReport);
    await client.hello;
    const r = replicate(config, new Script(fss()), { inspect: vis.inspect });
    vis.attachReplication(r);
    const final = await r.wait();
    const frames = await client.done;
    const m = fold(frames);
    expect(m.report).toEqual(JSON.parse(JSON.stringify(final)));
    expect([...m.graphs.keys()].sort()).toEqual(['attempt', 'filesystem', 'run']);
    for (const f of frames) {
      for (const msg of f.messages)
        if (msg.type === '@xrepl.report')
          expect(() => ReportSchema.parse(msg.report)).not.toThrow();
    }
    expect(vis.stats()).toMatchObject({ clients: 1, reportError: null });
    await vis.close();
    expect(client.ws.readyState).toBe(WebSocket.CLOSED);
  });

  test('a page that connects later gets one catch-up frame with the current state', async () => {
    const vis = await open({ port: 0, root, scriptDir });
    const r = replicate(config, new Script(fss()), { inspect: vis.inspect });
    vis.attachReplication(r);
    const final = await r.wait();
    // Nobody watched: no frame was built, no report computed, nothing encoded.
    expect(vis.stats()).toMatchObject({ clients: 0, frames: 0, reports: 0, bytes: 0 });
    const first = watch(vis.url, finalReport);
    const frames = await first.done;
    expect(frames).toHaveLength(1);
    const m = fold(frames);
    expect(m.report).toEqual(JSON.parse(JSON.stringify(final)));
    expect([...m.graphs.keys()].sort()).toEqual(['attempt', 'filesystem', 'run']);
    // The run, its attempt and the three filesystems, in the states they ended in.
    const values = [...m.actors.values()].map(
      (a) => `${a.machine}:${JSON.stringify(a.snapshot.value)}`,
    );
    expect(values).toEqual(expect.arrayContaining(['run:"done"', 'attempt:"done"']));
    expect(values.filter((v) => v === 'filesystem:"done"')).toHaveLength(3);
    expect(vis.stats()).toMatchObject({ frames: 1, reports: 1 });
    await closeClient(first.ws);
    await vis.close();
  });

  test('a report that fails validation is not sent, and the error is kept', async () => {
    const vis = await open({ port: 0, root, scriptDir });
    const page = watch(vis.url, () => false); // reports are built only for someone
    await page.hello;
    vis.attachReplication({ report: () => ({ state: 'bogus' }) as never });
    await until(() => vis.stats().reportError !== null);
    const s = vis.stats();
    expect(s.reports).toBe(0);
    expect(s.reportError).toContain('state');
    await closeClient(page.ws);
    await vis.close();
  });
});

describe('record and replay', () => {
  test('a recording replays to the same final report, through /api/replay.json', async () => {
    const file = join(dir, 'run.jsonl');
    const vis = await open({ port: 0, root, scriptDir });
    vis.record(file);
    const script = new Script(fss(), (kind) => kind !== 'step');
    script.failures.set('step:pool/b:s1', new Error('disk full'));
    const r = replicate(config, script, { inspect: vis.inspect });
    vis.attachReplication(r);
    // Release the steps one by one, each after a frame went out, so the run spans frames.
    for (;;) {
      const frames = vis.stats().frames;
      await until(() => vis.stats().frames > frames);
      const next = script.pending[0];
      if (next === undefined) break;
      next.gate.resolve(undefined);
    }
    const final = await r.wait();
    await vis.close();

    const lines = readFileSync(file, 'utf8').trim().split('\n');
    expect(JSON.parse(lines[0] as string)).toMatchObject({ type: '@xrepl.frame', seq: 0 });
    const types = new Set(lines.map((l) => (JSON.parse(l) as { type: string }).type));
    expect([...types].sort()).toEqual([
      '@xrepl.frame',
      '@xrepl.graph',
      '@xrepl.report',
      '@xstate.actor',
      '@xstate.event',
      '@xstate.snapshot',
    ]);

    const replay = await open({ port: 0, root, scriptDir, replay: file });
    const session = JSON.parse((await httpGet(`${replay.url}api/session`)).body) as SessionInfo;
    expect(session).toEqual({ mode: 'replay', replay: '/api/replay.json', source: 'run.jsonl' });
    const frames = JSON.parse((await httpGet(`${replay.url}api/replay.json`)).body) as Frame[];
    const m = fold(frames);
    expect(m.report).toEqual(JSON.parse(JSON.stringify(final)));
    expect(m.report?.attempts[0]?.filesystems[2]?.stepError?.err).toBe('disk full');
    await replay.close();
  });

  test('reports are recorded at most once a second, and always the last', () => {
    const file = join(dir, 'thin.jsonl');
    const rec = new Recorder(file);
    const report = (state: string) => ({
      type: '@xrepl.report' as const,
      createdAt: '0',
      report: { state } as never,
    });
    for (let i = 0; i < 25; i++)
      rec.write({ seq: i, time: i * 100, droppedEvents: 0, messages: [report('attempting')] });
    rec.close();
    const frames = parseRecording(
      readFileSync(file, 'utf8').replace(
        /"report":\{"state":"attempting"\}/g,
        '"report":' + JSON.stringify(sampleReport()),
      ),
    );
    expect(frames.map((f) => f.time)).toEqual([0, 1000, 2000, 2400]);
  });

  test('a bad recording is refused with the line that is wrong', async () => {
    const file = join(dir, 'bad.jsonl');
    writeFileSync(
      file,
      '{"type":"@xrepl.frame","seq":0,"time":0,"droppedEvents":0}\n{"type":"@xrepl.report","createdAt":"0","report":{"state":"nope"}}\n',
    );
    await expect(startVisualizer({ port: 0, root, scriptDir, replay: file })).rejects.toThrow(
      /bad\.jsonl:2: invalid report/,
    );
    writeFileSync(file, 'not json\n');
    await expect(startVisualizer({ port: 0, root, scriptDir, replay: file })).rejects.toThrow(
      /bad\.jsonl:1: not JSON/,
    );
    await expect(
      startVisualizer({ port: 0, root, scriptDir, replay: join(dir, 'missing.jsonl') }),
    ).rejects.toThrow(/cannot read recording/);
  });
});

function sampleReport() {
  return {
    state: 'done',
    startAt: '2024-01-01T00:00:00.000Z',
    finishAt: '2024-01-01T00:00:01.000Z',
    waitReconnectSince: null,
    waitReconnectUntil: null,
    waitReconnectError: null,
    attempts: [],
  };
}
