/**
 * How a filesystem's name reads on a screen. A planner names the endpoint's root dataset `""`
 * (selected with `--filesystems`); displays show it as `(root)`, which no dataset can be
 * called (zfs allows no parentheses in names).
 *
 * @example filesystemLabel('') // '(root)'; filesystemLabel('home') // 'home'
 */
export function filesystemLabel(name: string): string {
  return name === '' ? '(root)' : name;
}
