/**
 * `xrepl serve` and `--from`/`--to grpc://HOST:PORT`, in-process: two "machines" in one test,
 * plaintext on loopback and with mutual TLS.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { MemoryPool } from '../../src/endpoints/memory/index.js';
import { classifyError } from '../../src/index.js';
import { grpcReceiver } from '../../src/transport/index.js';
import { deferred } from '../helpers/deferred.js';
import { run, serveInProcess, tempDir } from '../cli/helpers.js';
import { createTestPki, type TestPki } from './certs.js';
import { at, mismatches, sourceTree } from './helpers.js';

let pki: TestPki;
beforeAll(() => (pki = createTestPki()));
afterAll(() => pki.remove());
const temp = tempDir();
afterAll(() => temp.cleanup());

describe('xrepl serve', () => {
  test('--max-receives-per-client bounds one client: the excess is refused, retryably', async () => {
    const server = await serveInProcess([
      ...['--listen', '127.0.0.1:0', '--role', 'receiver', '--memory', temp.file('limited.json')],
      ...['--max-receives-per-client', '1'],
    ]);
    const client = grpcReceiver(server.url);
    const req = {
      filesystem: 'data',
      to: { type: 'snapshot' as const, name: 's1', guid: '1', createTxg: '1', creation: at(1) },
      clearResumeToken: false,
    };
    // Headers without data: the one admitted holds its place until the first-byte deadline.
    const refused = deferred<unknown>();
    const cancel = new AbortController();
    const calls = [0, 1].map(() =>
      client.receive(req, new PassThrough(), cancel.signal).catch(refused.resolve),
    );
    try {
      const err = await refused.promise;
      expect((err as Error).message).toMatch(
        /the server is busy: this client already runs 1 receive/,
      );
      expect(classifyError(err)).toBe('temporary-connectivity');
    } finally {
      cancel.abort(new Error('test over'));
      await Promise.all(calls);
      client.close();
    }
    expect(await server.stop()).toBe(130);
  });

  test('a receiver on loopback, replicated to with --to grpc://', async () => {
    const src = sourceTree({ snapshots: 2 });
    const from = temp.file('src.json', src.toFixture());
    const stored = temp.file('dst.json');
    const server = await serveInProcess([
      '--listen',
      '127.0.0.1:0',
      '--role',
      'receiver',
      '--memory',
      stored,
    ]);

    const { code, io } = await run([
      'replicate',
      '--from',
      `memory:${from}?root=tank`,
      '--to',
      server.url,
      '--initial',
      'all',
    ]);
    expect(io.err).toBe('');
    expect(code).toBe(0);
    expect(await server.stop()).toBe(130);
    const dst = MemoryPool.fromFixture(readFileSync(stored, 'utf8'));
    expect(mismatches(src, 'tank', dst, 'backup')).toEqual([]);
  });

  test('a sender with mutual TLS; the receiver side stores under its identity', async () => {
    const src = sourceTree({ snapshots: 2 });
    const from = temp.file('tls-src.json', src.toFixture());
    const stored = temp.file('tls-dst.json');
    const tlsArgs = ['--tls-cert', pki.server.certFile, '--tls-key', pki.server.keyFile];
    const sender = await serveInProcess([
      '--listen',
      '127.0.0.1:0',
      '--role',
      'sender',
      '--memory',
      `${from}?root=tank`,
      ...tlsArgs,
      '--tls-ca',
      pki.ca.certFile,
    ]);
    const receiver = await serveInProcess([
      '--listen',
      '127.0.0.1:0',
      '--role',
      'receiver',
      '--memory',
      stored,
      ...tlsArgs,
      '--tls-ca',
      pki.ca.certFile,
    ]);
    const alice = pki.client('alice');
    const query = `?tls-ca=${pki.ca.certFile}&tls-cert=${alice.certFile}&tls-key=${alice.keyFile}`;

    const { code, io } = await run([
      'replicate',
      '--from',
      `${sender.url}${query}`,
      '--to',
      `${receiver.url}${query}`,
      '--initial',
      'all',
      '--log-level',
      'debug',
    ]);
    expect(code).toBe(0);
    expect(await sender.stop()).toBe(130);
    expect(await receiver.stop()).toBe(130);
    const dst = MemoryPool.fromFixture(readFileSync(stored, 'utf8'));
    expect(mismatches(src, 'tank', dst, 'backup/alice')).toEqual([]);
    for (const output of [io.out, io.err, sender.io.err, receiver.io.err]) {
      expect(output).not.toMatch(/PRIVATE KEY|BEGIN CERTIFICATE/);
    }
  });
});

/** A receiver fixture that a serve refused at the start must not create. */
const NOT_WRITTEN = join(tmpdir(), `xrepl-refused-serve-${process.pid}.json`);

