/**
 * The gRPC transport (REPLICATION.md "Backends", 3): `startServer` serves a local endpoint
 * (what `xrepl serve` runs), `grpcSender`/`grpcReceiver` are the client endpoints of
 * `grpc://HOST:PORT`. The protocol is `proto/xrepl.proto`.
 *
 * @example
 * const server = await startServer({ listen: '127.0.0.1:0', role: 'receiver', endpoint: memoryReceiver(pool, 'backup') });
 * const receiver = grpcReceiver(server.url);
 * await replicate(config, createPlanner(memorySender(src, 'tank'), receiver)).wait();
 * receiver.close();
 * await server.close();
 */
export { grpcSender, grpcReceiver, GrpcSender, GrpcReceiver } from './client.js';
export type { GrpcClientOptions } from './client.js';
export { startServer } from './server.js';
export type { ServeOptions, ServedEndpoint, RunningServer, ClientInfo } from './server.js';
export { DEFAULT_LIMITS } from './limits.js';
export type { ServerLimits } from './limits.js';
export { GrpcEndpointError, GrpcTimeoutError, TlsCertificateError } from './errors.js';
export { parseGrpcUrl, parseHostPort, parseServerAddress } from './address.js';
export type { ClientTlsFiles, GrpcUrl, HostPort } from './address.js';
export { loadClientTls, loadServerTls, isLoopback } from './tls.js';
export type { ClientTls, ServerTls } from './tls.js';
export { MAX_CHUNK_BYTES } from './wire.js';
export { limitSender, parseBandwidth, throttle, TokenBucket } from './bandwidth.js';
export type { TokenBucketOptions } from './bandwidth.js';
export { sshReceiver, sshSender, SshReceiver, SshSender } from './ssh/endpoint.js';
export type { SshClientOptions } from './ssh/endpoint.js';
export { parseSshUrl } from './ssh/url.js';
export type { SshTarget } from './ssh/url.js';
