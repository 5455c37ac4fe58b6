/**
 * What an endpoint scheme of the command line is (`memory:`, `zfs:`, `grpc://`): the table in
 * endpoints.ts lists them, each scheme's module implements one.
 */
import type { Receiver, Sender } from '../endpoints/types.js';
import type { ZfsEndpointCliOptions } from './zfs-options.js';

export type EndpointRole = 'sender' | 'receiver';

/** An endpoint made from a spec, with what must happen when the run is over. */
export interface OpenedEndpoint<E> {
  endpoint: E;
  /** Releases what the endpoint holds (connections, a fixture to save); idempotent. */
  close(): Promise<void>;
}

/** How a receiver opened from the command line treats what a sender's stream asks for. */
export type ReceiverOptions = ZfsEndpointCliOptions['receiver'] & {
  /** `--trust-stream-properties`: keep properties carried by `zfs send -p` streams (zfs: only). */
  trustStreamProperties?: boolean;
};

/** Options of a sender opened from the command line (zfs: only). */
export type SenderOptions = ZfsEndpointCliOptions['sender'];

export interface EndpointScheme {
  /** `memory` for `memory:...`; for a URL scheme like `grpc://`, `grpc`. */
  scheme: string;
  /** One line of help: the spec's form and what it means. */
  usage: string;
  /** `rest` is the spec without `<scheme>:`. Throws UsageError for a spec it cannot use. */
  sender(rest: string, options?: SenderOptions): Promise<OpenedEndpoint<Sender>>;
  receiver(rest: string, options?: ReceiverOptions): Promise<OpenedEndpoint<Receiver>>;
}
