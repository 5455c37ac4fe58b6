/**
 * The visualizer server: a local HTTP server (node:http) for the page and its assets, and a
 * WebSocket endpoint (`/ws`) streaming coalesced inspection frames with the live report.
 * In replay mode it serves a recording instead (`/api/replay.json`). Only the user's own
 * browser may read it (access.ts): other hosts and other pages' origins are refused.
 */
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { basename } from 'node:path';
import { WebSocketServer } from 'ws';
import { applyFrame, emptyModel, modelToFrame } from '../web/model.js';
import type { SessionInfo } from '../web/protocol.js';
import { accessPolicy, hostProblem, upgradeProblem, type AccessPolicy } from './access.js';
import {
  assetPaths,
  contentType,
  findPackageRoot,
  resolveAsset,
  type AssetPaths,
} from './assets.js';
import { Clients } from './clients.js';
import { Coalescer } from './coalescer.js';
import { DaemonFeed, type DaemonSource } from './daemon-feed.js';
import { readRecording, Recorder } from './recording.js';
import { ReportFeed, type ReportSource } from './report-feed.js';

export type { ReportSource } from './report-feed.js';
export type { DaemonJobSource, DaemonSource } from './daemon-feed.js';

export interface VisualizerOptions {
  /** 0 picks a free port. */
  port: number;
  /** Default 127.0.0.1: the visualizer is a local tool. */
  host?: string;
  /**
   * Host names the page may be reached by besides loopback names and `host` itself (say the
   * machine's name, after a deliberate `host: '0.0.0.0'`). Requests naming any other host
   * (DNS rebinding) and WebSockets from another page's origin are refused.
   */
  allowedHosts?: readonly string[];
  /** A recording (JSON Lines, made with `record()` / `--record`) to replay instead of live data. */
  replay?: string;
  /** The xrepl package directory (default: found from the running script or cwd). */
  root?: string;
  /** Directory of the compiled page JS (default `<root>/dist/visualizer/web`). */
  scriptDir?: string;
  /** Minimum time between two frames (default 100 ms: at most ~10 a second). */
  intervalMs?: number;
  /** While a replication is attached and running, push its report at least this often (default 1000 ms). */
  reportIntervalMs?: number;
  /** Newest `@xstate.event` messages kept per frame (default 500). */
  maxEventsPerFrame?: number;
  /**
   * How often a report is checked with ReportSchema before it is sent (default 1000 ms; the
   * first and the final report always are). 0 checks every report.
   */
  validateEveryMs?: number;
}

/** Counters for measuring the relay. */
export interface VisualizerStats {
  /** Frames built: none while no page is connected and nothing is recorded. */
  frames: number;
  messages: number;
  /** Bytes of frame JSON produced for connected pages (encoded once per frame; none without pages). */
  bytes: number;
  /** Catch-up frames sent to pages that fell behind or joined late. */
  catchUps: number;
  clients: number;
  /** Time spent building frames (serialising snapshots and events, not the report), ms total. */
  frameMs: number;
  /** Time spent computing, checking and encoding reports, ms total. */
  reportMs: number;
  reports: number;
  /** Reports checked with ReportSchema. */
  validations: number;
  /** Last error of report() or its validation, if any. */
  reportError: string | null;
  /** Last error of the daemon's status() or its validation, if any. */
  daemonError: string | null;
}

export interface Visualizer {
  /** The page's URL, e.g. `http://127.0.0.1:8080/`. */
  url: string;
  /** XState inspection observer: `replicate(config, planner, { inspect: v.inspect })`. */
  inspect: (ev: unknown) => void;
  /**
   * An inspection observer for an actor system that an actor of another one started: its root
   * actor is shown under the actor `parentSessionId` (a daemon job's run under the job).
   */
  inspectUnder(parentSessionId: string): (ev: unknown) => void;
  /** Appends every frame from now on (reports at most once a second, and the last) to a JSON Lines file. */
  record(file: string): void;
  /**
   * Pushes this replication's report with every frame (when it changed), checked with
   * ReportSchema. With `job`, it is that daemon job's current run, replacing its last one.
   */
  attachReplication(replication: ReportSource, job?: string): void;
  /** Pushes the daemon's jobs (state, next tick, last results) with every frame when they change. */
  attachDaemon(daemon: DaemonSource): void;
  stats(): VisualizerStats;
  /** Sends the last frame, closes the recording, every socket and the server. */
  close(): Promise<void>;
}

/**
 * Starts the visualizer server.
 *
 * @example
 * const vis = await startVisualizer({ port: 8080 });
 * const replication = replicate(config, planner, { inspect: vis.inspect });
 * vis.attachReplication(replication);
 * console.log(`open ${vis.url}`);
 * await replication.wait();
 */
