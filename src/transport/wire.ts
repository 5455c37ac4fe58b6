/**
 * What crosses the wire, as zod schemas: every message is parsed on arrival, on both sides,
 * and converted between the Endpoint API's types and the protocol's (`proto/xrepl.proto`).
 * Messages are the plain objects of `@grpc/proto-loader` with `LOADER_OPTIONS`: camelCase
 * fields, uint64 as decimal strings, enums as their names, defaults filled in, and the name
 * of the set `oneof` field in `message`.
 */
import { z } from 'zod';
import { filesystemPathProblem } from '../endpoints/paths.js';
import type {
  DestroySnapshotsReq,
  DestroySnapshotsResult,
  EndpointFilesystem,
  FilesystemVersion,
  ReceiveReq,
  ResumeTokenInfo,
  SendReq,
} from '../endpoints/types.js';

/** How messages are decoded; the schemas below assume exactly these options. */
export const LOADER_OPTIONS = {
  keepCase: false,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
} as const;

/** The largest chunk of a stream in one message. */
export const MAX_CHUNK_BYTES = 256 * 1024;

/** Room for a header or a listing beside a chunk; bounds every message a server accepts. */
export const MAX_REQUEST_MESSAGE_BYTES = MAX_CHUNK_BYTES + 64 * 1024;

/** Bounds every message a client accepts: listings of very large trees fit. */
export const MAX_RESPONSE_MESSAGE_BYTES = 64 * 1024 * 1024;

const MAX_NAME = 1024;
const MAX_TOKEN = 16 * 1024;

const uint64 = z
  .string()
  .regex(/^(0|[1-9][0-9]*)$/, 'must be a uint64 as a decimal string')
  .refine((s) => BigInt(s) < 1n << 64n, 'must be below 2^64');

const datasetPath = z
  .string()
  .max(MAX_NAME)
  .superRefine((path, ctx) => {
    const problem = filesystemPathProblem(path);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
  });

