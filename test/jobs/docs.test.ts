import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig } from '../../src/jobs/config.js';

const root = join(__dirname, '..', '..');
const read = (path: string) => readFileSync(join(root, path), 'utf8');
const section = (md: string, heading: string): string => {
  const start = md.indexOf(heading);
  return md.slice(start, md.indexOf('\n## ', start + heading.length));
};

describe('README: jobs', () => {
  const jobs = section(read('README.md'), '## Jobs: a backup that runs itself');

  test('the example config is valid', () => {
    const yaml = /```yaml\n([\s\S]*?)```/.exec(jobs)?.[1] ?? '';
    expect(parseConfig(yaml).jobs.map((j) => j.name)).toEqual(['home-to-backup', 'local']);
  });

  test('the systemd unit shown is docs/xrepl.service', () => {
    const unit = /```ini\n([\s\S]*?)```/.exec(jobs)?.[1] ?? '';
    expect(unit).toBe(read('docs/xrepl.service'));
  });
});
