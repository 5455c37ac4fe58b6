/**
 * Who may read the visualizer. It shows a live replication (dataset names, errors), and a
 * server on loopback is still reachable from any web page the user opens: a WebSocket is not
 * bound by the same-origin policy, and DNS rebinding makes `evil.example` resolve to
 * 127.0.0.1. So every request must name an allowed host (a loopback name, the address bound,
 * or a name allowed on purpose) with the server's port in its `Host` header, and a WebSocket
 * whose `Origin` is present must come from the page itself (`http://` + that Host).
 *
 * A request without `Origin` is accepted: browsers always send it on a WebSocket, so only
 * non-browser clients (scripts, tests, `curl`) leave it out, and they could send any Origin
 * they liked anyway; the Host check still applies to them.
 */
import type { IncomingHttpHeaders } from 'node:http';

/** Names of the local machine that no DNS answer can move elsewhere. */
const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '[::1]'];

/** Addresses that mean "every interface": not a name a page is reached by. */
const WILDCARDS = ['0.0.0.0', '[::]'];

export interface AccessPolicy {
  /** Host names (lower case, IPv6 in brackets) a request may name. */
  hosts: ReadonlySet<string>;
  /** The port the server listens on. */
  port: number;
}

/** `host` as it appears in a URL's host name: lower case, an IPv6 address in brackets. */
export function hostName(host: string): string {
  const lower = host.toLowerCase();
  return lower.includes(':') && !lower.startsWith('[') ? `[${lower}]` : lower;
}

/**
 * The hosts a request may name: the loopback names, the address bound (unless it is a
 * wildcard) and `allowed` (for a deliberate `--host`, the names the page is reached by).
 */
export function accessPolicy(
  bound: string,
  port: number,
  allowed: readonly string[] = [],
): AccessPolicy {
  const hosts = new Set([...LOOPBACK_NAMES, ...allowed.map(hostName)]);
  const boundName = hostName(bound);
  if (!WILDCARDS.includes(boundName)) hosts.add(boundName);
  return { hosts, port };
}

/** A plain `host[:port]` (a name, an IPv4 address or a bracketed IPv6 address). */
const AUTHORITY = /^(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(?::(\d{1,5}))?$/i;

/** The host name and port of a `Host` header, or null if it is anything else. */
function authority(text: string): { name: string; port: number } | null {
  const match = AUTHORITY.exec(text);
  if (match === null) return null;
  return {
    name: (match[1] ?? '').toLowerCase(),
    port: match[2] === undefined ? 80 : Number(match[2]),
  };
}

/** Why a request to the page or the API is refused, or null when it is allowed. */
export function hostProblem(headers: IncomingHttpHeaders, policy: AccessPolicy): string | null {
  const host = headers.host;
  if (host === undefined || host === '') return 'no Host header';
  const parsed = authority(host);
  if (parsed === null) return `malformed Host header ${JSON.stringify(host)}`;
  if (!policy.hosts.has(parsed.name) || parsed.port !== policy.port) {
    return (
      `Host ${JSON.stringify(host)} is not this visualizer's (allowed: ` +
      `${[...policy.hosts].map((h) => `${h}:${policy.port}`).join(', ')}; see --allow-host)`
    );
  }
  return null;
}

/** Why a WebSocket upgrade is refused, or null when it is allowed. */
export function upgradeProblem(headers: IncomingHttpHeaders, policy: AccessPolicy): string | null {
  const problem = hostProblem(headers, policy);
  if (problem !== null) return problem;
  const origin = headers.origin;
  if (origin === undefined) return null; // not a browser: see the module comment
  const own = `http://${(headers.host ?? '').toLowerCase()}`;
  const normalised = origin.toLowerCase().replace(/:80$/, '');
  if (normalised !== own.replace(/:80$/, '')) {
    return `Origin ${JSON.stringify(origin)} is not the page's own (${own})`;
  }
  return null;
}
