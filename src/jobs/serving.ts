/**
 * Sink and source jobs (JOBS.md "The config file"): what `xrepl serve` does, run by the daemon.
 * The server itself comes from the command line's composition (`JobDeps.serveJob`); here is
 * what a source shows of its pool: only the selected filesystems, and nothing else is sent.
 */
import type { Sender } from '../endpoints/types.js';

/** A job's running server. */
export interface ServedJob {
  /** `grpc://HOST:PORT` as clients reach it. */
  readonly url: string;
  close(): Promise<void>;
}

/** Refused: a path the source does not serve. */
export class NotServedError extends Error {
  override readonly name = 'NotServedError';
}

/**
 * `sender` showing only the filesystems `selects` accepts; every call about another one is
 * refused before the sender sees it.
 *
 * @example selectedSender(zfsSender({ root: 'tank' }), (path) => path.startsWith('home'))
 */
export function selectedSender(sender: Sender, selects: (path: string) => boolean): Sender {
  const check = (path: string): void => {
    if (!selects(path)) {
      throw new NotServedError(`filesystem ${JSON.stringify(path)} is not served by this source`);
    }
  };
  return {
    async listFilesystems(signal) {
      return (await sender.listFilesystems(signal)).filter((fs) => selects(fs.path));
    },
    async listFilesystemVersions(fs, signal) {
      check(fs);
      return sender.listFilesystemVersions(fs, signal);
    },
    waitForConnectivity: (signal) => sender.waitForConnectivity(signal),
    async sendDry(req, signal) {
      check(req.filesystem);
      return sender.sendDry(req, signal);
    },
    async send(req, signal) {
      check(req.filesystem);
      return sender.send(req, signal);
    },
    async sendCompleted(req, signal) {
      check(req.filesystem);
      return sender.sendCompleted(req, signal);
    },
  };
}
