/**
 * The `grpc://HOST:PORT` endpoint scheme: a Sender or Receiver served by `xrepl serve` on
 * another machine. TLS material is named in the URL's query (file paths, never contents):
 *
 *   grpc://backup.example:7000?tls-ca=ca.crt&tls-cert=client.crt&tls-key=client.key
 */
import { grpcReceiver, grpcSender, type GrpcClientOptions } from '../transport/client.js';
import { parseGrpcUrl } from '../transport/address.js';
import { loadClientTls } from '../transport/tls.js';
import type { EndpointScheme, OpenedEndpoint } from './endpoint-scheme.js';
import { UsageError } from './io.js';

async function clientOptions(
  rest: string,
): Promise<{ target: string; options: GrpcClientOptions }> {
  let url;
  try {
    url = parseGrpcUrl(`grpc:${rest}`);
  } catch (cause) {
    throw new UsageError((cause as Error).message, { cause });
  }
  if (url.tls === undefined) return { target: url.target, options: {} };
  try {
    return { target: url.target, options: { tls: await loadClientTls(url.tls) } };
  } catch (cause) {
    throw new UsageError((cause as Error).message, { cause });
  }
}

function opened<E extends { close(): void }>(client: E): OpenedEndpoint<E> {
  return { endpoint: client, close: async () => client.close() };
}

export const grpcScheme: EndpointScheme = {
  scheme: 'grpc',
  usage: 'grpc://HOST:PORT[?tls-ca=F&tls-cert=F&tls-key=F]  an endpoint served by `xrepl serve`',
  async sender(rest) {
    const { target, options } = await clientOptions(rest);
    return opened(grpcSender(target, options));
  },
  async receiver(rest) {
    const { target, options } = await clientOptions(rest);
    return opened(grpcReceiver(target, options));
  },
};
