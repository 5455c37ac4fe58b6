/**
 * `xrepl status`, `xrepl wakeup JOB`, `xrepl reset JOB`: requests to a running daemon over its
 * control socket (`--socket`, or the one of `--config`). `status` draws every job and dataset,
 * redrawn each second on a terminal until Ctrl-C; `--json` prints one snapshot of the reports.
 */
import type { Command } from 'commander';
import { DEFAULT_CONFIG_PATH, loadConfig } from '../jobs/config.js';
import { controlRequest, type ControlRequest } from '../jobs/control.js';
import type { DaemonStatus, JobStatus } from '../jobs/runtime.js';
import type { CommandContext } from './context.js';
import { controlSocketOf } from './daemon.js';
import { clockOf, EXIT } from './io.js';
import { formatBytes } from './progress/format.js';
import { untilInterrupted } from './run.js';

interface SocketFlags {
  config: string;
  socket?: string;
}

function socketOf(flags: SocketFlags): string {
  return flags.socket ?? controlSocketOf(loadConfig(flags.config));
}

const ago = (iso: unknown, now: number): string => {
  if (iso === null || iso === undefined) return '-';
  const s = Math.round((now - new Date(String(iso)).getTime()) / 1000);
  return s < 120
    ? `${s}s ago`
    : s < 7200
      ? `${Math.round(s / 60)}m ago`
      : `${Math.round(s / 3600)}h ago`;
};

/** The status as text: a block per job, a line per dataset. */
export function statusText(status: DaemonStatus, now: number): string {
  const lines: string[] = [];
  for (const job of status.jobs as JobStatus[]) {
    lines.push(
      job.type === 'sink'
        ? `${job.name} (sink)` // no cycle: it serves
        : `${job.name} (${job.type}): ${job.state}, ${job.cycles} cycle(s), next ${job.nextTick === null ? 'on wakeup' : String(job.nextTick)}`,
    );
    if (job.serving?.url != null) lines.push(`  serving at ${job.serving.url}`);
    if (job.serving?.error != null) lines.push(`  not serving: ${job.serving.error}`);
    if (job.lastError !== null) {
      lines.push(
        `  error in ${job.lastError.during} ${ago(job.lastError.time, now)}: ${job.lastError.err}`,
      );
    }
    if (job.lastSnapshot !== null) {
      lines.push(
        `  last snapshot ${job.lastSnapshot.name} of ${job.lastSnapshot.datasets.length} dataset(s)`,
      );
    }
    if (job.run !== null) {
      const fss = job.run.attempts.at(-1)?.filesystems ?? [];
      const bytes = fss.reduce(
        (n, fs) => n + fs.steps.reduce((m, s) => m + s.info.bytesReplicated, 0),
        0,
      );
      lines.push(`  run: ${job.run.state}, ${fss.length} filesystem(s), ${formatBytes(bytes)}`);
      for (const fs of fss) {
        const err = fs.planError ?? fs.stepError;
        lines.push(
          `    ${fs.info.name}: ${fs.state} ${fs.currentStep}/${fs.steps.length}${err ? ` ${err.err}` : ''}`,
        );
      }
    }
    for (const side of ['sender', 'receiver'] as const) {
      const p = job.lastPrune[side];
      if (p !== null)
        lines.push(`  pruned ${side}: ${p.destroyed} destroyed over ${p.datasets} dataset(s)`);
    }
    for (const d of job.datasets) {
      lines.push(
        `  ${d.dataset}: ${d.behindSince === null ? 'up to date' : `behind since ${ago(d.behindSince, now)}`}, last success ${ago(d.lastSuccess, now)}`,
      );
    }
  }
  return `${lines.join('\n')}\n`;
}

async function ask(flags: SocketFlags, request: ControlRequest): Promise<unknown> {
  return controlRequest(socketOf(flags), request, AbortSignal.timeout(30_000));
}

async function statusCommand(
  flags: SocketFlags & { json?: boolean },
  ctx: CommandContext,
): Promise<number> {
  const { io } = ctx;
  const clock = clockOf(io);
  const status = (await ask(flags, { cmd: 'status' })) as DaemonStatus;
  if (flags.json === true) {
    io.stdout.write(`${JSON.stringify(status, null, 2)}\n`);
    return EXIT.done;
  }
  if (!io.isTTY) {
    io.stdout.write(statusText(status, clock.now()));
    return EXIT.done;
  }
  const draw = (s: DaemonStatus): void => {
    io.stdout.write(`\x1b[H\x1b[2J${statusText(s, clock.now())}`);
  };
  draw(status);
  let failed: Error | undefined;
  const stop = clock.every(1000, () => {
    ask(flags, { cmd: 'status' }).then(
      (s) => draw(s as DaemonStatus),
      (err: Error) => (failed = err),
    );
  });
  await untilInterrupted(io);
  stop();
  if (failed !== undefined) io.stderr.write(`error: ${failed.message}\n`);
  return EXIT.done;
}

/** Registers `status`, `wakeup` and `reset`. */
export function registerStatus(program: Command, ctx: CommandContext): void {
  const socketOptions = (command: Command): Command =>
    command
      .option('--config <file>', 'the config file (its control socket)', DEFAULT_CONFIG_PATH)
      .option('--socket <path>', 'the control socket (instead of the config)');
  socketOptions(
    program
      .command('status')
      .description('show every job and dataset of the running daemon')
      .option('--json', "print one snapshot of the jobs' reports as JSON"),
  ).action(async (_o: unknown, command: Command) => {
    ctx.exit(await statusCommand(command.optsWithGlobals(), ctx));
  });
  for (const cmd of ['wakeup', 'reset'] as const) {
    socketOptions(
      program
        .command(cmd)
        .description(cmd === 'wakeup' ? 'start a cycle of a job now' : "clear a job's error")
        .argument('<job>', 'the job, by name'),
    ).action(async (job: string, _o: unknown, command: Command) => {
      await ask(command.optsWithGlobals(), { cmd, job });
      ctx.io.stdout.write(`${cmd}: ${job}\n`);
      ctx.exit(EXIT.done);
    });
  }
}
