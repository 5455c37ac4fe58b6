/**
 * Prometheus metrics of the daemon (JOBS.md "The daemon, status and metrics"), on a registry
 * of its own. Lag is computed when scraped: the age of the oldest sender snapshot that the
 * receiver lacks, so it grows while replication is stuck and is 0 when the receiver is
 * current.
 */
import { createServer, type Server } from 'node:http';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { JOB_STATES } from '../../machines/job.machine.js';

export interface JobMetrics {
  readonly registry: Registry;
  replicated(job: string, dataset: string, bytes: number, steps: number, at: Date): void;
  /** `since`: creation of the oldest sender snapshot the receiver lacks; undefined when current. */
  behind(job: string, dataset: string, since: Date | undefined): void;
  runDuration(job: string, seconds: number): void;
  error(job: string, during: string, errorClass: string): void;
  snapshotsTaken(job: string, n: number): void;
  snapshotsPruned(job: string, side: string, n: number): void;
  /** Drops every series of a job (after a reload removed it). */
  forget(job: string): Promise<void>;
}

/** The metrics, with `now` for the lag and `jobStates` read at each scrape. */
export function createMetrics(
  now: () => Date,
  jobStates: () => ReadonlyMap<string, string>,
): JobMetrics {
  const registry = new Registry();
  const registers = [registry];
  const behindSince = new Map<string, { job: string; dataset: string; since: Date | undefined }>();
  new Gauge({
    name: 'xrepl_job_state',
    help: 'The state the job is in (1 for the current state, 0 for the others)',
    labelNames: ['job', 'state'],
    registers,
    collect() {
      this.reset();
      for (const [job, current] of jobStates()) {
        for (const s of JOB_STATES) this.set({ job, state: s }, s === current ? 1 : 0);
      }
    },
  });
  const lastSuccess = new Gauge({
    name: 'xrepl_replication_last_success_timestamp_seconds',
    help: 'When a replication run last brought the dataset up to date (unix time)',
    labelNames: ['job', 'dataset'],
    registers,
  });
  new Gauge({
    name: 'xrepl_replication_lag_seconds',
    help: 'Age of the oldest sender snapshot the receiver lacks (0: up to date)',
    labelNames: ['job', 'dataset'],
    registers,
    collect() {
      this.reset();
      for (const { job, dataset, since } of behindSince.values()) {
        const lag = since === undefined ? 0 : (now().getTime() - since.getTime()) / 1000;
        this.set({ job, dataset }, Math.max(0, lag));
      }
    },
  });
  const bytes = new Counter({
    name: 'xrepl_replication_bytes_total',
    help: 'Bytes replicated',
    labelNames: ['job', 'dataset'],
    registers,
  });
  const steps = new Counter({
    name: 'xrepl_replication_steps_total',
    help: 'Snapshots transferred (steps completed)',
    labelNames: ['job', 'dataset'],
    registers,
  });
  const errors = new Counter({
    name: 'xrepl_job_errors_total',
    help: 'Failed job steps, by the state they failed in and the error class',
    labelNames: ['job', 'during', 'class'],
    registers,
  });
  const duration = new Histogram({
    name: 'xrepl_replication_run_duration_seconds',
    help: 'Duration of replication runs',
    labelNames: ['job'],
    buckets: [1, 5, 15, 60, 300, 900, 3600, 4 * 3600, 12 * 3600],
    registers,
  });
  const taken = new Counter({
    name: 'xrepl_snapshots_taken_total',
    help: 'Snapshots taken',
    labelNames: ['job'],
    registers,
  });
  const pruned = new Counter({
    name: 'xrepl_snapshots_pruned_total',
    help: 'Snapshots destroyed by pruning',
    labelNames: ['job', 'side'],
    registers,
  });
  return {
    registry,
    replicated(job, dataset, b, n, at) {
      bytes.inc({ job, dataset }, b);
      steps.inc({ job, dataset }, n);
      lastSuccess.set({ job, dataset }, at.getTime() / 1000);
    },
    behind(job, dataset, since) {
      behindSince.set(`${job}\0${dataset}`, { job, dataset, since });
    },
    runDuration: (job, seconds) => duration.observe({ job }, seconds),
    error: (job, during, errorClass) => errors.inc({ job, during, class: errorClass }),
    snapshotsTaken: (job, n) => taken.inc({ job }, n),
    snapshotsPruned: (job, side, n) => pruned.inc({ job, side }, n),
    async forget(job) {
      for (const metric of [lastSuccess, bytes, steps, errors, taken, pruned] as Gauge[]) {
        for (const { labels } of (await metric.get()).values) {
          if (labels.job === job) metric.remove(labels);
        }
      }
      duration.remove({ job });
      for (const [key, v] of behindSince) if (v.job === job) behindSince.delete(key);
    },
  };
}

/** Serves `GET /metrics` on `host:port`; resolves once listening, with the bound port. */
export async function serveMetrics(
  metrics: JobMetrics,
  listen: string,
): Promise<{ server: Server; port: number; close(): Promise<void> }> {
  const colon = listen.lastIndexOf(':');
  const host = listen.slice(0, colon) || '127.0.0.1';
  const port = Number(listen.slice(colon + 1));
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || req.url?.split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: GET /metrics\n');
      return;
    }
    metrics.registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
      (err: Error) => res.writeHead(500).end(`${err.message}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  return {
    server,
    port: typeof address === 'object' && address !== null ? address.port : port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
