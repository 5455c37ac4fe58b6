/**
 * The `ssh://[user@]host[:port]/ROOT` endpoint scheme: `xrepl stdio` on another machine,
 * reached with OpenSSH (`ssh -o BatchMode=yes`), for users who have ssh keys and no CA.
 */
import { parseSshUrl } from '../transport/ssh/url.js';
import { sshReceiver, sshSender } from '../transport/ssh/endpoint.js';
import type { EndpointScheme, OpenedEndpoint } from './endpoint-scheme.js';
import { UsageError } from './io.js';

function checked(rest: string): string {
  const url = `ssh:${rest}`;
  try {
    parseSshUrl(url);
  } catch (cause) {
    throw new UsageError((cause as Error).message, { cause });
  }
  return url;
}

function opened<E extends { close(): Promise<void> }>(make: () => E): OpenedEndpoint<E> {
  let client: E;
  try {
    client = make();
  } catch (cause) {
    throw new UsageError((cause as Error).message, { cause });
  }
  return { endpoint: client, close: () => client.close() };
}

export const sshScheme: EndpointScheme = {
  scheme: 'ssh',
  usage: 'ssh://[user@]host[:port]/ROOT[?xrepl=CMD&identity=F]  `xrepl stdio` on HOST, through ssh',
  async sender(rest) {
    const url = checked(rest);
    return opened(() => sshSender(url));
  },
  async receiver(rest) {
    const url = checked(rest);
    return opened(() => sshReceiver(url));
  },
};
