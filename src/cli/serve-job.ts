/**
 * The server of a sink or source job, run by `xrepl daemon`: what `xrepl serve` runs, from the
 * job's config. A sink receives below `root_fs` (under mutual TLS each client below
 * `root_fs/<identity>`), lets clients prune only with `allow_prune`; a source serves the
 * selected datasets of its pool, named below the pool (`tank/home` is `home`).
 */
import type { Logger } from '../driver/types.js';
import { zfsSender } from '../endpoints/zfs/index.js';
import type { SinkJob, SourceJob } from '../jobs/config.js';
import { selectedSender, type ServedJob } from '../jobs/serving.js';
import { sourceSide } from '../jobs/sides.js';
import { startServer, type ServedEndpoint } from '../transport/server.js';
import { loadServerTls } from '../transport/tls.js';
import { perIdentity, zfsBackend, type Backend } from './serve.js';

/** Serves `job` through the local zfs command (`backend` replaces it for a sink, in tests). */
export async function serveJob(
  job: SinkJob | SourceJob,
  logger: Logger,
  backend: (job: SinkJob) => Backend = (sink) =>
    zfsBackend(sink.root_fs, sink.trust_stream_properties),
): Promise<ServedJob> {
  const tls =
    job.tls === undefined
      ? undefined
      : await loadServerTls({
          cert: job.tls.cert,
          key: job.tls.key,
          ...(job.tls.ca !== undefined && { ca: job.tls.ca }),
        });
  let served: ServedEndpoint;
  if (job.type === 'sink') {
    served = { role: 'receiver', endpoint: perIdentity(backend(job), job.allow_prune) };
  } else {
    const { root, filter } = sourceSide(job);
    served = {
      role: 'sender',
      endpoint: selectedSender(zfsSender({ root, job: job.name }), filter),
    };
  }
  const server = await startServer({
    ...served,
    listen: job.listen,
    ...(tls !== undefined && { tls }),
    logger,
  });
  return { url: server.url, close: () => server.close() };
}
