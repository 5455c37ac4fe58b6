/**
 * A TLS handshake of our own, to explain a connection grpc-js reports only as "Failed to
 * connect". With TLS 1.3 a server that refuses the client certificate does so after the
 * client's side of the handshake has completed: Node's server closes the socket without an
 * alert, and grpc-js, which sees just the close, names no cause. Our handshake sees it: the
 * server answers a verified HTTP/2 client with its SETTINGS, and closes on a refused one.
 */
import { isIP } from 'node:net';
import { connect, type ConnectionOptions } from 'node:tls';
import { certificateFailureOf, type CertificateFailure } from '../errors/certificate.js';
import type { ClientTls } from './tls.js';

/** The client preface of HTTP/2 (RFC 9113, 3.4): a server answers it with SETTINGS. */
const HTTP2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');

/**
 * The certificate failure a handshake with `host:port` runs into, or `undefined` when it
 * finds none (the server answered, is unreachable, or said nothing within `timeoutMs`).
 */
export function probeCertificates(
  host: string,
  port: number,
  tls: ClientTls,
  options: { timeoutMs: number; signal: AbortSignal },
): Promise<CertificateFailure | undefined> {
  const { signal } = options;
  if (signal.aborted) return Promise.resolve(undefined);
  const servername = tls.serverName ?? (isIP(host) === 0 ? host : undefined);
  const connection: ConnectionOptions = {
    host,
    port,
    ALPNProtocols: ['h2'],
    ...(servername !== undefined && { servername }),
    ...(tls.ca !== undefined && { ca: tls.ca }),
    ...(tls.cert !== undefined && { cert: tls.cert }),
    ...(tls.key !== undefined && { key: tls.key }),
  };
  return new Promise((resolve) => {
    let handshaken = false;
    const socket = connect(connection);
    const done = (failure: CertificateFailure | undefined): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      socket.removeAllListeners();
      socket.on('error', () => undefined);
      socket.destroy();
      resolve(failure);
    };
    const onAbort = (): void => done(undefined);
    const timer = setTimeout(() => done(undefined), options.timeoutMs);
    signal.addEventListener('abort', onAbort, { once: true });
    socket.once('secureConnect', () => {
      handshaken = true;
      socket.write(HTTP2_PREFACE);
    });
    socket.once('data', () => done(undefined));
    socket.once('error', (err) => done(certificateFailureOf(err)));
    socket.once('close', () =>
      done(
        handshaken && tls.cert !== undefined
          ? {
              kind: 'client-refused',
              detail: 'the server closed the connection right after the TLS handshake',
            }
          : undefined,
      ),
    );
  });
}
