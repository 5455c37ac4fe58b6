/**
 * `ssh://[user@]host[:port]/ROOT[?options]`: an endpoint reached by running `xrepl stdio` on
 * another machine through OpenSSH. Options (each optional):
 *
 *   role=sender|receiver    checked against the side the endpoint is used as
 *   xrepl=COMMAND           the remote xrepl command, words split on spaces (default `xrepl`)
 *   memory=FIXTURE          serve the remote simulated pool FIXTURE instead of `zfs` (tests)
 *   identity=FILE           ssh -i FILE
 *   known-hosts=FILE        ssh -o UserKnownHostsFile=FILE
 *   ssh-option=KEY=VALUE    ssh -o KEY=VALUE (repeatable)
 */
import { relativePathProblem } from '../../endpoints/paths.js';
import { quote } from '../../errors/quote.js';
import { hostProblem } from '../address.js';

export interface SshTarget {
  /** `ssh://user@host:port/root`, for messages. */
  address: string;
  user?: string;
  host: string;
  port?: number;
  /** The remote dataset root (or the simulated pool's root). */
  root: string;
  role?: 'sender' | 'receiver';
  /** The remote command that is xrepl, as words. */
  xrepl: string[];
  memory?: string;
  identity?: string;
  knownHosts?: string;
  sshOptions: string[];
}

const KNOWN = ['role', 'xrepl', 'memory', 'identity', 'known-hosts', 'ssh-option'];

function invalid(url: string, why: string): Error {
  return new Error(`invalid ssh endpoint ${quote(url)}: ${why}`);
}

/**
 * Parses an ssh endpoint URL.
 *
 * @example
 * parseSshUrl('ssh://backup@nas.example:2222/tank/backups?identity=/root/.ssh/xrepl')
 */
export function parseSshUrl(url: string): SshTarget {
  if (!url.startsWith('ssh://')) throw invalid(url, 'use ssh://[user@]host[:port]/ROOT');
  const rest = url.slice('ssh://'.length);
  const q = rest.indexOf('?');
  const location = q < 0 ? rest : rest.slice(0, q);
  const slash = location.indexOf('/');
  if (slash < 0) throw invalid(url, 'no /ROOT after the host (ssh://host/tank/data)');
  const authority = location.slice(0, slash);
  const root = decodeURIComponent(location.slice(slash + 1));
  const at = authority.lastIndexOf('@');
  const user = at < 0 ? undefined : decodeURIComponent(authority.slice(0, at));
  const hostPort = at < 0 ? authority : authority.slice(at + 1);
  const portMatch = /^(.*?)(?::(\d+))?$/.exec(hostPort);
  let host = portMatch?.[1] ?? '';
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  const port = portMatch?.[2] === undefined ? undefined : Number(portMatch[2]);
  if (host === '' || host.startsWith('-')) throw invalid(url, 'no host');
  const problem = hostProblem(host);
  if (problem !== undefined) throw invalid(url, `host ${quote(host)}: ${problem}`);
  if (port !== undefined && (port < 1 || port > 65535)) throw invalid(url, `port ${port}`);
  if (user !== undefined && !/^[A-Za-z0-9._][A-Za-z0-9._-]*$/.test(user)) {
    throw invalid(url, `user ${quote(user)} is not a user name`);
  }
  const rootProblem = relativePathProblem(root);
  if (rootProblem !== undefined) throw invalid(url, `root ${quote(root)}: ${rootProblem}`);
  const target: SshTarget = {
    address: `ssh://${authority}/${root}`,
    host,
    root,
    xrepl: ['xrepl'],
    sshOptions: [],
    ...(user !== undefined && { user }),
    ...(port !== undefined && { port }),
  };
  for (const [key, value] of new URLSearchParams(q < 0 ? '' : rest.slice(q + 1))) {
    if (!KNOWN.includes(key)) {
      throw invalid(url, `unknown parameter ${quote(key)} (known: ${KNOWN.join(', ')})`);
    }
    if (value === '') throw invalid(url, `${key} is empty`);
    if (key === 'role') {
      if (value !== 'sender' && value !== 'receiver')
        throw invalid(url, 'role is sender or receiver');
      target.role = value;
    } else if (key === 'xrepl') {
      target.xrepl = value.split(' ').filter((w) => w !== '');
    } else if (key === 'memory') {
      target.memory = value;
    } else if (key === 'identity') {
      target.identity = value;
    } else if (key === 'known-hosts') {
      target.knownHosts = value;
    } else {
      if (!/^[A-Za-z]+=[^\s]*$/.test(value))
        throw invalid(url, `ssh-option ${quote(value)}: KEY=VALUE`);
      target.sshOptions.push(value);
    }
  }
  return target;
}

/** `word` quoted for the remote shell that runs ssh's command. */
function shellWord(word: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** The `ssh` arguments that run `xrepl stdio` for `role` on `target`. */
export function sshArguments(target: SshTarget, role: 'sender' | 'receiver'): string[] {
  const backend =
    target.memory === undefined
      ? ['--zfs', target.root]
      : ['--memory', `${target.memory}?root=${target.root}`];
  const remote = [...target.xrepl, 'stdio', '--role', role, ...backend].map(shellWord).join(' ');
  return [
    ...['-T', '-o', 'BatchMode=yes'],
    ...(target.port !== undefined ? ['-p', String(target.port)] : []),
    ...(target.user !== undefined ? ['-l', target.user] : []),
    ...(target.identity !== undefined ? ['-i', target.identity, '-o', 'IdentitiesOnly=yes'] : []),
    ...(target.knownHosts !== undefined ? ['-o', `UserKnownHostsFile=${target.knownHosts}`] : []),
    ...target.sshOptions.flatMap((o) => ['-o', o]),
    '--',
    target.host,
    remote,
  ];
}
