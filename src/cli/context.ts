/** What every command gets: the IO, the endpoint schemes, and where its exit code goes. */
import type { Command } from 'commander';
import type { EndpointScheme } from './endpoints.js';
import type { CliIO } from './io.js';

export interface CommandContext {
  io: CliIO;
  /** The schemes `--from`/`--to` (and other endpoint options) accept. */
  schemes: readonly EndpointScheme[];
  /** Sets the exit code `main()` returns. */
  exit(code: number): void;
}

/** Adds one command (or a few) to the program. */
export type RegisterCommand = (program: Command, ctx: CommandContext) => void;
