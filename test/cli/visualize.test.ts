/** `xrepl visualize` in-process: a recording replayed, the demo live, bad arguments. */
import { writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { fakeIO, run, tempDir } from './helpers.js';

const temp = tempDir();
afterAll(() => temp.cleanup());

function httpGet(url: string): Promise<{ status: number; body: string }> {
  return new Promise((ok, fail) => {
    get(url, { agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => ok({ status: res.statusCode ?? 0, body }));
    }).on('error', fail);
  });
}

const report = {
  state: 'done',
  startAt: '2024-01-01T00:00:00.000Z',
  finishAt: '2024-01-01T00:00:01.000Z',
  waitReconnectSince: null,
  waitReconnectUntil: null,
  waitReconnectError: null,
  attempts: [],
};

describe('xrepl visualize', () => {
  test('--port 0 --replay FILE serves the recording until Ctrl-C', async () => {
    const file = temp.file('replay.jsonl');
    writeFileSync(
      file,
      `{"type":"@xrepl.report","createdAt":"0","report":${JSON.stringify(report)}}\n`,
    );
    const io = fakeIO();
    const running = run(['visualize', '--port', '0', '--replay', file], io);
    await io.waitFor(/press Ctrl-C to stop/);
    const url =
      /xrepl visualizer \(replaying .*replay\.jsonl\): (http:\/\/127\.0\.0\.1:\d+\/)/.exec(
        io.out,
      )?.[1];
    expect(url).toBeDefined();
    const frames = JSON.parse((await httpGet(`${url}api/replay.json`)).body) as unknown[];
    expect(frames).toHaveLength(1);
    io.interrupt();
    expect((await running).code).toBe(0);
  });

  test("--demo shows xrepl demo's replication; Ctrl-C stops it", async () => {
    const io = fakeIO();
    const running = run(['visualize', '--port', '0', '--demo'], io);
    await io.waitFor(/^visualizer: http:\/\/127\.0\.0\.1:\d+\/$/m);
    expect(io.out).toMatch(/^xrepl demo: 42 datasets below tank -> backup\/host1/m);
    io.interrupt();
    expect((await running).code).toBe(130);
  });

  test.each([
    [['--port', 'http'], /--port takes a port from 0 to 65535 \(got "http"\)/],
    [['--frobnicate'], /unknown option '--frobnicate'/],
    [['--demo', '--replay', 'x.jsonl'], /--demo and --replay exclude each other/],
    [['--port', '0', '--replay', '/nonexistent/x.jsonl'], /x\.jsonl/],
  ])('visualize %j exits 2 with one line', async (args, message) => {
    const { code, io } = await run(['visualize', ...args]);
    expect(code).toBe(2);
    expect(io.err).toMatch(message);
    expect(io.err.trim().split('\n')).toHaveLength(1);
  });

  test('--help lists the options', async () => {
    const { code, io } = await run(['visualize', '--help']);
    expect(code).toBe(0);
    for (const option of ['--port', '--host', '--allow-host', '--replay', '--record', '--demo']) {
      expect(io.out).toContain(option);
    }
  });
});
