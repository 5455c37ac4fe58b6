/** Dataset path rules for filesystem names (D3). */

/** Why `name` is not a valid dataset path, or undefined when it is. */
export function datasetNameProblem(name: unknown): string | undefined {
  if (typeof name !== 'string') return 'not a string';
  if (name === '') return 'empty name';
  if (name.startsWith('/')) return 'leading "/"';
  if (name.endsWith('/')) return 'trailing "/"';
  if (name.includes('@')) return 'contains "@"';
  if (name.includes('#')) return 'contains "#"';
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(name)) return 'contains a control character';
  for (const component of name.split('/')) {
    if (component === '') return 'empty component';
    if (component.trim() === '') return 'whitespace-only component';
  }
  return undefined;
}