describe('bad arguments exit 2 with one line', () => {
  test.each([
    [['--listen', '127.0.0.1:0', '--role', 'receiver'], /exactly one of --zfs ROOT and --memory/],
    [
      ['--listen', '0.0.0.0:0', '--role', 'receiver', '--memory', NOT_WRITTEN],
      /refusing to listen on 0\.0\.0\.0:0 without TLS/,
    ],
    [
      ['--listen', 'nowhere', '--role', 'receiver', '--memory', NOT_WRITTEN],
      /invalid listen address/,
    ],
    [
      [
        '--listen',
        '127.0.0.1:0',
        '--role',
        'receiver',
        '--memory',
        NOT_WRITTEN,
        '--tls-cert',
        'c.pem',
      ],
      /--tls-cert and --tls-key go together/,
    ],
    [
      [
        '--listen',
        '127.0.0.1:0',
        '--role',
        'receiver',
        '--memory',
        NOT_WRITTEN,
        '--max-receives',
        '0',
      ],
      /--max-receives takes an integer >= 1 \(got "0"\)/,
    ],
    [
      [
        ...['--listen', '127.0.0.1:0', '--role', 'receiver', '--memory', NOT_WRITTEN],
        ...['--first-byte-timeout', 'soon'],
      ],
      /--first-byte-timeout takes a positive duration/,
    ],
  ])('serve %j', async (args, message) => {
    const { code, io } = await run(['serve', ...args]);
    expect(code).toBe(2);
    expect(io.err).toMatch(message);
    expect(io.err.trim().split('\n')).toHaveLength(1);
    expect(existsSync(NOT_WRITTEN)).toBe(false);
  });

  test.each([
    ['port 0', 'grpc://127.0.0.1:0', /port 0 means "any free port" when listening/],
    [
      'a 100 KB host name',
      `grpc://${'a'.repeat(100_000)}:7000`,
      /invalid gRPC endpoint address "a{60}"… \(100005 characters\): a host name has at most 253/,
    ],
    ['a host name with a space', 'grpc://back%20up:7000', /not a host name/],
    [
      'a 100 KB tls-server-name',
      `grpc://127.0.0.1:7000?tls-server-name=${'b'.repeat(100_000)}`,
      /tls-server-name "b{60}"… \(100000 characters\): a host name has at most 253/,
    ],
  ])('--to with %s: exit 2 before connecting', async (_what, url, message) => {
    const { code, io } = await run(['replicate', '--from', 'memory:', '--to', url]);
    expect(code).toBe(2);
    expect(io.err).toMatch(message);
    expect(io.err.trim().split('\n')).toHaveLength(1);
    expect(io.err.length).toBeLessThan(400);
  });

  test('TLS files that are not PEM, or a key of another certificate: exit 2 before connecting', async () => {
    const notPem = temp.file('not-pem.txt');
    writeFileSync(notPem, 'just some text\n');
    const bob = pki.client('bob');
    const alice = pki.client('alice');
    const cases: [string, RegExp][] = [
      [`tls-ca=${notPem}`, /the TLS CA certificate ".*not-pem\.txt" is not a PEM certificate/],
      [
        `tls-ca=${pki.ca.certFile}&tls-cert=${notPem}&tls-key=${bob.keyFile}`,
        /the TLS client certificate ".*not-pem\.txt" is not a PEM certificate/,
      ],
      [
        `tls-ca=${pki.ca.certFile}&tls-cert=${bob.certFile}&tls-key=${notPem}`,
        /the TLS client key ".*not-pem\.txt" is not a PEM private key/,
      ],
      [
        `tls-ca=${pki.ca.certFile}&tls-cert=${bob.certFile}&tls-key=${alice.keyFile}`,
        /the TLS client key ".*client-alice\.key" does not belong to the certificate/,
      ],
    ];
    for (const [query, message] of cases) {
      const { code, io } = await run([
        'replicate',
        '--from',
        'memory:',
        '--to',
        `grpc://127.0.0.1:7000?${query}`,
      ]);
      expect(code).toBe(2);
      expect(io.err).toMatch(message);
      expect(io.err.trim().split('\n')).toHaveLength(1);
      // Neither the file's contents nor key material are shown.
      expect(io.err).not.toMatch(/just some text|PRIVATE KEY/);
    }
  });

  test('serve with a --tls-ca that is not PEM: exit 2, nothing served', async () => {
    const notPem = temp.file('serve-not-pem.txt');
    writeFileSync(notPem, 'not a certificate\n');
    const { code, io } = await run([
      'serve',
      ...['--listen', '127.0.0.1:0', '--role', 'receiver', '--memory', NOT_WRITTEN],
      ...['--tls-cert', pki.server.certFile, '--tls-key', pki.server.keyFile],
      ...['--tls-ca', notPem],
    ]);
    expect(code).toBe(2);
    expect(io.err).toMatch(
      /the TLS CA certificate ".*serve-not-pem\.txt" is not a PEM certificate/,
    );
    expect(io.out).toBe('');
    expect(existsSync(NOT_WRITTEN)).toBe(false);
  });

  test('--to grpc:// without a port', async () => {
    const { code, io } = await run(['replicate', '--from', 'memory:', '--to', 'grpc://backup']);
    expect(code).toBe(2);
    expect(io.err).toMatch(/invalid gRPC endpoint address "backup": use HOST:PORT/);
  });
});
