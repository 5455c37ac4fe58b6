/**
 * Opening a data connection to `xrepl serve`'s one port: TCP, the preamble that tells the
 * server this is not gRPC (`MAGIC`, in the clear: it reveals nothing), then TLS with the same
 * certificates as the gRPC channel (so the same client identity), or nothing more on a
 * plaintext server. listener.ts is the other side.
 */
import net from 'node:net';
import tls from 'node:tls';
import { connectionFailure } from '../errors.js';
import { reasonOf } from '../streams.js';
import type { ClientTls } from '../tls.js';
import { FrameChannel } from './channel.js';
import type { Dialed } from './client.js';

/**
 * Bytes a data connection buffers before a writer waits for 'drain' (Node's default is 16
 * KiB: a writer would wait after every chunk of a stream, one chunk in flight at a time).
 */
export const SOCKET_BUFFER_BYTES = 1024 * 1024;

/** The first bytes of a data connection; gRPC's start with a TLS record (0x16) or `PRI `. */
export const MAGIC = Buffer.from('XREPL-DATA/1\n', 'latin1');

export interface DialOptions {
  host: string;
  port: number;
  /** Names the server in messages. */
  address: string;
  tls?: ClientTls;
  /** TCP keepalive probes start after this long idle. */
  keepaliveMs: number;
  /** Connecting and the TLS handshake together take at most this long. */
  connectTimeoutMs: number;
}

/** A socket as a FrameChannel (its two directions), with TCP keepalive and no Nagle delay. */
export function socketChannel(socket: net.Socket, keepaliveMs: number): FrameChannel {
  socket.setNoDelay(true);
  socket.setKeepAlive(true, keepaliveMs);
  return new FrameChannel(socket, socket, (err) => socket.destroy(err));
}

/** Connects, sends the preamble and (with TLS) completes the handshake. */
export function dialData(options: DialOptions, signal: AbortSignal): Promise<Dialed> {
  const what = 'connect';
  return new Promise<Dialed>((resolve, reject) => {
    // `highWaterMark` is a stream option the socket types do not list.
    const raw = net.connect({
      host: options.host,
      port: options.port,
      highWaterMark: SOCKET_BUFFER_BYTES,
    } as net.NetConnectOpts);
    let socket: net.Socket = raw;
    const fail = (err: unknown): void => {
      cleanup();
      socket.destroy();
      raw.destroy();
      reject(signal.aborted ? reasonOf(signal) : connectionFailure(err, options.address, what));
    };
    const timer = setTimeout(
      () => fail(new Error(`no connection within ${options.connectTimeoutMs} ms`)),
      options.connectTimeoutMs,
    );
    const onAbort = (): void => fail(reasonOf(signal));
    const cleanup = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      socket.off('error', fail);
      raw.off('error', fail);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    raw.once('error', fail);
    const ready = (): void => {
      cleanup();
      const channel = socketChannel(socket, options.keepaliveMs);
      resolve({
        channel,
        explain: (err, call) =>
          connectionFailure(
            err ?? new Error('the server closed the connection'),
            options.address,
            call,
          ),
      });
    };
    raw.once('connect', () => {
      raw.write(MAGIC);
      const clientTls = options.tls;
      if (clientTls === undefined) return ready();
      const serverName = clientTls.serverName ?? options.host;
      socket = tls.connect({
        socket: raw,
        highWaterMark: SOCKET_BUFFER_BYTES,
        ...(clientTls.ca !== undefined && { ca: clientTls.ca }),
        ...(clientTls.cert !== undefined && { cert: clientTls.cert }),
        ...(clientTls.key !== undefined && { key: clientTls.key }),
        ...(net.isIP(serverName) === 0 && { servername: serverName }),
        checkServerIdentity: (_host: string, cert: tls.PeerCertificate) =>
          tls.checkServerIdentity(serverName, cert),
      } as tls.ConnectionOptions);
      socket.once('error', fail);
      socket.once('secureConnect', ready);
    });
  });
}