const versionName = z
  .string()
  .min(1)
  .max(MAX_NAME)
  // eslint-disable-next-line no-control-regex
  .regex(/^[^@#/\u0000-\u001f\u007f]+$/, 'must be a snapshot or bookmark name');

/** `""` on the wire means none. */
const optionalToken = z
  .string()
  .max(MAX_TOKEN)
  .transform((s) => (s === '' ? undefined : s));

const VersionSchema = z
  .object({
    type: z.enum(['SNAPSHOT', 'BOOKMARK']),
    name: versionName,
    guid: uint64,
    createTxg: uint64,
    creation: z.iso.datetime(),
  })
  .transform((v): FilesystemVersion => ({
    type: v.type === 'SNAPSHOT' ? 'snapshot' : 'bookmark',
    name: v.name,
    guid: v.guid,
    createTxg: v.createTxg,
    creation: new Date(v.creation),
  }));

/** The wire form of a version. */
export function versionToWire(v: FilesystemVersion): z.input<typeof VersionSchema> {
  return {
    type: v.type === 'snapshot' ? 'SNAPSHOT' : 'BOOKMARK',
    name: v.name,
    guid: v.guid,
    createTxg: v.createTxg,
    creation: v.creation.toISOString(),
  };
}

const optionalText = z
  .string()
  .max(MAX_NAME)
  .transform((s) => (s === '' ? undefined : s));

const ResumeInfoSchema = z
  .object({
    fromGuid: z.union([z.literal(''), uint64]),
    toGuid: uint64,
    toName: optionalText,
    clearCommand: optionalText,
  })
  .transform(({ fromGuid, toGuid, toName, clearCommand }): ResumeTokenInfo => ({
    ...(fromGuid !== '' && { fromGuid }),
    toGuid,
    ...(toName !== undefined && { toName }),
    ...(clearCommand !== undefined && { clearCommand }),
  }));

export const ListFilesystemsResponseSchema = z
  .object({
    filesystems: z.array(
      z.object({
        path: datasetPath,
        isPlaceholder: z.boolean(),
        resumeToken: optionalToken,
        resume: ResumeInfoSchema.nullish(),
      }),
    ),
  })
  .transform(({ filesystems }) =>
    filesystems.map(({ path, isPlaceholder, resumeToken, resume }): EndpointFilesystem => ({
      path,
      isPlaceholder,
      ...(resumeToken !== undefined && { resumeToken }),
      ...(resumeToken !== undefined && resume && { resume }),
    })),
  );

export function filesystemsToWire(filesystems: readonly EndpointFilesystem[]): {
  filesystems: z.input<typeof ListFilesystemsResponseSchema>['filesystems'];
} {
  return {
    filesystems: filesystems.map((fs) => ({
      path: fs.path,
      isPlaceholder: fs.isPlaceholder,
      resumeToken: fs.resumeToken ?? '',
      resume: fs.resume && {
        fromGuid: fs.resume.fromGuid ?? '',
        toGuid: fs.resume.toGuid,
        toName: fs.resume.toName ?? '',
        clearCommand: fs.resume.clearCommand ?? '',
      },
    })),
  };
}

export const ListFilesystemVersionsRequestSchema = z.object({ filesystem: datasetPath });

export const ListFilesystemVersionsResponseSchema = z.object({
  versions: z.array(VersionSchema),
});

export const PingResponseSchema = z.object({ role: z.enum(['SENDER', 'RECEIVER']) });

export const SendRequestSchema = z
  .object({
    filesystem: datasetPath,
    from: VersionSchema.nullable(),
    to: VersionSchema,
    resumeToken: optionalToken,
  })
  .transform(({ filesystem, from, to, resumeToken }): SendReq => ({
    filesystem,
    ...(from !== null && { from }),
    to,
    ...(resumeToken !== undefined && { resumeToken }),
  }));

export function sendRequestToWire(req: SendReq): z.input<typeof SendRequestSchema> {
  return {
    filesystem: req.filesystem,
    from: req.from ? versionToWire(req.from) : null,
    to: versionToWire(req.to),
    resumeToken: req.resumeToken ?? '',
  };
}

export const SendDryResponseSchema = z
  .object({ expectedSize: uint64 })
  .transform(({ expectedSize }) => ({ expectedSize: Number(expectedSize) }));

const chunk = z.instanceof(Uint8Array).refine((b) => b.length <= MAX_CHUNK_BYTES, {
  message: `chunks are at most ${MAX_CHUNK_BYTES} bytes`,
});

/** One message of a `Send` stream: the header first, then chunks. */
export const SendMessageSchema = z.discriminatedUnion('message', [
  z.object({
    message: z.literal('header'),
    header: z.object({ usedResumeToken: z.boolean() }),
  }),
  z.object({ message: z.literal('chunk'), chunk }),
]);

export const ReceiveHeaderSchema = z
  .object({ filesystem: datasetPath, to: VersionSchema, clearResumeToken: z.boolean() })
  .transform((h): ReceiveReq => h);

/** One message of a `Receive` stream: the header first, then chunks. */
export const ReceiveMessageSchema = z.discriminatedUnion('message', [
  z.object({ message: z.literal('header'), header: ReceiveHeaderSchema }),
  z.object({ message: z.literal('chunk'), chunk }),
]);

export function receiveHeaderToWire(req: ReceiveReq): {
  header: z.input<typeof ReceiveHeaderSchema>;
} {
  return {
    header: {
      filesystem: req.filesystem,
      to: versionToWire(req.to),
      clearResumeToken: req.clearResumeToken,
    },
  };
}

export const DestroySnapshotsRequestSchema = z
  .object({
    filesystem: datasetPath,
    snapshots: z.array(z.object({ name: versionName, guid: uint64 })).max(100_000),
    dryRun: z.boolean(),
  })
  .transform((r): DestroySnapshotsReq => r);

export const DestroySnapshotsResponseSchema = z
  .object({
    destroyed: z.array(versionName),
    kept: z.array(z.object({ name: versionName, reason: z.string().max(MAX_NAME) })),
  })
  .transform((r): DestroySnapshotsResult => r);

/** An empty message (`ListFilesystemsRequest`, `PingRequest`, `SendCompletedResponse`, ...). */
export const EmptySchema = z.object({});

/** A message that failed its schema, as one readable line. */
export function describeIssues(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.join('.') || '(message)'}: ${i.message}`).join('; ');
}
