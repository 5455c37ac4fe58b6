/**
 * Resume tokens of the simulated pool: base64url JSON naming the filesystem, the guids of
 * the interrupted send and the payload bytes already received. The receiver lists what its
 * token says (`EndpointFilesystem.resume`); the sender reads the offset.
 */
import { z } from 'zod';

const PREFIX = 'xrepl-mem1-';

const ResumeTokenSchema = z.strictObject({
  fs: z.string(),
  fromGuid: z.string().optional(),
  toGuid: z.string(),
  toName: z.string(),
  bytes: z.number().int().nonnegative(),
});

/** What a memory resume token says. */
export type MemoryResumeToken = z.infer<typeof ResumeTokenSchema>;

export function encodeResumeToken(token: MemoryResumeToken): string {
  return PREFIX + Buffer.from(JSON.stringify(token), 'utf8').toString('base64url');
}

/** Decodes a token made by `encodeResumeToken`, or throws saying it is not one. */
export function decodeResumeToken(token: string): MemoryResumeToken {
  const bad = (cause?: unknown): Error =>
    new Error(`not a resume token of the simulated pool: ${JSON.stringify(token.slice(0, 40))}`, {
      cause,
    });
  if (!token.startsWith(PREFIX)) throw bad();
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(token.slice(PREFIX.length), 'base64url').toString('utf8'));
  } catch (cause) {
    throw bad(cause);
  }
  const result = ResumeTokenSchema.safeParse(value);
  if (!result.success) throw bad(result.error);
  return result.data;
}
