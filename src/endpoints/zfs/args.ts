/**
 * The exact argv of every send and receive, built from validated names only. Pure functions,
 * so the tests can read which command each request becomes.
 */
import type { FilesystemVersion, SendReq } from '../types.js';
import { assertFilesystemPath, joinRoot } from '../paths.js';
import type { ZfsCapabilities } from './capabilities.js';

/** Why `name` is not a usable snapshot or bookmark name, or undefined when it is. */
export function versionNameProblem(name: string): string | undefined {
  if (typeof name !== 'string' || name === '') return 'empty name';
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(name)) return 'control character';
  if (/[/@#%]/.test(name)) return 'contains one of / @ # %';
  if (name.startsWith('-')) return 'leading "-"';
  if (name.length > 255) return 'longer than 255 characters';
  return undefined;
}

/** Throws a clear error unless `version.name` is a valid snapshot or bookmark name. */
export function assertVersionName(version: FilesystemVersion, what: string): void {
  const problem = versionNameProblem(version?.name);
  if (problem !== undefined) {
    throw new Error(`refusing ${what} ${JSON.stringify(version?.name)}: ${problem}`);
  }
}

/** Throws unless `token` looks like a zfs resume token (hex digits and dashes). */
export function assertResumeToken(token: string): void {
  if (typeof token !== 'string' || !/^[0-9A-Za-z-]{1,65536}$/.test(token)) {
    throw new Error(
      `refusing resume token ${JSON.stringify(String(token).slice(0, 40))}: not a zfs resume token`,
    );
  }
}

/** `fs@name` or `fs#name`. */
export function versionFullName(fs: string, version: FilesystemVersion): string {
  return `${fs}${version.type === 'bookmark' ? '#' : '@'}${version.name}`;
}

/** The part of `zfs send` after the options: `-t token`, or `[-i from] fs@to`. */
interface SendSource {
  args: string[];
  usedResumeToken: boolean;
}

/**
 * Throws a clear error unless every name in `req` is safe: filesystem path, target snapshot,
 * incremental source, resume token. Needs no zfs, so it runs before any command.
 */
export function assertSendReq(req: SendReq): void {
  assertFilesystemPath(req.filesystem);
  if (req.to?.type !== 'snapshot') {
    throw new Error(`refusing to send ${req.filesystem}: the target must be a snapshot`);
  }
  assertVersionName(req.to, 'snapshot name');
  if (req.from !== undefined) assertVersionName(req.from, 'incremental source name');
  if (req.resumeToken !== undefined) assertResumeToken(req.resumeToken);
}

function sendSource(root: string, req: SendReq, caps: ZfsCapabilities): SendSource {
  assertSendReq(req);
  const fs = joinRoot(root, req.filesystem);
  if (req.resumeToken !== undefined && caps.resumeTokens) {
    return { args: ['-t', req.resumeToken], usedResumeToken: true };
  }
  // Without resume support a token cannot be used: send afresh and say so (usedResumeToken).
  const to = versionFullName(fs, req.to);
  if (req.from === undefined) return { args: [to], usedResumeToken: false };
  return { args: ['-i', versionFullName(fs, req.from), to], usedResumeToken: false };
}

/**
 * argv of `zfs send` for `req` below `root`: full (`send [flags] fs@to`), incremental
 * (`send [flags] -i fs@from fs@to`, or `fs#from` for a bookmark) or resumed (`send -t token`).
 */
export function sendArgs(
  root: string,
  req: SendReq,
  caps: ZfsCapabilities,
  flags: readonly string[] = [],
): SendSource {
  const source = sendSource(root, req, caps);
  // A resumed send takes its options from the token (zfs send -t refuses -w, -c, -L, -p).
  const options = source.usedResumeToken ? [] : flags;
  return { args: ['send', ...options, ...source.args], usedResumeToken: source.usedResumeToken };
}

/** argv of the size estimate `zfs send -n -v -P ...` for `req`, with the send's `flags`. */
export function sendDryArgs(
  root: string,
  req: SendReq,
  caps: ZfsCapabilities,
  flags: readonly string[] = [],
): string[] {
  const [, ...rest] = sendArgs(root, req, caps, flags).args;
  return ['send', '-n', '-v', '-P', ...rest];
}

/**
 * The estimate in the output of `zfs send -n -v -P` (a `size\t<bytes>` line; older OpenZFS
 * printed it on stderr), or 0 when there is none.
 */
export function parseDrySize(output: string): number {
  const match = /^size\s+(\d+)\s*$/m.exec(output);
  return match?.[1] === undefined ? 0 : Number(match[1]);
}

export interface RecvOptions {
  /** `-F`: only for a full stream into an empty placeholder (nothing of ours to lose). */
  force: boolean;
  /** `-s`: keep a partial receive for resuming (pools with resume tokens). */
  resumable: boolean;
  /** `-o name=value` each: properties the receive sets (pools whose recv has `-o`). */
  properties?: Readonly<Record<string, string>>;
  /** `-x name` each: properties the receive leaves alone (pools whose recv has `-x`). */
  exclude?: readonly string[];
}

/**
 * argv of `zfs recv -u [-s] [-F] [-o name=value]... [-x name]... target@to`: never mounted, the snapshot
 * named explicitly.
 */
export function recvArgs(target: string, to: FilesystemVersion, options: RecvOptions): string[] {
  assertVersionName(to, 'snapshot name');
  const properties = Object.entries(options.properties ?? {});
  return [
    'recv',
    '-u',
    ...(options.resumable ? ['-s'] : []),
    ...(options.force ? ['-F'] : []),
    ...properties.flatMap(([name, value]) => ['-o', `${name}=${value}`]),
    ...(options.exclude ?? []).flatMap((name) => ['-x', name]),
    `${target}@${to.name}`,
  ];
}
