/**
 * Listing datasets and versions with `zfs get -Hp`, the one listing that zfs-fuse and OpenZFS
 * both print exactly (`zfs list -p` is missing on zfs-fuse; plain `zfs list` rounds guids).
 * Pure functions: argv in, parsed records out. guid and createtxg stay decimal strings.
 */
import type { EndpointFilesystem, FilesystemVersion } from '../types.js';
import { relativeTo } from '../paths.js';
import { decodeZfsResumeToken } from './resume-token.js';

/** The user property marking a filesystem created by a receiver only to hold children. */
export const PLACEHOLDER_PROPERTY = 'xrepl:placeholder';

/** OpenZFS's property holding a partial receive's resume token (unknown to zfs-fuse). */
export const RESUME_TOKEN_PROPERTY = 'receive_resume_token';

export type DatasetType = 'filesystem' | 'volume' | 'snapshot' | 'bookmark';

/** One line of `zfs get -H -o name,property,value,source`. */
export interface PropertyRow {
  name: string;
  property: string;
  value: string;
  /** `local`, `default`, `inherited from x`, `-`; undefined when the output had no source column. */
  source?: string;
}

/** A dataset with the properties the backend lists. */
export interface DatasetRecord {
  /** The full name, e.g. `tank/a@s1`. */
  name: string;
  type: DatasetType;
  guid: string;
  createTxg: string;
  creation: Date;
  /** `xrepl:placeholder=on` set locally (inherited values do not count). */
  placeholder: boolean;
  resumeToken?: string;
  /** Snapshots: how many user holds it has (listed where xrepl uses holds). */
  userrefs?: number;
}

/**
 * argv for listing `dataset` and everything below it (`depth` 1: the dataset and its snapshots
 * and bookmarks). The source column tells a placeholder from a child inheriting the property.
 */
export function listArgs(
  dataset: string,
  options: { depth?: number; resumeTokens: boolean; holds?: boolean },
): string[] {
  const properties = ['guid', 'createtxg', 'creation', 'type', PLACEHOLDER_PROPERTY];
  if (options.resumeTokens) properties.push(RESUME_TOKEN_PROPERTY);
  if (options.holds === true) properties.push('userrefs');
  const depth = options.depth === undefined ? [] : ['-d', String(options.depth)];
  return [
    'get',
    '-Hp',
    '-r',
    ...depth,
    '-o',
    'name,property,value,source',
    properties.join(','),
    dataset,
  ];
}

/**
 * Splits `zfs get -H` output into rows. `withSource`: the output has the fourth column
 * (`-o name,property,value,source`), else three.
 */
export function parsePropertyRows(stdout: string, withSource = true): PropertyRow[] {
  const rows: PropertyRow[] = [];
  for (const line of stdout.split('\n')) {
    if (line === '') continue;
    const fields = line.split('\t');
    const [name, property] = fields;
    if (name === undefined || property === undefined || fields.length < (withSource ? 4 : 3)) {
      throw new Error(`unexpected zfs get output line ${JSON.stringify(line)}`);
    }
    // A user property's value may itself hold a tab: everything between the fixed columns.
    const value = fields.slice(2, withSource ? -1 : undefined).join('\t');
    rows.push({ name, property, value, ...(withSource ? { source: fields.at(-1) ?? '' } : {}) });
  }
  return rows;
}

const DECIMAL = /^\d+$/;
const TYPES: ReadonlySet<string> = new Set(['filesystem', 'volume', 'snapshot', 'bookmark']);

function required(name: string, props: Map<string, PropertyRow>, property: string): string {
  const value = props.get(property)?.value;
  if (value === undefined) throw new Error(`zfs get listed ${name} without its ${property}`);
  return value;
}

function decimal(name: string, property: string, value: string): string {
  if (!DECIMAL.test(value)) {
    throw new Error(`zfs get: ${name} has ${property} ${JSON.stringify(value)}, not a number`);
  }
  return value;
}

