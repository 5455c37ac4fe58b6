/**
 * The JSON fixture format of a simulated pool (zod-validated at the edge): what
 * `MemoryPool.fromFixture` reads and `toFixture` writes. Guids, txgs and creation times may be
 * left out of hand-written fixtures; the pool then generates them.
 */
import { z } from 'zod';

const uint64 = z
  .string()
  .regex(/^(0|[1-9][0-9]*)$/, 'must be a uint64 as a decimal string')
  .refine((s) => BigInt(s) < 1n << 64n, 'must be below 2^64');

const isoDate = z.iso.datetime({ offset: true });

const SnapshotFixtureSchema = z.strictObject({
  name: z.string(),
  guid: uint64.optional(),
  createTxg: uint64.optional(),
  creation: isoDate.optional(),
  /** Bytes written since the previous snapshot: the payload of an incremental send to it. */
  size: z.number().int().nonnegative().optional(),
});

const BookmarkFixtureSchema = z.union([
  z.strictObject({ name: z.string(), guid: uint64, createTxg: uint64, creation: isoDate }),
  /** A bookmark of an existing snapshot of the same dataset, by snapshot name. */
  z.strictObject({ name: z.string(), snapshot: z.string() }),
]);

const PartialFixtureSchema = z.strictObject({
  fromGuid: uint64.optional(),
  toGuid: uint64,
  toName: z.string(),
  toCreation: isoDate,
  payloadSize: z.number().int().nonnegative(),
  bytes: z.number().int().nonnegative(),
});

const DatasetFixtureSchema = z.strictObject({
  path: z.string(),
  placeholder: z.boolean().optional(),
  snapshots: z.array(SnapshotFixtureSchema).optional(),
  bookmarks: z.array(BookmarkFixtureSchema).optional(),
  partial: PartialFixtureSchema.optional(),
});

/** Schema of a pool fixture; `PoolFixture` is its type. */
export const PoolFixtureSchema = z.strictObject({
  version: z.literal(1).optional(),
  /** Seeds the guid generator (ignored when `rngState` is given). */
  seed: z.union([z.string(), z.number()]).optional(),
  /** Saved generator state, so a round trip keeps generating fresh guids. */
  rngState: uint64.optional(),
  /** The txg the next snapshot gets; defaults to one past the highest in the fixture. */
  nextTxg: uint64.optional(),
  /** Parents before children; missing parents are created as ordinary datasets. */
  datasets: z.array(DatasetFixtureSchema),
});

export type PoolFixture = z.infer<typeof PoolFixtureSchema>;
export type DatasetFixture = z.infer<typeof DatasetFixtureSchema>;

/** Parses `json` (an object or a JSON string) or throws an Error listing every issue. */
export function parsePoolFixture(json: unknown): PoolFixture {
  let value = json;
  if (typeof json === 'string') {
    try {
      value = JSON.parse(json);
    } catch (cause) {
      throw new Error('memory pool fixture is not valid JSON', { cause });
    }
  }
  const result = PoolFixtureSchema.safeParse(value);
  if (!result.success) {
    const issues = result.error.issues.map(
      (i) => `  ${i.path.join('.') || '(root)'}: ${i.message}`,
    );
    throw new Error(`invalid memory pool fixture:\n${issues.join('\n')}`, { cause: result.error });
  }
  return result.data;
}
