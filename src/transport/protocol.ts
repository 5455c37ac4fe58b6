/**
 * The loaded protocol: `proto/xrepl.proto` through its generated descriptor, as grpc-js method
 * and service definitions shared by the client and the server.
 */
import type { MethodDefinition, ServiceDefinition } from '@grpc/grpc-js';
import { fromJSON } from '@grpc/proto-loader';
import { XREPL_PROTO } from './proto/descriptor.js';
import { LOADER_OPTIONS } from './wire.js';

// The generated literal is exact; protobufjs's INamespace typing wants optional fields present.
const definition = fromJSON(XREPL_PROTO as Parameters<typeof fromJSON>[0], { ...LOADER_OPTIONS });

/** A service of the protocol, e.g. `service('Sender')`. */
export function service(name: 'Endpoint' | 'Sender' | 'Receiver'): ServiceDefinition {
  const found = definition[`xrepl.v1.${name}`];
  if (found === undefined || !('Ping' in found || 'Send' in found || 'Receive' in found)) {
    throw new Error(`xrepl.proto has no service xrepl.v1.${name}`);
  }
  return found as ServiceDefinition;
}

/** A method of the protocol, e.g. `method('Sender', 'Send')`; messages are untyped (zod parses them). */
export function method(
  serviceName: 'Endpoint' | 'Sender' | 'Receiver',
  name: string,
): MethodDefinition<unknown, unknown> {
  const found = service(serviceName)[name];
  if (found === undefined) throw new Error(`xrepl.proto has no method ${serviceName}.${name}`);
  return found as MethodDefinition<unknown, unknown>;
}

/** Every method by name; the client calls them through `grpc.Client`'s generic calls. */
export const METHODS = {
  listFilesystems: method('Endpoint', 'ListFilesystems'),
  listFilesystemVersions: method('Endpoint', 'ListFilesystemVersions'),
  ping: method('Endpoint', 'Ping'),
  sendDry: method('Sender', 'SendDry'),
  send: method('Sender', 'Send'),
  sendCompleted: method('Sender', 'SendCompleted'),
  receive: method('Receiver', 'Receive'),
  destroySnapshots: method('Receiver', 'DestroySnapshots'),
} as const;
