/**
 * Endpoint specs of the command line (`--from`, `--to`): `<scheme>:<rest>`, resolved through
 * one table. A new transport is one entry in `SCHEMES`.
 *
 *   memory:[FIXTURE.json][?root=DATASET]   the simulated pool, empty or from a fixture
 *   zfs:ROOT                               the local zfs command, below dataset ROOT
 *   grpc://HOST:PORT[?tls-...]             an endpoint served by `xrepl serve` (grpc-scheme.ts)
 *   ssh://[user@]host[:port]/ROOT[?...]    `xrepl stdio` on another machine (ssh-scheme.ts)
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { MemoryPool, memoryReceiver, memorySender } from '../endpoints/memory/index.js';
import type { Receiver, Sender } from '../endpoints/types.js';
import { zfsReceiver, zfsSender } from '../endpoints/zfs/index.js';
import { relativePathProblem } from '../endpoints/paths.js';
import { grpcScheme } from './grpc-scheme.js';
import { sshScheme } from './ssh-scheme.js';
import type {
  EndpointRole,
  EndpointScheme,
  OpenedEndpoint,
  ReceiverOptions,
  SenderOptions,
} from './endpoint-scheme.js';
import { UsageError } from './io.js';
import { zfsOnlyFlags } from './zfs-options.js';

export type {
  EndpointRole,
  EndpointScheme,
  OpenedEndpoint,
  ReceiverOptions,
  SenderOptions,
} from './endpoint-scheme.js';

const nothingToClose = async (): Promise<void> => {};

/** `FIXTURE.json?root=DATASET` split into its parts; both optional. */
function memorySpec(rest: string): { file: string | undefined; root: string | undefined } {
  const q = rest.indexOf('?');
  const file = (q < 0 ? rest : rest.slice(0, q)) || undefined;
  if (q < 0) return { file, root: undefined };
  const params = new URLSearchParams(rest.slice(q + 1));
  for (const key of params.keys()) {
    if (key !== 'root')
      throw new UsageError(`memory: endpoint has no option "${key}" (known: root)`);
  }
  const root = params.get('root') ?? undefined;
  const problem = root === undefined ? undefined : relativePathProblem(root);
  if (problem !== undefined) throw new UsageError(`memory: root "${root}" is invalid: ${problem}`);
  return { file, root };
}

function loadPool(file: string): MemoryPool {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    throw new UsageError(`cannot read memory pool fixture ${file}: ${(cause as Error).message}`, {
      cause,
    });
  }
  try {
    return MemoryPool.fromFixture(text);
  } catch (cause) {
    throw new UsageError(`${file}: ${(cause as Error).message}`, { cause });
  }
}

/** The simulated pool. A receiver's fixture file is created if missing and saved at the end. */
const memoryScheme: EndpointScheme = {
  scheme: 'memory',
  usage: 'memory:[FIXTURE.json][?root=DATASET]  simulated pool (receiver: saved back to FIXTURE)',
  async sender(rest) {
    const { file, root } = memorySpec(rest);
    const pool = file === undefined ? new MemoryPool({ seed: 'sender' }) : loadPool(file);
    return { endpoint: memorySender(pool, root), close: nothingToClose };
  },
  async receiver(rest) {
    const { file, root } = memorySpec(rest);
    const pool =
      file === undefined || !existsSync(file)
        ? new MemoryPool({ seed: 'receiver' })
        : loadPool(file);
    let saved = false;
    return {
      endpoint: memoryReceiver(pool, root ?? 'backup', { resumable: true }),
      async close() {
        if (file === undefined || saved) return;
        saved = true;
        writeFileSync(file, `${JSON.stringify(pool.toFixture(), null, 2)}\n`);
      },
    };
  },
};

function zfsRoot(rest: string): string {
  const problem = relativePathProblem(rest);
  if (problem !== undefined) {
    throw new UsageError(
      `zfs: endpoint needs a root dataset, e.g. zfs:tank/data ("${rest}": ${problem})`,
    );
  }
  return rest;
}

/** The local zfs command (OpenZFS or zfs-fuse). */
const zfsScheme: EndpointScheme = {
  scheme: 'zfs',
  usage: 'zfs:ROOT                              datasets below ROOT, through the local zfs command',
  async sender(rest, options = {}) {
    return { endpoint: zfsSender({ ...options, root: zfsRoot(rest) }), close: nothingToClose };
  },
  async receiver(rest, options = {}) {
    const trustStreamProperties = options.trustStreamProperties === true;
    const { job, recvSet, recvExclude } = options;
    return {
      endpoint: zfsReceiver({
        root: zfsRoot(rest),
        trustStreamProperties,
        ...(job !== undefined && { job }),
        ...(recvSet !== undefined && { recvSet }),
        ...(recvExclude !== undefined && { recvExclude }),
      }),
      close: nothingToClose,
    };
  },
};

/** Every scheme `--from` and `--to` accept. */
export const SCHEMES: readonly EndpointScheme[] = [memoryScheme, zfsScheme, grpcScheme, sshScheme];

/** The scheme of `spec` and the rest after `<scheme>:`, or a UsageError naming the known ones. */
export function schemeOf(
  spec: string,
  schemes: readonly EndpointScheme[] = SCHEMES,
): { scheme: EndpointScheme; rest: string } {
  const colon = spec.indexOf(':');
  const name = colon < 0 ? '' : spec.slice(0, colon);
  const scheme = schemes.find((s) => s.scheme === name);
  if (scheme === undefined) {
    const known = schemes.map((s) => `${s.scheme}:`).join(', ');
    const what = colon < 0 ? 'has no scheme' : `has unknown scheme "${name}:"`;
    throw new UsageError(`endpoint "${spec}" ${what} (known: ${known})`);
  }
  return { scheme, rest: spec.slice(colon + 1) };
}

/**
 * Opens `spec` as a sender or a receiver.
 *
 * @example
 * const { endpoint, close } = await openEndpoint('zfs:tank/data', 'sender');
 */
export async function openEndpoint<R extends EndpointRole>(
  spec: string,
  role: R,
  schemes: readonly EndpointScheme[] = SCHEMES,
  receiverOptions: ReceiverOptions = {},
  senderOptions: SenderOptions = {},
): Promise<OpenedEndpoint<R extends 'sender' ? Sender : Receiver>> {
  const { scheme, rest } = schemeOf(spec, schemes);
  if (receiverOptions.trustStreamProperties === true && scheme.scheme !== 'zfs') {
    throw new UsageError(
      `--trust-stream-properties applies to a zfs: receiver only, not to "${spec}" ` +
        '(a server started with xrepl serve decides for itself)',
    );
  }
  const zfsOnly = zfsOnlyFlags({ sender: senderOptions, receiver: receiverOptions }, role);
  if (zfsOnly.length > 0 && scheme.scheme !== 'zfs') {
    throw new UsageError(
      `${zfsOnly.join(', ')} apply to a zfs: ${role} only, not to "${spec}" ` +
        '(a server started with xrepl serve decides for itself)',
    );
  }
  const opened =
    role === 'sender'
      ? await scheme.sender(rest, senderOptions)
      : await scheme.receiver(rest, receiverOptions);
  return opened as OpenedEndpoint<R extends 'sender' ? Sender : Receiver>;
}

/** Help text listing the schemes, one a line. */
export function endpointHelp(schemes: readonly EndpointScheme[] = SCHEMES): string {
  return `Endpoints:\n${schemes.map((s) => `  ${s.usage}`).join('\n')}`;
}
