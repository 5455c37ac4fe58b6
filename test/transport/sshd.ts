/**
 * A real OpenSSH server for the ssh transport's tests: `/usr/sbin/sshd -D` on a free loopback
 * port, with a throwaway host key, a throwaway client key in its `authorized_keys` (optionally
 * behind a forced command) and a second key it does not know. Everything lives in a temporary
 * directory that `stop()` removes. Needs root (sshd logs the user in as itself).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const SSHD = '/usr/sbin/sshd';

/** Why sshd tests cannot run here, or undefined. */
export function sshdUnavailable(): string | undefined {
  if (!existsSync(SSHD)) return `${SSHD} is not installed (apt-get install openssh-server)`;
  if (process.getuid?.() !== 0) return 'sshd logs in as the test user only when run as root';
  try {
    execFileSync('ssh', ['-V'], { stdio: 'ignore' });
  } catch {
    return 'no ssh client (apt-get install openssh-client)';
  }
  return undefined;
}

export interface TestSshd {
  port: number;
  dir: string;
  /** The key sshd accepts, and one it does not know. */
  clientKey: string;
  strangerKey: string;
  knownHosts: string;
  /** `ssh://127.0.0.1:PORT/ROOT?...` with the known hosts and `key` (default the accepted one). */
  url(root: string, params?: Record<string, string>, key?: string): string;
  stop(): Promise<void>;
}

function keygen(file: string): void {
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'xrepl-test', '-f', file]);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** `forcedCommand`: the `command="..."` of the accepted key's `authorized_keys` line. */
export async function startSshd(options: { forcedCommand?: string } = {}): Promise<TestSshd> {
  const dir = mkdtempSync(join(tmpdir(), 'xrepl-sshd-'));
  // sshd's privilege separation wants this directory.
  mkdirSync('/run/sshd', { recursive: true });
  const hostKey = join(dir, 'host_key');
  const clientKey = join(dir, 'client_key');
  const strangerKey = join(dir, 'stranger_key');
  for (const key of [hostKey, clientKey, strangerKey]) keygen(key);
  const forced =
    options.forcedCommand === undefined
      ? ''
      : `command="${options.forcedCommand.replace(/"/g, '\\"')}",restrict `;
  writeFileSync(
    join(dir, 'authorized_keys'),
    `${forced}${readFileSync(`${clientKey}.pub`, 'utf8')}`,
  );
  const port = await freePort();
  const config = join(dir, 'sshd_config');
  writeFileSync(
    config,
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${hostKey}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      'PidFile none',
      'StrictModes no',
      'UsePAM no',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PubkeyAuthentication yes',
      'PermitRootLogin prohibit-password',
      'AllowTcpForwarding no',
      'X11Forwarding no',
      'PrintMotd no',
      'LogLevel INFO',
      '',
    ].join('\n'),
  );
  const knownHosts = join(dir, 'known_hosts');
  const hostPub = readFileSync(`${hostKey}.pub`, 'utf8').trim().split(' ').slice(0, 2).join(' ');
  writeFileSync(knownHosts, `[127.0.0.1]:${port} ${hostPub}\n`);
  const child: ChildProcess = spawn(SSHD, ['-D', '-e', '-f', config], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  await new Promise<void>((resolve, reject) => {
    child.stderr?.setEncoding('utf8').on('data', (text: string) => {
      log += text;
      if (/Server listening on 127\.0\.0\.1 port/.test(log)) resolve();
    });
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`sshd exited with ${code}:\n${log}`)));
  });
  const url = (root: string, params: Record<string, string> = {}, key = clientKey): string => {
    const query = new URLSearchParams({ identity: key, 'known-hosts': knownHosts, ...params });
    return `ssh://root@127.0.0.1:${port}/${root}?${query.toString()}`;
  };
  return {
    port,
    dir,
    clientKey,
    strangerKey,
    knownHosts,
    url,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The pids of the `ssh` clients this process runs to `port` (from /proc). */
export function sshClientsTo(port: number): number[] {
  const pids: number[] = [];
  for (const entry of execFileSync('ls', ['/proc'], { encoding: 'utf8' }).split('\n')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid !== process.pid) continue;
      const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (argv[0] === 'ssh' && argv.includes(String(port))) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}
