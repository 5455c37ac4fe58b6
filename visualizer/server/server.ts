/**
 * The visualizer server: a local HTTP server (node:http) for the page and its assets, and a
 * WebSocket endpoint (`/ws`) streaming coalesced inspection frames with the live report.
 * In replay mode it serves a recording instead (`/api/replay.json`).
 */
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename } from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';
import { ReportSchema, type Report } from '../../src/report/schema.js';
import { applyFrame, emptyModel, modelToFrame } from '../web/model.js';
import type { Frame, Message, ReportJson, ServerMessage, SessionInfo } from '../web/protocol.js';
import { assetPaths, contentType, findPackageRoot, resolveAsset } from './assets.js';
import { Coalescer } from './coalescer.js';
import { readRecording, Recorder } from './recording.js';

export interface VisualizerOptions {
  /** 0 picks a free port. */
  port: number;
  /** Default 127.0.0.1: the visualizer is a local tool. */
  host?: string;
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

/** What `attachReplication` needs of a Replication (`replicate()`'s result). */
export interface ReportSource {
  report(): Report;
  wait?(): Promise<unknown>;
}

/** Counters for measuring the relay. */
export interface VisualizerStats {
  frames: number;
  messages: number;
  /** Bytes of frame JSON produced (sent once per client). */
  bytes: number;
  /** Catch-up frames sent to pages that fell behind or joined late. */
  catchUps: number;
  clients: number;
  /** Time spent building frames (serialising snapshots and events, not the report), ms total. */
  frameMs: number;
  /** Time spent computing, validating and encoding reports, ms total. */
  reportMs: number;
  reports: number;
  /** Reports checked with ReportSchema. */
  validations: number;
  /** Last error of report() or its validation, if any. */
  reportError: string | null;
}

export interface Visualizer {
  /** The page's URL, e.g. `http://127.0.0.1:8080/`. */
  url: string;
  /** XState inspection observer: `replicate(config, planner, { inspect: v.inspect })`. */
  inspect: (ev: unknown) => void;
  /** Appends every frame from now on (reports at most once a second, and the last) to a JSON Lines file. */
  record(file: string): void;
  /** Pushes this replication's report with every frame (when it changed), checked with ReportSchema. */
  attachReplication(replication: ReportSource): void;
  stats(): VisualizerStats;
  /** Sends the last frame, closes the recording, every socket and the server. */
  close(): Promise<void>;
}

/** Above this many unsent bytes a page is skipped and later sent one catch-up frame instead. */
const BACKLOG_BYTES = 8 * 1024 * 1024;

interface Client {
  ws: WebSocket;
  /** Frames were skipped for it; it gets a catch-up frame once its backlog drains. */
  stale: boolean;
  drainTimer: ReturnType<typeof setInterval> | null;
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
  const replayFrames = options.replay !== undefined ? readRecording(options.replay) : null;
  const replayJson = replayFrames !== null ? JSON.stringify(replayFrames) : null;

  const model = emptyModel();
  const clients = new Set<Client>();
  const stats: VisualizerStats = {
    frames: 0,
    messages: 0,
    bytes: 0,
    catchUps: 0,
    clients: 0,
    frameMs: 0,
    reportMs: 0,
    reports: 0,
    validations: 0,
    reportError: null,
  };
  let recorder: Recorder | null = null;
  let source: ReportSource | null = null;
  let lastReportText = '';
  let lastValidated = -Infinity;
  const validateEveryMs = options.validateEveryMs ?? 1000;
  let reportTimer: ReturnType<typeof setInterval> | null = null;
  let closed = false;

  const currentStats = (): VisualizerStats => ({
    ...stats,
    frameMs: coalescer.timing.buildMs - coalescer.timing.extrasMs,
  });

  const reportMessages = (): Message[] => {
    if (source === null) return [];
    const t0 = performance.now();
    try {
      const report = source.report();
      const now = Date.now();
      const final = report.state !== 'attempting' && report.state !== 'waiting-reconnect';
      // Every report comes from runReport(); parsing each of them costs ~30 ms at 2,000
      // filesystems, so the schema checks one a second, the first and the final one.
      if (final || now - lastValidated >= validateEveryMs) {
        ReportSchema.parse(report);
        lastValidated = now;
        stats.validations++;
      }
      const text = JSON.stringify(report);
      if (text === lastReportText) return [];
      lastReportText = text;
      stats.reports++;
      return [
        {
          type: '@xrepl.report',
          createdAt: String(Date.now()),
          report: JSON.parse(text) as ReportJson,
        },
      ];
    } catch (err) {
      stats.reportError = err instanceof Error ? err.message : String(err);
      return [];
    } finally {
      stats.reportMs += performance.now() - t0;
    }
  };

