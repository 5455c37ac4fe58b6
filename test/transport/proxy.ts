/**
 * A TCP proxy in front of a server, which can freeze as a SIGSTOPped server does: connections
 * are still accepted (the kernel's backlog), but nothing is read or answered, keepalive pings
 * included, until `thaw()`.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

export class FreezingProxy {
  port = 0;
  private frozen = false;
  private readonly sockets = new Set<Socket>();
  /** Connections accepted while frozen, linked to the server on `thaw()`. */
  private held: Socket[] = [];
  private readonly server: Server;

  constructor(private readonly targetPort: number) {
    this.server = createServer((client) => {
      this.track(client);
      client.pause();
      if (this.frozen) this.held.push(client);
      else this.link(client);
    });
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    const address = this.server.address();
    if (address === null || typeof address === 'string') throw new Error('no TCP address');
    this.port = address.port;
  }

  /** Stops every byte, both ways, on open and new connections. */
  freeze(): void {
    this.frozen = true;
    for (const socket of this.sockets) socket.pause();
  }

  thaw(): void {
    this.frozen = false;
    for (const socket of this.sockets) socket.resume();
    for (const client of this.held.splice(0)) this.link(client);
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private track(socket: Socket): void {
    this.sockets.add(socket);
    socket.on('error', () => undefined);
    socket.once('close', () => this.sockets.delete(socket));
  }

  private link(client: Socket): void {
    const upstream = connect(this.targetPort, '127.0.0.1');
    this.track(upstream);
    client.on('data', (data) => upstream.write(data));
    upstream.on('data', (data) => client.write(data));
    client.once('close', () => upstream.destroy());
    upstream.once('close', () => client.destroy());
    client.resume();
  }
}