function toRecord(name: string, props: Map<string, PropertyRow>): DatasetRecord {
  const type = required(name, props, 'type');
  if (!TYPES.has(type))
    throw new Error(`zfs get: ${name} has unknown type ${JSON.stringify(type)}`);
  const creation = decimal(name, 'creation', required(name, props, 'creation'));
  const placeholder = props.get(PLACEHOLDER_PROPERTY);
  const token = props.get(RESUME_TOKEN_PROPERTY)?.value;
  const userrefs = props.get('userrefs')?.value;
  return {
    name,
    type: type as DatasetType,
    guid: decimal(name, 'guid', required(name, props, 'guid')),
    createTxg: decimal(name, 'createtxg', required(name, props, 'createtxg')),
    creation: new Date(Number(creation) * 1000),
    placeholder:
      placeholder?.value === 'on' &&
      (placeholder.source === undefined || placeholder.source === 'local'),
    ...(token !== undefined && token !== '-' && token !== '' ? { resumeToken: token } : {}),
    ...(userrefs !== undefined && DECIMAL.test(userrefs) && { userrefs: Number(userrefs) }),
  };
}

/**
 * Groups rows by dataset, in zfs's order. Hidden datasets (a partial receive's `%recv`) are
 * skipped: they are zfs's business, not versions.
 */
export function datasetRecords(rows: readonly PropertyRow[]): DatasetRecord[] {
  const byName = new Map<string, Map<string, PropertyRow>>();
  for (const row of rows) {
    if (row.name.includes('%')) continue;
    let props = byName.get(row.name);
    if (props === undefined) byName.set(row.name, (props = new Map()));
    props.set(row.property, row);
  }
  return [...byName].map(([name, props]) => toRecord(name, props));
}

/** Parses the output of `listArgs`. */
export function parseListing(stdout: string): DatasetRecord[] {
  return datasetRecords(parsePropertyRows(stdout));
}

/**
 * Filesystems and volumes of `root` and below, root-relative, parents before children: the
 * root itself first, as `""` (the planner replicates it only when selected).
 */
export function filesystemsAt(
  root: string,
  records: readonly DatasetRecord[],
  options: { includePlaceholders: boolean },
): EndpointFilesystem[] {
  const result: EndpointFilesystem[] = [];
  for (const record of records) {
    if (record.type !== 'filesystem' && record.type !== 'volume') continue;
    const path = relativeTo(root, record.name);
    if (path === undefined) continue;
    if (record.placeholder && !options.includePlaceholders) continue;
    result.push({
      path,
      isPlaceholder: record.placeholder,
      ...(record.resumeToken !== undefined && {
        resumeToken: record.resumeToken,
        ...resumeInfo(record.name, record.resumeToken),
      }),
    });
  }
  return result.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** The receiver's reading of its own token; nothing when it cannot read it (the planner says so). */
function resumeInfo(dataset: string, token: string): Pick<EndpointFilesystem, 'resume'> {
  try {
    const { fromGuid, toGuid, toName } = decodeZfsResumeToken(token);
    const clearCommand = `zfs recv -A ${dataset}`;
    return {
      resume: { ...(fromGuid !== undefined && { fromGuid }), toGuid, toName, clearCommand },
    };
  } catch {
    return {};
  }
}

/** Orders by createTxg (as uint64), bookmarks before snapshots at the same txg. */
export function compareVersions(a: FilesystemVersion, b: FilesystemVersion): number {
  const ta = BigInt(a.createTxg);
  const tb = BigInt(b.createTxg);
  if (ta !== tb) return ta < tb ? -1 : 1;
  if (a.type !== b.type) return a.type === 'bookmark' ? -1 : 1;
  return 0;
}

/** Snapshots and bookmarks of the dataset `fullName`, oldest first. */
export function versionsOf(
  fullName: string,
  records: readonly DatasetRecord[],
): FilesystemVersion[] {
  const versions: FilesystemVersion[] = [];
  for (const record of records) {
    if (record.type !== 'snapshot' && record.type !== 'bookmark') continue;
    const separator = record.type === 'snapshot' ? '@' : '#';
    if (!record.name.startsWith(fullName + separator)) continue;
    versions.push({
      type: record.type,
      name: record.name.slice(fullName.length + 1),
      guid: record.guid,
      createTxg: record.createTxg,
      creation: record.creation,
    });
  }
  return versions.sort(compareVersions);
}
