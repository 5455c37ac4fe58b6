import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run, tempDir } from '../cli/helpers.js';

describe('xrepl check', () => {
  const tmp = tempDir();
  afterAll(() => tmp.cleanup());

  test('a config with a typo: exit 2, every problem named by its path', async () => {
    const file = join(tmp.dir, 'typo.yml');
    writeFileSync(
      file,
      'jobs:\n  - name: a\n    type: snap\n    filesystem: { "tank<": true }\n    snapshotting: { type: manual, prefix: x_ }\n    pruning: { keep: [] }\n',
    );
    const { code, io } = await run(['check', '--config', file]);
    expect(code).toBe(2);
    expect(io.err).toContain('jobs[0]: Unrecognized key: "filesystem"');
    expect(io.err).toContain('jobs[0].filesystems:');
  });

  test('a job across two pools is refused; a sink job is listed with what it serves', async () => {
    const file = join(tmp.dir, 'pools.yml');
    writeFileSync(
      file,
      `jobs:
  - name: both
    type: snap
    filesystems: { "tank/a": true, "other/b": true }
    snapshotting: { type: manual, prefix: x_ }
    pruning: { keep: [] }
  - name: in
    type: sink
    listen: 127.0.0.1:7000
    root_fs: backup
`,
    );
    const { code, io } = await run(['check', '--config', file]);
    expect(code).toBe(2);
    expect(io.err).toContain('job both: filesystems select datasets of 2 pools (other, tank)');
    expect(io.out).toContain(
      'job in (sink)\n  serves a receiver at 127.0.0.1:7000, below backup\n',
    );
  });

  test('a missing file is a config error', async () => {
    const { code, io } = await run(['check', '--config', join(tmp.dir, 'none.yml')]);
    expect(code).toBe(2);
    expect(io.err).toMatch(/cannot read/);
  });
});
