/**
 * Dataset path validation shared by every endpoint. A receiver never writes outside its root:
 * hostile paths are refused here, before any command runs (REPLICATION.md "Endpoints").
 */

/** Why `path` is not a valid relative dataset path, or undefined when it is valid. */
export function relativePathProblem(path: string): string | undefined {
  if (typeof path !== 'string') return 'not a string';
  if (path === '') return 'empty path';
  if (path.startsWith('/')) return 'leading "/"';
  if (path.endsWith('/')) return 'trailing "/"';
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(path)) return 'control character';
  if (path.includes('@')) return '"@" is reserved for snapshots';
  if (path.includes('#')) return '"#" is reserved for bookmarks';
  for (const component of path.split('/')) {
    if (component === '') return 'empty component';
    if (component === '.' || component === '..') return `"${component}" component`;
    if (component.trim() === '') return 'whitespace-only component';
  }
  return undefined;
}

/** Throws a clear error unless `path` is a valid relative dataset path. */
export function assertRelativePath(path: string, what = 'filesystem path'): void {
  const problem = relativePathProblem(path);
  if (problem !== undefined) {
    throw new Error(`refusing ${what} ${JSON.stringify(path)}: ${problem}`);
  }
}

/**
 * Why `path` is not a valid filesystem path of an endpoint, or undefined: a relative dataset
 * path, or `""`, the endpoint's root dataset itself (never anything above it).
 */
export function filesystemPathProblem(path: string): string | undefined {
  return path === '' ? undefined : relativePathProblem(path);
}

/** Throws a clear error unless `path` is `""` (the root) or a valid relative dataset path. */
export function assertFilesystemPath(path: string, what = 'filesystem path'): void {
  const problem = filesystemPathProblem(path);
  if (problem !== undefined) {
    throw new Error(`refusing ${what} ${JSON.stringify(path)}: ${problem}`);
  }
}

/** `root` joined with the validated relative `path` ("" means the root itself). */
export function joinRoot(root: string, path: string): string {
  if (path === '') return root;
  assertRelativePath(path);
  return `${root}/${path}`;
}

/**
 * The full dataset name of the root-relative `path` below `root`, unchecked (for selections,
 * status and messages): `""` is `root` itself.
 *
 * @example datasetOf('tank', '') // 'tank'; datasetOf('tank', 'home') // 'tank/home'
 */
export function datasetOf(root: string, path: string): string {
  return path === '' ? root : `${root}/${path}`;
}

/** The part of `full` below `root`, or undefined when `full` is not `root` or below it. */
export function relativeTo(root: string, full: string): string | undefined {
  if (full === root) return '';
  return full.startsWith(`${root}/`) ? full.slice(root.length + 1) : undefined;
}
