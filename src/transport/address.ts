/**
 * Addresses: `HOST:PORT` for `serve --listen`, and the client endpoint URL
 * `grpc://HOST:PORT[?tls-ca=FILE&tls-cert=FILE&tls-key=FILE&tls-server-name=NAME]`.
 * The query names files, never their contents, so a URL may be logged.
 */
import { isIP } from 'node:net';
import { quote } from '../errors/quote.js';

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

/** A DNS name (RFC 1123 labels of at most 63 characters, 253 in all; `_` tolerated). */
const HOST_NAME =
  /^(?=.{1,253}$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?$/;

/** Why `host` is neither an IP address nor a valid host name; undefined if it is one. */
export function hostProblem(host: string): string | undefined {
  if (isIP(host) !== 0) return undefined;
  if (host.length > 253) return `a host name has at most 253 characters, not ${host.length}`;
  if (!HOST_NAME.test(host)) {
    return 'not a host name (letters, digits, "-" and "." in labels of at most 63 characters) or an IP address';
  }
  return undefined;
}

/**
 * Parses `HOST:PORT` (`[::1]:7000`, `0.0.0.0:0`); throws a clear error otherwise. Port 0 (any
 * free port) is for listening; `what` names the argument in the error.
 */
export function parseHostPort(text: string, what = 'address'): HostPort {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]/\s]+)):(\d{1,5})$/.exec(text);
  const host = match?.[1] ?? match?.[2];
  const port = Number(match?.[3]);
  if (host === undefined || !Number.isInteger(port) || port > 65535) {
    throw new Error(`invalid ${what} ${quote(text)}: use HOST:PORT, e.g. 127.0.0.1:7000`);
  }
  if (match?.[1] !== undefined && isIP(host) !== 6) {
    throw new Error(`invalid ${what} ${quote(text)}: [${host}] is not an IPv6 address`);
  }
  const problem = hostProblem(host);
  if (problem !== undefined) throw new Error(`invalid ${what} ${quote(text)}: ${problem}`);
  const target = isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
  return { host, port, target };
}

/** `HOST:PORT` of a server to connect to: as `parseHostPort`, but a port from 1 to 65535. */
export function parseServerAddress(text: string, what = 'address'): HostPort {
  const parsed = parseHostPort(text, what);
  if (parsed.port === 0) {
    throw new Error(
      `invalid ${what} ${quote(text)}: port 0 means "any free port" when listening; ` +
        "connect to the server's port (1-65535)",
    );
  }
  return parsed;
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
    throw new Error(`invalid gRPC endpoint ${quote(url)}: use grpc://HOST:PORT`);
  }
  const [authority = '', query] = rest.split('?', 2);
  const hostPort = parseServerAddress(authority, 'gRPC endpoint address');
  if (query === undefined) return { ...hostPort, tls: undefined };
  const tls: ClientTlsFiles = {};
  for (const [key, value] of new URLSearchParams(query)) {
    const field = TLS_PARAMS[key];
    if (field === undefined) {
      throw new Error(
        `invalid gRPC endpoint ${quote(url)}: unknown parameter ${quote(key)} ` +
          `(known: ${Object.keys(TLS_PARAMS).join(', ')})`,
      );
    }
    if (value === '') throw new Error(`invalid gRPC endpoint: ${key} is empty`);
    const problem = field === 'serverName' ? hostProblem(value) : undefined;
    if (problem !== undefined) {
      throw new Error(`invalid gRPC endpoint: ${key} ${quote(value)}: ${problem}`);
    }
    tls[field] = value;
  }
  if ((tls.cert === undefined) !== (tls.key === undefined)) {
    throw new Error('invalid gRPC endpoint: tls-cert and tls-key go together (mutual TLS)');
  }
  return { ...hostPort, tls };
}
