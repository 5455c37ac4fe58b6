/**
 * The pages connected over the WebSocket. Each frame is encoded once and sent to every page;
 * a page that cannot keep up (more than BACKLOG_BYTES unsent) is skipped and, once its
 * backlog has drained, sent one catch-up frame with the whole current state instead. The
 * drain is checked on a timer: an idle run may send no further frame.
 */
import type { WebSocket } from 'ws';
import type { Frame, ServerMessage } from '../web/protocol.js';

/** Above this many unsent bytes a page is skipped. */
export const BACKLOG_BYTES = 8 * 1024 * 1024;

interface Client {
  ws: WebSocket;
  stale: boolean;
  drainTimer: ReturnType<typeof setInterval> | null;
}

function encode(msg: ServerMessage): string {
  return JSON.stringify(msg);
}

export class Clients {
  /** Catch-up frames sent (late joiners, pages that fell behind). */
  catchUps = 0;
  private readonly clients = new Set<Client>();

  /** @param catchUp the frame that brings an empty page to the current state, or null if there is none yet */
  constructor(private readonly catchUp: () => Frame | null) {}

  get size(): number {
    return this.clients.size;
  }

  /** Greets a new page and brings it up to date. */
  add(ws: WebSocket): void {
    const client: Client = { ws, stale: false, drainTimer: null };
    this.clients.add(client);
    ws.on('close', () => {
      this.stopDrain(client);
      this.clients.delete(client);
    });
    ws.on('error', () => ws.terminate());
    ws.send(encode({ type: 'hello', mode: 'live', version: '1' }));
    this.sendCatchUp(ws);
  }

  /** Sends a frame to every page; returns the encoded size (0, and nothing encoded, without pages). */
  broadcast(frame: Frame): number {
    if (this.clients.size === 0) return 0;
    const data = encode({ type: 'frames', frames: [frame] });
    for (const c of this.clients) {
      if (c.ws.readyState !== c.ws.OPEN || c.stale) continue;
      if (c.ws.bufferedAmount > BACKLOG_BYTES) this.markStale(c);
      else c.ws.send(data);
    }
    return data.length;
  }

  /** Closes every socket, giving each page a moment to read what was sent. */
  async close(): Promise<void> {
    for (const c of this.clients) this.stopDrain(c);
    await Promise.all([...this.clients].map((c) => closeSocket(c.ws)));
  }

  private sendCatchUp(ws: WebSocket): void {
    const frame = this.catchUp();
    if (frame === null) return;
    this.catchUps++;
    ws.send(encode({ type: 'frames', frames: [frame] }));
  }

  private markStale(c: Client): void {
    c.stale = true;
    c.drainTimer = setInterval(() => {
      if (c.ws.readyState !== c.ws.OPEN) return this.stopDrain(c);
      if (c.ws.bufferedAmount > BACKLOG_BYTES / 4) return;
      this.stopDrain(c);
      c.stale = false;
      this.sendCatchUp(c.ws);
    }, 50);
  }

  private stopDrain(c: Client): void {
    if (c.drainTimer !== null) clearInterval(c.drainTimer);
    c.drainTimer = null;
  }
}

/** Closes a socket politely, then for sure after 500 ms. */
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
