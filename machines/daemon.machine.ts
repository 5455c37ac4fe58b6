/**
 * The daemon (JOBS.md "The daemon"): one job actor per job, spawned with the job's name as
 * its id. TICK, WAKEUP and RESET go to the named job; RELOAD replaces the set of jobs (a job
 * whose name and kind stay keeps running, with its state and history); STOP stops every job,
 * which aborts the work they are doing, and ends the daemon.
 */
import { assign, enqueueActions, setup, type ActorRefFrom } from 'xstate';
import { jobMachine, type JobKind } from './job.machine.js';

export type JobActor = ActorRefFrom<typeof jobMachine>;

export interface DaemonJob {
  name: string;
  kind: JobKind;
}

export interface DaemonInput {
  jobs: readonly DaemonJob[];
  now: () => Date;
}

export interface DaemonContext {
  now: () => Date;
  jobs: Record<string, { kind: JobKind; actor: JobActor }>;
}

export type DaemonEvent =
  | { type: 'TICK'; job: string }
  | { type: 'WAKEUP'; job: string }
  | { type: 'RESET'; job: string }
  | { type: 'RELOAD'; jobs: readonly DaemonJob[] }
  | { type: 'STOP' };

export const daemonMachine = setup({
  types: {
    context: {} as DaemonContext,
    events: {} as DaemonEvent,
    input: {} as DaemonInput,
  },
  actors: { job: jobMachine },
  actions: {
    forward: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'TICK' && event.type !== 'WAKEUP' && event.type !== 'RESET') return;
      const job = context.jobs[event.job];
      if (job !== undefined) enqueue.sendTo(job.actor, { type: event.type });
    }),
    spawnJobs: assign({
      jobs: ({ context, spawn }, params: { jobs: readonly DaemonJob[] }) => {
        const next: DaemonContext['jobs'] = {};
        for (const job of params.jobs) {
          const kept = context.jobs[job.name];
          next[job.name] =
            kept !== undefined && kept.kind === job.kind
              ? kept
              : {
                  kind: job.kind,
                  actor: spawn('job', {
                    id: `job-${job.name}`,
                    input: { name: job.name, kind: job.kind, now: context.now },
                  }),
                };
        }
        return next;
      },
    }),
    stopReplacedJobs: enqueueActions(
      ({ context, enqueue }, params: { jobs: readonly DaemonJob[] }) => {
        for (const [name, job] of Object.entries(context.jobs)) {
          const stays = params.jobs.some((j) => j.name === name && j.kind === job.kind);
          if (!stays) enqueue.stopChild(job.actor);
        }
      },
    ),
    stopAllJobs: enqueueActions(({ context, enqueue }) => {
      for (const job of Object.values(context.jobs)) enqueue.stopChild(job.actor);
    }),
    forgetJobs: assign({ jobs: {} }),
  },
}).createMachine({
  id: 'daemon',
  context: ({ input, spawn }) => ({
    now: input.now,
    jobs: Object.fromEntries(
      input.jobs.map((job) => [
        job.name,
        {
          kind: job.kind,
          actor: spawn('job', {
            id: `job-${job.name}`,
            input: { name: job.name, kind: job.kind, now: input.now },
          }),
        },
      ]),
    ),
  }),
  initial: 'running',
  states: {
    running: {
      on: {
        TICK: { actions: 'forward' },
        WAKEUP: { actions: 'forward' },
        RESET: { actions: 'forward' },
        RELOAD: {
          actions: [
            { type: 'stopReplacedJobs', params: ({ event }) => ({ jobs: event.jobs }) },
            { type: 'spawnJobs', params: ({ event }) => ({ jobs: event.jobs }) },
          ],
        },
        STOP: { target: 'stopped', actions: ['stopAllJobs', 'forgetJobs'] },
      },
    },
    stopped: { type: 'final' },
  },
});
