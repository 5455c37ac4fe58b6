/**
 * The visualizer serves only its user: a WebSocket from another page's origin (`null`
 * included) and any request naming a host that is not this visualizer's (DNS rebinding) are
 * refused; the page's own origin, loopback names and hosts allowed on purpose are accepted.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { WebSocket } from 'ws';
import { accessPolicy, hostProblem, upgradeProblem } from '../../visualizer/server/access.js';
import { startVisualizer, type Visualizer } from '../../visualizer/server/server.js';

const root = resolve(__dirname, '../..');
let dir: string;
let scriptDir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'xrepl-vis-access-'));
  scriptDir = join(dir, 'js');
  mkdirSync(scriptDir);
  writeFileSync(join(scriptDir, 'main.js'), 'export const page = 1;\n');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const opened: Visualizer[] = [];
async function open(options: { host?: string; allowedHosts?: string[] } = {}) {
  const vis = await startVisualizer({ port: 0, root, scriptDir, ...options });
  opened.push(vis);
  return { vis, port: Number(new URL(vis.url).port) };
}
afterEach(async () => {
  await Promise.all(opened.splice(0).map((v) => v.close()));
});

/** GET `path` from the visualizer on loopback with `host` as the Host header. */
function get(port: number, path: string, host: string): Promise<{ status: number; body: string }> {
  return new Promise((ok, fail) => {
    const req = request(
      { host: '127.0.0.1', port, path, headers: { host }, agent: false },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => ok({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', fail);
    req.end();
  });
}

/**
 * Opens the WebSocket with these headers; resolves with 'hello' (accepted, the greeting came)
 * or the HTTP status of the refusal.
 */
function connect(
  port: number,
  headers: { host: string; origin?: string },
): Promise<string | number> {
  return new Promise((ok, fail) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, {
      headers: { host: headers.host },
      ...(headers.origin !== undefined && { origin: headers.origin }),
    });
    ws.once('message', (data: Buffer) => {
      const type = (JSON.parse(data.toString()) as { type: string }).type;
      ws.once('close', () => ok(type));
      ws.close();
    });
    ws.once('unexpected-response', (_req, res) => {
      ok(res.statusCode ?? 0);
      res.resume();
      ws.terminate();
    });
    ws.once('error', fail);
  });
}

describe('the access policy', () => {
  const policy = accessPolicy('127.0.0.1', 8080);

  test.each([
    ['127.0.0.1:8080', undefined],
    ['localhost:8080', undefined],
    ['LOCALHOST:8080', undefined],
    ['[::1]:8080', undefined],
    ['evil.example:8080', 'Host "evil.example:8080" is not this visualizer\'s'],
    ['127.0.0.1:9090', 'Host "127.0.0.1:9090" is not this visualizer\'s'],
    ['127.0.0.1', 'Host "127.0.0.1" is not this visualizer\'s'],
    ['user@127.0.0.1:8080', 'malformed Host header'],
    ['', 'no Host header'],
  ])('Host %j', (host, problem) => {
    const found = hostProblem({ host }, policy);
    if (problem === undefined) expect(found).toBeNull();
    else expect(found).toContain(problem);
  });

  test.each([
    [undefined, null],
    ['http://127.0.0.1:8080', null],
    ['HTTP://127.0.0.1:8080', null],
    ['http://evil.example', 'Origin "http://evil.example" is not the page\'s own'],
    ['null', 'Origin "null" is not the page\'s own'],
    ['http://localhost:8080', 'Origin "http://localhost:8080" is not the page\'s own'],
    ['https://127.0.0.1:8080', "is not the page's own"],
    ['http://127.0.0.1:8081', "is not the page's own"],
  ])('a WebSocket from Origin %j to Host 127.0.0.1:8080', (origin, problem) => {
    const found = upgradeProblem({ host: '127.0.0.1:8080', origin }, policy);
    if (problem === null) expect(found).toBeNull();
    else expect(found).toContain(problem);
  });

  test('a deliberate bind address and allowed names are accepted; a wildcard is no name', () => {
    const anywhere = accessPolicy('0.0.0.0', 8080, ['backup.example']);
    expect(hostProblem({ host: 'backup.example:8080' }, anywhere)).toBeNull();
    expect(hostProblem({ host: '0.0.0.0:8080' }, anywhere)).not.toBeNull();
    expect(hostProblem({ host: '192.0.2.10:8080' }, anywhere)).not.toBeNull();
    const bound = accessPolicy('192.0.2.10', 8080);
    expect(hostProblem({ host: '192.0.2.10:8080' }, bound)).toBeNull();
    const v6 = accessPolicy('::1', 80);
    expect(hostProblem({ host: '[::1]' }, v6)).toBeNull();
    expect(upgradeProblem({ host: '[::1]', origin: 'http://[::1]' }, v6)).toBeNull();
  });
});

describe('the visualizer refuses other pages and other hosts', () => {
  test("a WebSocket from the page's own origin is accepted, with or without Origin", async () => {
    const { port } = await open();
    const host = `127.0.0.1:${port}`;
    expect(await connect(port, { host, origin: `http://${host}` })).toBe('hello');
    expect(await connect(port, { host })).toBe('hello');
    const named = `localhost:${port}`;
    expect(await connect(port, { host: named, origin: `http://${named}` })).toBe('hello');
  });

  test('a WebSocket from another origin is refused with 403', async () => {
    const { port } = await open();
    const host = `127.0.0.1:${port}`;
    expect(await connect(port, { host, origin: 'http://evil.example' })).toBe(403);
    expect(await connect(port, { host, origin: 'null' })).toBe(403);
  });

  test('DNS rebinding: a Host that names another site is refused, page, API and WebSocket', async () => {
    const { port } = await open();
    const evil = `evil.example:${port}`;
    expect(await connect(port, { host: evil, origin: `http://${evil}` })).toBe(403);
    const page = await get(port, '/', evil);
    expect(page.status).toBe(403);
    expect(page.body).toMatch(/refused: Host "evil\.example:\d+" is not this visualizer's/);
    expect((await get(port, '/api/stats', evil)).status).toBe(403);
    expect((await get(port, '/api/session', `localhost:${port}`)).status).toBe(200);
  });

  test('a host allowed on purpose is accepted', async () => {
    const { port } = await open({ allowedHosts: ['backup.example'] });
    const named = `backup.example:${port}`;
    expect(await connect(port, { host: named, origin: `http://${named}` })).toBe('hello');
    expect((await get(port, '/api/session', named)).status).toBe(200);
  });
});
