import { ConfigError } from '../../src/errors/config-error.js';
import { parseConfig } from '../../src/jobs/config.js';

const VALID = `
global:
  monitoring: { listen: 127.0.0.1:9811 }
  control: { socket: /run/xrepl/control.sock }
jobs:
  - name: home-to-backup
    type: push
    connect: zfs:backup/host1
    filesystems: { "tank/home<": true, "tank/home/tmp": false }
    snapshotting: { type: periodic, interval: 15m, prefix: xrepl_ }
    replication: { concurrency: 4, initial: most-recent }
    pruning:
      keep_sender:
        - { type: not_replicated }
        - { type: last_n, count: 10 }
        - { type: grid, grid: "1x1h(keep=all) | 24x1h | 14x1d", regex: "^xrepl_" }
      keep_receiver:
        - { type: grid, grid: "1x1h(keep=all) | 24x1h | 35x1d | 6x30d", regex: "^xrepl_" }
  - name: local
    type: snap
    filesystems: { "tank<": true }
    snapshotting: { type: cron, cron: "*/15 * * * *", prefix: auto_ }
    pruning: { keep: [ { type: regex, regex: "^manual", negate: false } ] }
`;

function issues(text: string): { path: string; message: string }[] {
  try {
    parseConfig(text);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).issues;
  }
  throw new Error('expected a ConfigError');
}

describe('the config file', () => {
  test('the example of JOBS.md parses, with defaults filled in', () => {
    const config = parseConfig(VALID);
    expect(config.jobs.map((j) => j.type)).toEqual(['push', 'snap']);
    const push = config.jobs[0];
    expect(push?.type === 'push' && push.replication).toEqual({
      concurrency: 4,
      initial: 'most-recent',
      max_attempts: 3,
      reconnect_timeout: '10m',
      replan_limit: 3,
      fs_retries: 2,
      stall_timeout: '10m',
      on_stale_resume_token: 'fail',
    });
  });

  test('replication takes send and recv options and a bandwidth, as replicate takes flags', () => {
    const config = parseConfig(
      VALID.replace(
        'replication: { concurrency: 4, initial: most-recent }',
        'replication: { bandwidth: 50MiB, send: { raw: true, compressed: false }, ' +
          'recv: { set: { canmount: "off" }, exclude: [mountpoint] } }',
      ),
    );
    const push = config.jobs[0];
    expect(push?.type === 'push' && push.replication).toMatchObject({
      bandwidth: '50MiB',
      send: { raw: true, compressed: false },
      recv: { set: { canmount: 'off' }, exclude: ['mountpoint'], trust_stream_properties: false },
    });
  });

  test('bad replication options are named by their path', () => {
    const found = issues(
      VALID.replace(
        'replication: { concurrency: 4, initial: most-recent }',
        'replication: { bandwidth: fast, send: { rwa: true } }',
      ),
    );
    const byPath = Object.fromEntries(found.map((i) => [i.path, i.message]));
    expect(byPath['jobs[0].replication.bandwidth']).toMatch(/invalid bandwidth "fast"/);
    expect(byPath['jobs[0].replication.send']).toMatch(/rwa/);
  });

  test('raw and send_decrypted together are refused', () => {
    const found = issues(
      VALID.replace(
        'replication: { concurrency: 4, initial: most-recent }',
        'replication: { send: { raw: true, send_decrypted: true } }',
      ),
    );
    expect(found).toEqual([
      {
        path: 'jobs[0].replication.send',
        message: 'raw and send_decrypted contradict each other: choose one',
      },
    ]);
  });

  test('an unknown key is an error naming its path (a typo must not disable pruning)', () => {
    const text = VALID.replace('keep_receiver:', 'keep_reciever:');
    const found = issues(text);
    expect(found.map((i) => i.path)).toContain('jobs[0].pruning');
    expect(found.map((i) => i.message).join('\n')).toMatch(/keep_reciever/);
  });

  test('a bad grid names jobs[i].pruning.keep_receiver[j].grid', () => {
    const found = issues(VALID.replace('35x1d', '35xday'));
    expect(found).toEqual([
      {
        path: 'jobs[0].pruning.keep_receiver[0].grid',
        message: expect.stringContaining('"35xday"'),
      },
    ]);
  });

  test('every problem is named, not only the first', () => {
    const text = VALID.replace('interval: 15m', 'interval: soon').replace('count: 10', 'count: 0');
    expect(
      issues(text)
        .map((i) => i.path)
        .sort(),
    ).toEqual(['jobs[0].pruning.keep_sender[1].count', 'jobs[0].snapshotting.interval']);
  });

  test('bad patterns, duplicate names, a bad regex and a bad cron are refused', () => {
    const text = VALID.replace('"tank/home/tmp"', '"tank//tmp"')
      .replace('name: local', 'name: home-to-backup')
      .replace('"^manual"', '"(["')
      .replace('*/15 * * * *', '*/15 * *');
    expect(
      issues(text)
        .map((i) => i.path)
        .sort(),
    ).toEqual([
      'jobs[0].filesystems["tank//tmp"]',
      'jobs[1].name',
      'jobs[1].pruning.keep[0].regex',
      'jobs[1].snapshotting.cron',
    ]);
  });

  test('not_replicated is a sender rule: refused in keep_receiver and in a snap job', () => {
    const text = VALID.replace(
      'keep_receiver:\n',
      'keep_receiver:\n        - { type: not_replicated }\n',
    ).replace('keep: [ {', 'keep: [ { type: not_replicated }, {');
    expect(issues(text).map((i) => i.path)).toEqual([
      'jobs[0].pruning.keep_receiver[0].type',
      'jobs[1].pruning.keep[0].type',
    ]);
  });

  test('YAML syntax errors and duplicate keys are ConfigErrors', () => {
    expect(issues('jobs: [')[0]?.message).toMatch(/^YAML: /);
    expect(issues('jobs: []\njobs: []')[0]?.message).toMatch(/^YAML: /);
  });
});
