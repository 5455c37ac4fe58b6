/** Shared helpers of the transport tests: pools, a served endpoint, clients that get closed. */
import { Transform } from 'node:stream';
import { MemoryPool } from '../../src/endpoints/memory/index.js';
import type { Readable } from 'node:stream';
import type { Receiver, SendReq, Sender } from '../../src/endpoints/types.js';
import {
  startServer,
  type RunningServer,
  type ServedEndpoint,
  type ServeOptions,
} from '../../src/transport/index.js';

export const at = (minute: number): Date => new Date(Date.UTC(2024, 0, 1, 0, minute));

/**
 * A sender pool with a tree below `tank`: a placeholder parent, nested datasets, each with
 * `snapshots` snapshots of `size` bytes.
 */
export function sourceTree(options: { snapshots?: number; size?: number } = {}): MemoryPool {
  const { snapshots = 3, size = 100_000 } = options;
  const pool = new MemoryPool({ seed: 'grpc-src' });
  pool.createDataset('tank/home', { placeholder: true });
  const paths = [
    'tank/data',
    'tank/data/db',
    'tank/data/db/logs',
    'tank/home/alice',
    'tank/home/alice/mail',
    'tank/home/bob',
    'tank/vm',
  ];
  for (const path of paths) {
    pool.createDataset(path);
    for (let i = 1; i <= snapshots; i++) pool.snapshot(path, `s${i}`, { creation: at(i), size });
  }
  return pool;
}

/** Every non-placeholder dataset of `src` below `from` has the same snapshot guids below `to` in `dst`. */
export function mismatches(src: MemoryPool, from: string, dst: MemoryPool, to: string): string[] {
  const problems: string[] = [];
  for (const path of src.paths().filter((p) => p.startsWith(`${from}/`))) {
    const source = src.get(path);
    if (source === undefined || source.placeholder) continue;
    const target = `${to}/${path.slice(from.length + 1)}`;
    const sent = source.snapshots.map((s) => s.guid).join(',');
    const got = dst
      .get(target)
      ?.snapshots.map((s) => s.guid)
      .join(',');
    if (sent !== got) problems.push(`${target}: expected [${sent}], got [${got}]`);
  }
  return problems;
}

/** Datasets of `pool` with partial receive state. */
export function partials(pool: MemoryPool): string[] {
  return pool.paths().filter((p) => pool.get(p)?.partial !== undefined);
}

/** Servers and clients a test started; `closeAll` in afterEach ends them all. */
export class Resources {
  private readonly servers: RunningServer[] = [];
  private readonly clients: { close(): void }[] = [];

  async serve(options: ServeOptions): Promise<RunningServer> {
    const server = await startServer(options);
    this.servers.push(server);
    return server;
  }

  /** Serves `endpoint` as a receiver on a free loopback port, without TLS. */
  serveReceiver(endpoint: Receiver): Promise<RunningServer> {
    return this.serve({ listen: '127.0.0.1:0', role: 'receiver', endpoint });
  }

  client<T extends (Sender | Receiver) & { close(): void }>(client: T): T {
    this.clients.push(client);
    return client;
  }

  async closeAll(): Promise<void> {
    for (const client of this.clients.splice(0)) client.close();
    await Promise.all(this.servers.splice(0).map((s) => s.kill()));
  }
}

/** Passes chunks through, calling `at(total)` after each with the running byte count. */
export function tap(at: (total: number) => void): Transform {
  let total = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, callback) {
      total += chunk.length;
      callback(null, chunk);
      at(total);
    },
  });
}

/** Reads a stream to the end; the byte count. */
export async function drain(stream: Readable): Promise<number> {
  let n = 0;
  for await (const chunk of stream) n += (chunk as Buffer).length;
  return n;
}

/** A sender whose send streams call `onBytes(total)` as bytes leave, counting over every send. */
export function countingSender(inner: Sender, onBytes: (total: number) => void): Sender {
  let total = 0;
  return {
    listFilesystems: (signal) => inner.listFilesystems(signal),
    listFilesystemVersions: (fs, signal) => inner.listFilesystemVersions(fs, signal),
    waitForConnectivity: (signal) => inner.waitForConnectivity(signal),
    sendDry: (req, signal) => inner.sendDry(req, signal),
    sendCompleted: (req, signal) => inner.sendCompleted(req, signal),
    async send(req: SendReq, signal: AbortSignal) {
      const { usedResumeToken, stream } = await inner.send(req, signal);
      const counted = stream.pipe(tap((n) => onBytes((total += n))));
      stream.once('error', (err) => counted.destroy(err));
      counted.once('close', () => stream.destroy());
      return { usedResumeToken, stream: counted };
    },
  };
}

/** A server on a fixed port that `kill()` drops and `restart()` brings back. */
export class Restartable {
  server!: RunningServer;
  port = 0;
  kills = 0;
  private pending = false;
  private restarting: Promise<void> = Promise.resolve();

  constructor(private readonly served: ServedEndpoint) {}

  async start(): Promise<void> {
    this.server = await startServer({ listen: `127.0.0.1:${this.port}`, ...this.served });
    this.port = this.server.port;
  }

  /**
   * Kills the server at once (its connections are dropped before this returns, so whatever a
   * handler writes after the call that triggered the kill never leaves) and starts it again on
   * the same port. A call while a restart is under way does nothing (bytes a killed handler
   * had buffered may still arrive): the port is bound once.
   */
  killAndRestart(): void {
    if (this.pending) return;
    this.pending = true;
    this.kills++;
    const killed = this.server.kill();
    this.restarting = this.restarting.then(async () => {
      try {
        await killed;
        await this.start();
      } finally {
        this.pending = false;
      }
    });
  }

  async stop(): Promise<void> {
    await this.restarting;
    await this.server.kill();
  }
}
