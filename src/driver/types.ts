/**
 * The driver's contract with the world (DRIVER.md "Public API"): the statecharts' contract
 * (machines/contract.ts), and the Logger the driver logs to.
 */
export type {
  ErrorClass,
  FS,
  FilesystemInfo,
  Planner,
  Step,
  StepInfo,
} from '../../machines/contract.js';

/** pino-compatible logger: `logger.info({ fs }, 'message')` or `logger.info('message')`. */
export interface Logger {
  debug(obj: unknown, msg?: string): void;
  info(obj: unknown, msg?: string): void;
  warn(obj: unknown, msg?: string): void;
  error(obj: unknown, msg?: string): void;
}
