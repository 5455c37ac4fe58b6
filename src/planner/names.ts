/**
 * The names a planner gives the driver. D3 wants every name a valid dataset path, and the
 * sender's root has the path `""`: so when the selection includes the root, every name is
 * prefixed with the root's label (`rootName`): the root is `data`, a child `home` is
 * `data/home`, and ancestry by name (D4, D6) makes the children wait for the root. Without
 * the root selected, a name is the root-relative path (`home`). Endpoints still get paths:
 * the planner's filesystems carry them; a name is mapped back only for display (status,
 * metrics), through `pathOf`.
 */
import { datasetNameProblem } from '../driver/names.js';

/** The planner options that decide the names (see PlannerOptions). */
export interface NamingOptions {
  filesystems?: ((path: string) => boolean) | undefined;
  rootName?: string | undefined;
}

/** How a planner names its filesystems, both ways. */
export interface FilesystemNaming {
  /** The label every name starts with, or undefined when the root is not selected. */
  readonly root: string | undefined;
  /** The report name of the root-relative `path`. */
  nameOf(path: string): string;
  /** The root-relative path of a report name (the inverse of `nameOf`). */
  pathOf(name: string): string;
}

/**
 * The naming of a planner with `options`; throws a clear error for an invalid `rootName`, or
 * when the selection includes the root (`filesystems('')`) and no `rootName` is given.
 *
 * @example
 * filesystemNaming({ filesystems: () => true, rootName: 'tank' }).nameOf('home') // 'tank/home'
 * filesystemNaming({}).nameOf('home') // 'home'
 */
export function filesystemNaming(options: NamingOptions): FilesystemNaming {
  const { rootName } = options;
  if (rootName !== undefined) {
    const problem = datasetNameProblem(rootName);
    if (problem !== undefined) {
      throw new Error(`invalid rootName ${JSON.stringify(rootName)}: ${problem}`);
    }
  }
  const rootSelected = options.filesystems?.('') === true;
  if (!rootSelected) {
    return { root: undefined, nameOf: (path) => path, pathOf: (name) => name };
  }
  if (rootName === undefined) {
    throw new Error(
      'the selection includes the sender\'s root (the path ""): set rootName, the name it is ' +
        'reported under (its dataset name, or the last component of it)',
    );
  }
  return {
    root: rootName,
    nameOf: (path) => (path === '' ? rootName : `${rootName}/${path}`),
    pathOf: (name) => {
      if (name === rootName) return '';
      if (name.startsWith(`${rootName}/`)) return name.slice(rootName.length + 1);
      throw new Error(`filesystem name ${JSON.stringify(name)} is not below ${rootName}`);
    },
  };
}