  const broadcast = (frame: Frame): void => {
    const data = JSON.stringify({ type: 'frames', frames: [frame] } satisfies ServerMessage);
    stats.frames++;
    stats.messages += frame.messages.length;
    stats.bytes += data.length;
    for (const c of clients) {
      if (c.ws.readyState !== c.ws.OPEN || c.stale) continue;
      if (c.ws.bufferedAmount > BACKLOG_BYTES) markStale(c);
      else c.ws.send(data);
    }
  };

  // A page that cannot keep up is skipped, and sent the whole current state once its backlog
  // has drained (checked on a timer: no new frame may come if the run is idle).
  const markStale = (c: Client): void => {
    c.stale = true;
    c.drainTimer = setInterval(() => {
      if (c.ws.readyState !== c.ws.OPEN) return stopDrain(c);
      if (c.ws.bufferedAmount > BACKLOG_BYTES / 4) return;
      stopDrain(c);
      c.stale = false;
      sendCatchUp(c.ws);
    }, 50);
  };
  const stopDrain = (c: Client): void => {
    if (c.drainTimer !== null) clearInterval(c.drainTimer);
    c.drainTimer = null;
  };

  const sendCatchUp = (ws: WebSocket): void => {
    if (model.seq < 0 && model.actors.size === 0) return;
    const frame = modelToFrame(model, model.seq, model.time || Date.now());
    stats.catchUps++;
    ws.send(JSON.stringify({ type: 'frames', frames: [frame] } satisfies ServerMessage));
  };

  const coalescer = new Coalescer({
    intervalMs: options.intervalMs,
    maxEventsPerFrame: options.maxEventsPerFrame,
    extras: reportMessages,
    onFrame: (frame) => {
      applyFrame(model, frame);
      recorder?.write(frame);
      broadcast(frame);
    },
  });
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.method !== 'GET' && req.method !== 'HEAD')
      return send(res, 405, 'text/plain', 'GET only');
    if (url.pathname === '/api/session') {
      const info: SessionInfo =
        replayJson !== null
          ? { mode: 'replay', replay: '/api/replay.json', source: basename(options.replay ?? '') }
          : { mode: 'live', ws: '/ws' };
      return send(res, 200, 'application/json', JSON.stringify(info));
    }
    if (url.pathname === '/api/replay.json' && replayJson !== null) {
      return send(res, 200, 'application/json', replayJson);
    }
    if (url.pathname === '/api/stats') {
      return send(res, 200, 'application/json', JSON.stringify(currentStats()));
    }
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
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => send(res, 500, 'text/plain', String(err)));
  });
  const wss = new WebSocketServer({ noServer: true });
  server.on('upgrade', (req, socket, head) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (path !== '/ws' || replayJson !== null || closed) {
      socket.destroy();
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      const client: Client = { ws, stale: false, drainTimer: null };
      clients.add(client);
      stats.clients = clients.size;
      ws.on('close', () => {
        stopDrain(client);
        clients.delete(client);
        stats.clients = clients.size;
      });
      ws.on('error', () => ws.terminate());
      ws.send(
        JSON.stringify({ type: 'hello', mode: 'live', version: '1' } satisfies ServerMessage),
      );
      sendCatchUp(ws);
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
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}/`;

  const stopReports = (): void => {
    if (reportTimer !== null) clearInterval(reportTimer);
    reportTimer = null;
  };

  return {
    url,
    inspect: coalescer.inspect,
    stats: currentStats,
    record(file: string): void {
      recorder?.close();
      recorder = new Recorder(file);
      if (model.seq >= 0) recorder.write(modelToFrame(model, model.seq, model.time));
    },
    attachReplication(replication: ReportSource): void {
      source = replication;
      lastReportText = '';
      lastValidated = -Infinity;
      stopReports();
      reportTimer = setInterval(() => coalescer.requestFlush(), options.reportIntervalMs ?? 1000);
      coalescer.requestFlush();
      replication.wait?.().then(
        () => {
          stopReports();
          if (!closed) coalescer.requestFlush();
        },
        () => stopReports(),
      );
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      stopReports();
      coalescer.close();
      recorder?.close();
      recorder = null;
      for (const c of clients) stopDrain(c);
      await Promise.all([...clients].map((c) => closeSocket(c.ws)));
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

function send(res: ServerResponse, status: number, type: string, body: string | Buffer): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
  res.end(body);
}

/** Closes a socket politely, giving the page a moment to read the last frame, then for sure. */
function closeSocket(ws: WebSocket): Promise<void> {
  return new Promise((resolve) => {
    if (ws.readyState === ws.CLOSED) return resolve();
    const timer = setTimeout(() => ws.terminate(), 500);
    ws.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
    ws.close(1001, 'visualizer closing');
  });
}
