/** Invalid configuration (D1): names every offending field, not only the first. */
export class ConfigError extends Error {
  readonly issues: { path: string; message: string }[];

  constructor(issues: { path: string; message: string }[], what = 'configuration') {
    const lines = issues.map((i) => `  ${i.path === '' ? '(root)' : i.path}: ${i.message}`);
    super(`invalid ${what}:\n${lines.join('\n')}`);
    this.name = 'ConfigError';
    this.issues = issues;
  }
}
