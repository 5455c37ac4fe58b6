/**
 * TLS for the transport: credentials from PEM files, the loopback rule for plaintext, and the
 * client identity of mutual TLS (the client certificate's common name). Key material is read
 * into buffers handed to grpc-js and never logged or put into an error message.
 */
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { ChannelCredentials, ServerCredentials } from '@grpc/grpc-js';
import type { PeerCertificate } from 'node:tls';
import { relativePathProblem } from '../endpoints/paths.js';
import type { ClientTlsFiles } from './address.js';

/** PEM material of a server. With `ca`, clients must present a certificate signed by it. */
export interface ServerTls {
  cert: Buffer;
  key: Buffer;
  ca?: Buffer;
}

/** PEM material of a client: the server's CA, and for mutual TLS its own certificate and key. */
export interface ClientTls {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  serverName?: string;
}

async function readPem(path: string, what: string, signal?: AbortSignal): Promise<Buffer> {
  try {
    return await readFile(path, { signal });
  } catch (cause) {
    // The path is not secret; the contents are never shown.
    throw new Error(`cannot read the ${what} ${JSON.stringify(path)}`, { cause });
  }
}

const CERTIFICATE_BLOCK = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g;

/**
 * Reads PEM certificates (one or more, as a CA bundle may hold): a file that is not one fails
 * here, with its path, instead of as a failed handshake on every connection.
 */
async function readCertificates(
  path: string,
  what: string,
  signal?: AbortSignal,
): Promise<{ pem: Buffer; first: X509Certificate }> {
  const pem = await readPem(path, what, signal);
  const blocks = pem.toString('latin1').match(CERTIFICATE_BLOCK) ?? [];
  const notPem = new Error(
    `the ${what} ${JSON.stringify(path)} is not a PEM certificate ` +
      '(expected -----BEGIN CERTIFICATE----- blocks)',
  );
  if (blocks.length === 0) throw notPem;
  try {
    const certificates = blocks.map((block) => new X509Certificate(block));
    return { pem, first: certificates[0] as X509Certificate };
  } catch (cause) {
    throw new Error(notPem.message, { cause });
  }
}

/** Reads a PEM private key, which must belong to `certificate`. */
async function readKey(
  path: string,
  what: string,
  certificate: { path: string; cert: X509Certificate },
  signal?: AbortSignal,
): Promise<Buffer> {
  const pem = await readPem(path, what, signal);
  let key: KeyObject;
  try {
    if (!pem.toString('latin1').includes('-----BEGIN')) throw new Error('no PEM block');
    key = createPrivateKey(pem);
  } catch (cause) {
    // The cause says nothing of the contents either (OpenSSL's decoder reasons).
    throw new Error(`the ${what} ${JSON.stringify(path)} is not a PEM private key`, { cause });
  }
  if (!certificate.cert.checkPrivateKey(key)) {
    throw new Error(
      `the ${what} ${JSON.stringify(path)} does not belong to the certificate ` +
        JSON.stringify(certificate.path),
    );
  }
  return pem;
}

/** Reads a certificate and its key. */
async function readPair(
  files: { cert: string; key: string },
  what: { cert: string; key: string },
  signal?: AbortSignal,
): Promise<{ cert: Buffer; key: Buffer }> {
  const { pem, first } = await readCertificates(files.cert, what.cert, signal);
  const key = await readKey(files.key, what.key, { path: files.cert, cert: first }, signal);
  return { cert: pem, key };
}

/** Reads `serve`'s `--tls-cert`, `--tls-key` and optional `--tls-ca`, each checked. */
export async function loadServerTls(
  files: { cert: string; key: string; ca?: string },
  signal?: AbortSignal,
): Promise<ServerTls> {
  const pair = await readPair(files, { cert: 'TLS certificate', key: 'TLS key' }, signal);
  return {
    ...pair,
    ...(files.ca !== undefined && {
      ca: (await readCertificates(files.ca, 'TLS CA certificate', signal)).pem,
    }),
  };
}

/** Reads the TLS files named in a `grpc://` URL, each checked. */
export async function loadClientTls(
  files: ClientTlsFiles,
  signal?: AbortSignal,
): Promise<ClientTls> {
  const { cert, key } = files;
  if ((cert === undefined) !== (key === undefined)) {
    throw new Error('a TLS client certificate and its key go together (mutual TLS)');
  }
  return {
    ...(files.ca !== undefined && {
      ca: (await readCertificates(files.ca, 'TLS CA certificate', signal)).pem,
    }),
    ...(cert !== undefined &&
      key !== undefined &&
      (await readPair(
        { cert, key },
        { cert: 'TLS client certificate', key: 'TLS client key' },
        signal,
      ))),
    ...(files.serverName !== undefined && { serverName: files.serverName }),
  };
}

export function serverCredentials(tls: ServerTls | undefined): ServerCredentials {
  if (tls === undefined) return ServerCredentials.createInsecure();
  return ServerCredentials.createSsl(
    tls.ca ?? null,
    [{ private_key: tls.key, cert_chain: tls.cert }],
    tls.ca !== undefined,
  );
}

export function channelCredentials(tls: ClientTls | undefined): ChannelCredentials {
  if (tls === undefined) return ChannelCredentials.createInsecure();
  return ChannelCredentials.createSsl(tls.ca ?? null, tls.key ?? null, tls.cert ?? null);
}

/** True for addresses only this machine can reach: `localhost`, 127.0.0.0/8, `::1`. */
export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1' || host === '::ffff:127.0.0.1';
}

/**
 * The client identity of a mutual-TLS peer: its certificate's common name, which must be one
 * valid dataset path component (a receiver stores the client's data under `<root>/<identity>`).
 * Returns the reason instead when there is none usable.
 */
export function identityOf(
  peer: PeerCertificate | undefined,
): { identity: string } | { problem: string } {
  const cn: unknown = peer?.subject?.CN;
  if (typeof cn !== 'string' || cn === '') {
    return { problem: 'the client certificate has no common name (CN)' };
  }
  const problem = relativePathProblem(cn) ?? (cn.includes('/') ? '"/" in the name' : undefined);
  if (problem !== undefined) {
    return { problem: `the client certificate's common name is not a usable identity: ${problem}` };
  }
  return { identity: cn };
}
