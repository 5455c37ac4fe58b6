/**
 * What a client endpoint knows about its connection between calls. Once a call has failed
 * because the connection did (a keepalive ping went unanswered, the server went away, a
 * stream stalled), the calls queued behind it must not each rediscover that: against a
 * stopped server each would wait out the stream idle timeout, one after the other. While the
 * connection is known lost and the channel is not READY again, a new call fails at once with
 * a temporary connectivity error, the attempt ends, and the driver's reconnect wait (D2)
 * takes over. The channel keeps reconnecting meanwhile, so a server that comes back is used
 * again as soon as the channel is READY, or once `waitForConnectivity` has reached it.
 */
import { connectivityState, status, type Client } from '@grpc/grpc-js';
import { errorMessage } from '../errors/classify.js';
import { GrpcEndpointError, isConnectionFailure } from './errors.js';

export class Liveness {
  /** The failure that showed the connection lost; undefined while it is not known lost. */
  private lost: unknown;
  /**
   * Whether the channel was seen not READY since the loss. A data connection (data/) can find
   * the server dead before gRPC's own keepalive does: until then the channel still says READY,
   * which is no sign that the server answers again.
   */
  private reconnecting = false;

  /**
   * Notes a failed call: a failure of the connection marks it lost. `channelReady`: the gRPC
   * channel still says READY (a data connection's failure, which gRPC has not noticed yet).
   */
  failed(err: unknown, channelReady = false): void {
    if (isConnectionFailure(err)) {
      this.lost = err;
      this.reconnecting = !channelReady;
    }
  }

  /** The server answered: the connection works. */
  answered(): void {
    this.lost = undefined;
  }

  /**
   * Throws the error of a call that is not even tried, while the connection is known lost and
   * `client`'s channel has not become READY again (asking it to reconnect meanwhile). READY
   * counts once the channel was seen otherwise since the loss; before that, only an answer
   * (`answered`, e.g. the ping of the driver's reconnect wait) clears the loss.
   */
  check(client: Client, where: string): void {
    if (this.lost === undefined) return;
    if (client.getChannel().getConnectivityState(true) === connectivityState.READY) {
      if (this.reconnecting) {
        this.lost = undefined;
        return;
      }
    } else {
      this.reconnecting = true;
    }
    const details = `not started: the connection was lost and is not back yet (${errorMessage(this.lost)})`;
    throw new GrpcEndpointError(`${where}: ${details}`, status.UNAVAILABLE, details, {
      cause: this.lost,
    });
  }
}
