/**
 * `xrepl serve`'s one port: every connection is routed by its first bytes. A data connection
 * opens with `MAGIC` (data/dial.ts) and then its TLS handshake; anything else (a TLS
 * ClientHello, or HTTP/2's preface without TLS) is gRPC, handed with its bytes to grpc-js's
 * connection injector, which does its own TLS handshake (so gRPC's client identity is
 * unchanged). One firewall hole for both; docs/design.md "Transport and limits" says why.
 */
import net from 'node:net';
import tls from 'node:tls';
import type { ConnectionInjector } from '@grpc/grpc-js';
import { MAGIC, SOCKET_BUFFER_BYTES } from './data/dial.js';
import type { ServerTls } from './tls.js';

export interface DataSocket {
  socket: net.Socket;
  /** The client's certificate under mutual TLS. */
  peerCertificate: tls.PeerCertificate | undefined;
  peer: string;
}

export interface ListenerOptions {
  host: string;
  port: number;
  tls?: ServerTls;
  grpc: ConnectionInjector;
  /** A data connection, its handshake done. */
  data(connection: DataSocket): void;
  /** A connection must have routed itself and done its handshake within this. */
  handshakeTimeoutMs: number;
}

export interface Listener {
  readonly port: number;
  /** Stops accepting connections. */
  stop(): Promise<void>;
  /** Destroys every connection it accepted. */
  destroyAll(): void;
}

export function listen(options: ListenerOptions): Promise<Listener> {
  const sockets = new Set<net.Socket>();
  const secureContext =
    options.tls === undefined
      ? undefined
      : tls.createSecureContext({
          cert: options.tls.cert,
          key: options.tls.key,
          ...(options.tls.ca !== undefined && { ca: options.tls.ca }),
        });

  const upgrade = (socket: net.Socket, timer: NodeJS.Timeout): void => {
    const peer = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    if (options.tls === undefined || secureContext === undefined) {
      clearTimeout(timer);
      options.data({ socket, peerCertificate: undefined, peer });
      return;
    }
    const mutual = options.tls.ca !== undefined;
    // `highWaterMark` is a stream option the socket types do not list.
    const secure = new tls.TLSSocket(socket, {
      isServer: true,
      secureContext,
      highWaterMark: SOCKET_BUFFER_BYTES,
      requestCert: mutual,
      rejectUnauthorized: mutual,
    } as tls.TLSSocketOptions);
    sockets.add(secure);
    secure.once('close', () => sockets.delete(secure));
    secure.once('error', () => secure.destroy());
    secure.once('secure', () => {
      clearTimeout(timer);
      secure.removeAllListeners('error');
      const certificate = mutual ? secure.getPeerCertificate() : undefined;
      options.data({
        socket: secure,
        peerCertificate:
          certificate !== undefined && Object.keys(certificate).length > 0
            ? certificate
            : undefined,
        peer,
      });
    });
  };

  const route = (socket: net.Socket): void => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    const timer = setTimeout(() => socket.destroy(), options.handshakeTimeoutMs);
    socket.once('close', () => clearTimeout(timer));
    let head: Buffer = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      head = head.length === 0 ? chunk : Buffer.concat([head, chunk]);
      if (head[0] !== MAGIC[0]) {
        // gRPC: the injector takes the socket with the bytes read so far.
        socket.off('data', onData);
        socket.pause();
        socket.unshift(head);
        clearTimeout(timer);
        options.grpc.injectConnection(socket);
        return;
      }
      const seen = Math.min(head.length, MAGIC.length);
      if (!head.subarray(0, seen).equals(MAGIC.subarray(0, seen))) return void socket.destroy();
      if (head.length < MAGIC.length) return;
      socket.off('data', onData);
      socket.pause();
      const rest = head.subarray(MAGIC.length);
      if (rest.length > 0) socket.unshift(rest);
      upgrade(socket, timer);
    };
    socket.on('data', onData);
  };

  const server = net.createServer({ highWaterMark: SOCKET_BUFFER_BYTES }, route);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: options.host, port: options.port }, () => {
      server.off('error', reject);
      const address = server.address();
      resolve({
        port: typeof address === 'object' && address !== null ? address.port : options.port,
        stop: () => new Promise((done) => server.close(() => done())),
        destroyAll() {
          for (const socket of sockets) socket.destroy();
        },
      });
    });
  });
}