export async function startVisualizer(options: VisualizerOptions): Promise<Visualizer> {
  const host = options.host ?? '127.0.0.1';
  const paths = assetPaths(options.root ?? findPackageRoot(), options.scriptDir);
  const replay =
    options.replay !== undefined
      ? { json: JSON.stringify(readRecording(options.replay)), name: basename(options.replay) }
      : null;

  // The current state, for pages that join late or fall behind, and for a recording's start.
  const model = emptyModel();
  const clients = new Clients(() =>
    model.seq < 0 && model.actors.size === 0 ? null : modelToFrame(model, model.seq, model.time),
  );
  const sent = { frames: 0, messages: 0, bytes: 0 };
  let recorder: Recorder | null = null;
  let closed = false;

  const feed = new ReportFeed({
    requestFlush: () => coalescer.requestFlush(),
    intervalMs: options.reportIntervalMs,
    validateEveryMs: options.validateEveryMs,
  });
  const daemonFeed = new DaemonFeed({ requestFlush: () => coalescer.requestFlush() });
  const coalescer = new Coalescer({
    // Frames are built only for someone: a connected page or a recording.
    active: () => clients.size > 0 || recorder !== null,
    intervalMs: options.intervalMs,
    maxEventsPerFrame: options.maxEventsPerFrame,
    extras: () => [...daemonFeed.messages(), ...feed.messages()],
    onFrame: (frame) => {
      applyFrame(model, frame);
      recorder?.write(frame);
      sent.frames++;
      sent.messages += frame.messages.length;
      sent.bytes += clients.broadcast(frame);
    },
  });
  const stats = (): VisualizerStats => ({
    ...sent,
    catchUps: clients.catchUps,
    clients: clients.size,
    frameMs: coalescer.timing.buildMs - coalescer.timing.extrasMs,
    reportMs: feed.stats.ms,
    reports: feed.stats.reports,
    validations: feed.stats.validations,
    reportError: feed.stats.error,
    daemonError: daemonFeed.stats.error,
  });

  const api = (path: string): { type: string; body: string } | null => {
    if (path === '/api/session') {
      const info: SessionInfo =
        replay !== null
          ? { mode: 'replay', replay: '/api/replay.json', source: replay.name }
          : { mode: 'live', ws: '/ws' };
      return { type: 'application/json', body: JSON.stringify(info) };
    }
    if (path === '/api/replay.json' && replay !== null)
      return { type: 'application/json', body: replay.json };
    if (path === '/api/stats') return { type: 'application/json', body: JSON.stringify(stats()) };
    return null;
  };

  // Set once listening, before any request can arrive.
  const access: { policy?: AccessPolicy } = {};
  const server = createServer((req, res) => {
    const { policy } = access;
    const problem = policy === undefined ? 'not listening' : hostProblem(req.headers, policy);
    if (problem !== null) return send(res, 403, 'text/plain', `refused: ${problem}\n`);
    handle(req, res, paths, api).catch((err: unknown) => send(res, 500, 'text/plain', String(err)));
  });
  const wss = new WebSocketServer({ noServer: true });
  server.on('upgrade', (req, socket, head) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (path !== '/ws' || replay !== null || closed) {
      socket.destroy();
      return;
    }
    const { policy } = access;
    const problem = policy === undefined ? 'not listening' : upgradeProblem(req.headers, policy);
    if (problem !== null) {
      refuseUpgrade(socket, problem);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      // What arrived while nobody watched goes into the model first: the page's catch-up.
      if (clients.size === 0 && recorder === null) coalescer.flush();
      clients.add(ws);
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  access.policy = accessPolicy(host, port, options.allowedHosts);

  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}/`,
    inspect: coalescer.inspect,
    inspectUnder: (parentSessionId) => coalescer.inspectUnder(parentSessionId),
    stats,
    record(file: string): void {
      if (recorder === null && clients.size === 0) coalescer.flush();
      recorder?.close();
      recorder = new Recorder(file);
      if (model.seq >= 0) recorder.write(modelToFrame(model, model.seq, model.time));
    },
    attachReplication(replication: ReportSource, job?: string): void {
      if (!closed) feed.attach(replication, job);
    },
    attachDaemon(daemon: DaemonSource): void {
      if (!closed) daemonFeed.attach(daemon);
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      feed.stop();
      daemonFeed.stop();
      coalescer.close();
      recorder?.close();
      recorder = null;
      await clients.close();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

/** GET only: the API, then the page's files. */
async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  paths: AssetPaths,
  api: (path: string) => { type: string; body: string } | null,
): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  if (req.method !== 'GET' && req.method !== 'HEAD')
    return send(res, 405, 'text/plain', 'GET only');
  const answer = api(url.pathname);
  if (answer !== null) return send(res, 200, answer.type, answer.body);
  if (url.pathname === '/favicon.ico') return send(res, 204, 'text/plain', '');
  const file = resolveAsset(paths, url.pathname);
  if (file === null) return send(res, 404, 'text/plain', `not found: ${url.pathname}`);
  try {
    send(res, 200, contentType(file), await readFile(file));
  } catch {
    const hint = file.startsWith(paths.scriptDir)
      ? ' (the page is not built: run `tsc -p visualizer/web/tsconfig.json`)'
      : '';
    send(res, 404, 'text/plain', `missing ${file}${hint}`);
  }
}

/** Answers a refused WebSocket upgrade with 403 and its reason, then closes the socket. */
function refuseUpgrade(socket: Duplex, problem: string): void {
  const body = `refused: ${problem}\n`;
  socket.end(
    'HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Type: text/plain\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

function send(res: ServerResponse, status: number, type: string, body: string | Buffer): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
  res.end(body);
}
