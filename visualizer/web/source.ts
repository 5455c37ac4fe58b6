/**
 * Where the page's frames come from: the live WebSocket (reconnecting with back-off) or a
 * recording fetched once. Report and daemon messages failing the structural check are dropped
 * and reported through `onProblem`.
 */
import { daemonProblem, reportProblem } from './check.js';
import type { Frame, Message, ServerMessage, SessionInfo } from './protocol.js';

export type ConnectionStatus = 'connecting' | 'live' | 'disconnected' | 'replay' | 'error';

export interface SourceHandlers {
  onFrames(frames: Frame[]): void;
  /** A new connection starts from a catch-up frame: forget what came before. */
  onReset(): void;
  onStatus(status: ConnectionStatus, detail?: string): void;
  onProblem(problem: string): void;
  /** Bytes received, for measurements. */
  onBytes?(bytes: number): void;
}

/** The problem of a report or daemon message, or null (other messages have none). */
function messageProblem(m: Message): string | null {
  if (m.type === '@xrepl.report') {
    const p = reportProblem(m.report);
    return p === null ? null : `report dropped: ${p}`;
  }
  if (m.type === '@xrepl.daemon') {
    const p = daemonProblem(m.jobs);
    return p === null ? null : `daemon status dropped: ${p}`;
  }
  return null;
}

/** Drops report and daemon messages that do not have their shape. */
export function checkFrames(frames: Frame[], onProblem: (p: string) => void): Frame[] {
  for (const f of frames) {
    if (!f.messages.some((m) => messageProblem(m) !== null)) continue;
    f.messages = f.messages.filter((m) => {
      const p = messageProblem(m);
      if (p !== null) onProblem(`frame ${f.seq}: ${p}`);
      return p === null;
    });
  }
  return frames;
}

/** Fetches `/api/session`. */
export async function fetchSession(): Promise<SessionInfo> {
  const res = await fetch('/api/session');
  if (!res.ok) throw new Error(`GET /api/session: ${res.status}`);
  return (await res.json()) as SessionInfo;
}

/** Loads a recording's frames. */
export async function loadReplay(url: string, h: SourceHandlers): Promise<void> {
  h.onStatus('connecting', 'loading recording');
  const res = await fetch(url);
  if (!res.ok) throw new Error(`GET ${url}: ${res.status}`);
  const text = await res.text();
  h.onBytes?.(text.length);
  const frames = JSON.parse(text) as Frame[];
  h.onFrames(checkFrames(frames, h.onProblem));
  h.onStatus('replay');
}

/** Connects to the live stream; reconnects after 0.5 s, 1 s, 2 s ... up to 5 s. */
export function connectLive(path: string, h: SourceHandlers): { close(): void } {
  let ws: WebSocket | null = null;
  let delay = 500;
  let stopped = false;
  let retry: ReturnType<typeof setTimeout> | null = null;
  const open = (): void => {
    h.onStatus('connecting');
    const url = new URL(path, location.href);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    ws = new WebSocket(url);
    ws.onmessage = (e: MessageEvent<string>): void => {
      h.onBytes?.(e.data.length);
      const msg = JSON.parse(e.data) as ServerMessage;
      if (msg.type === 'hello') {
        delay = 500;
        h.onReset();
        h.onStatus('live');
      } else if (msg.type === 'frames') {
        h.onFrames(checkFrames(msg.frames, h.onProblem));
      }
    };
    ws.onclose = (): void => {
      ws = null;
      if (stopped) return;
      h.onStatus('disconnected', `reconnecting in ${(delay / 1000).toFixed(1)} s`);
      retry = setTimeout(open, delay);
      delay = Math.min(delay * 2, 5000);
    };
  };
  open();
  return {
    close(): void {
      stopped = true;
      if (retry !== null) clearTimeout(retry);
      ws?.close();
    },
  };
}
