/**
 * TLS for the transport: credentials from PEM files, the loopback rule for plaintext, and the
 * client identity of mutual TLS (the client certificate's common name). Key material is read
 * into buffers handed to grpc-js and never logged or put into an error message.
 */
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

/** Reads `serve`'s `--tls-cert`, `--tls-key` and optional `--tls-ca`. */
export async function loadServerTls(
  files: { cert: string; key: string; ca?: string },
  signal?: AbortSignal,
): Promise<ServerTls> {
  return {
    cert: await readPem(files.cert, 'TLS certificate', signal),
    key: await readPem(files.key, 'TLS key', signal),
    ...(files.ca !== undefined && { ca: await readPem(files.ca, 'TLS CA certificate', signal) }),
  };
}

/** Reads the TLS files named in a `grpc://` URL. */
export async function loadClientTls(
  files: ClientTlsFiles,
  signal?: AbortSignal,
): Promise<ClientTls> {
  return {
    ...(files.ca !== undefined && { ca: await readPem(files.ca, 'TLS CA certificate', signal) }),
    ...(files.cert !== undefined && {
      cert: await readPem(files.cert, 'TLS client certificate', signal),
    }),
    ...(files.key !== undefined && { key: await readPem(files.key, 'TLS client key', signal) }),
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
