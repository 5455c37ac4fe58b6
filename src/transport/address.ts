/**
 * Addresses: `HOST:PORT` for `serve --listen`, and the client endpoint URL
 * `grpc://HOST:PORT[?tls-ca=FILE&tls-cert=FILE&tls-key=FILE&tls-server-name=NAME]`.
 * The query names files, never their contents, so a URL may be logged.
 */
import { isIP } from 'node:net';

export interface HostPort {
  host: string;
  port: number;
  /** `host:port`, with brackets around an IPv6 host: what grpc-js takes as a target. */
  target: string;
}

/** Where a client finds its TLS material (file paths); all absent: plaintext. */
export interface ClientTlsFiles {
  /** CA certificate(s) that signed the server's certificate. */
  ca?: string;
  /** Client certificate and key, for mutual TLS. */
  cert?: string;
  key?: string;
  /** Expected name in the server's certificate when it differs from the host. */
  serverName?: string;
}

export interface GrpcUrl extends HostPort {
  tls: ClientTlsFiles | undefined;
}

/** Parses `HOST:PORT` (`[::1]:7000`, `0.0.0.0:0`); throws a clear error otherwise. */
export function parseHostPort(text: string, what = 'address'): HostPort {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]/\s]+)):(\d{1,5})$/.exec(text);
  const host = match?.[1] ?? match?.[2];
  const port = Number(match?.[3]);
  if (host === undefined || !Number.isInteger(port) || port > 65535) {
    throw new Error(`invalid ${what} ${JSON.stringify(text)}: use HOST:PORT, e.g. 127.0.0.1:7000`);
  }
  const target = isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
  return { host, port, target };
}

const TLS_PARAMS: Record<string, keyof ClientTlsFiles> = {
  'tls-ca': 'ca',
  'tls-cert': 'cert',
  'tls-key': 'key',
  'tls-server-name': 'serverName',
};

/**
 * Parses a client endpoint URL.
 *
 * @example
 * parseGrpcUrl('grpc://backup.example:7000?tls-ca=ca.pem&tls-cert=me.pem&tls-key=me.key')
 */
export function parseGrpcUrl(url: string): GrpcUrl {
  const rest = url.startsWith('grpc://') ? url.slice('grpc://'.length) : undefined;
  if (rest === undefined) {
    throw new Error(`invalid gRPC endpoint ${JSON.stringify(url)}: use grpc://HOST:PORT`);
  }
  const [authority = '', query] = rest.split('?', 2);
  const hostPort = parseHostPort(authority, 'gRPC endpoint address');
  if (query === undefined) return { ...hostPort, tls: undefined };
  const tls: ClientTlsFiles = {};
  for (const [key, value] of new URLSearchParams(query)) {
    const field = TLS_PARAMS[key];
    if (field === undefined) {
      throw new Error(
        `invalid gRPC endpoint ${JSON.stringify(url)}: unknown parameter ${JSON.stringify(key)} ` +
          `(known: ${Object.keys(TLS_PARAMS).join(', ')})`,
      );
    }
    if (value === '') throw new Error(`invalid gRPC endpoint: ${key} is empty`);
    tls[field] = value;
  }
  if ((tls.cert === undefined) !== (tls.key === undefined)) {
    throw new Error('invalid gRPC endpoint: tls-cert and tls-key go together (mutual TLS)');
  }
  return { ...hostPort, tls };
}
