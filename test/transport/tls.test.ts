/**
 * TLS and mutual TLS: the client certificate's common name is the client's identity, a
 * receiver keeps each client under `<root>/<identity>`, and no client reaches another's data.
 */
import { status } from '@grpc/grpc-js';
import { MemoryPool, memoryReceiver, memorySender } from '../../src/endpoints/memory/index.js';
import type { Receiver } from '../../src/endpoints/types.js';
import { createPlanner } from '../../src/planner/index.js';
import { replicate } from '../../src/index.js';
import { grpcReceiver, loadClientTls, type ClientInfo } from '../../src/transport/index.js';
import { config, recordingLogger } from '../helpers/driver.js';
import { createTestPki, type TestPki } from './certs.js';
import { mismatches, Resources, sourceTree } from './helpers.js';

const resources = new Resources();
afterEach(() => resources.closeAll());
let pki: TestPki;
beforeAll(() => (pki = createTestPki()));
afterAll(() => pki.remove());
const never = new AbortController().signal;

/** A receiver that keeps each client below `backup/<identity>`, as `xrepl serve` does. */
function perClient(pool: MemoryPool): (client: ClientInfo) => Receiver {
  const receivers = new Map<string, Receiver>();
  return ({ identity }) => {
    if (identity === undefined) throw new Error('mutual TLS is required here');
    let receiver = receivers.get(identity);
    if (receiver === undefined) {
      receiver = memoryReceiver(pool, `backup/${identity}`);
      receivers.set(identity, receiver);
    }
    return receiver;
  };
}

async function mutualTlsServer(pool: MemoryPool, logger = recordingLogger()) {
  return resources.serve({
    listen: '127.0.0.1:0',
    role: 'receiver',
    endpoint: perClient(pool),
    tls: { cert: pki.server.cert, key: pki.server.key, ca: pki.ca.cert },
    logger,
  });
}

function client(url: string, cn: string | undefined, options: { untrusted?: boolean } = {}) {
  const pem = cn === undefined ? undefined : pki.client(cn, options);
  return resources.client(
    grpcReceiver(url, {
      tls: { ca: pki.ca.cert, ...(pem && { cert: pem.cert, key: pem.key }) },
    }),
  );
}

async function rejection(promise: Promise<unknown>): Promise<Error & { code?: unknown }> {
  const outcome = await promise.then(
    () => undefined,
    (err: unknown) => err,
  );
  if (!(outcome instanceof Error)) throw new Error('expected a rejection');
  return outcome;
}

describe('TLS', () => {
  test('a server certificate verified by the client CA: replication works', async () => {
    const src = sourceTree({ snapshots: 2 });
    const dst = new MemoryPool({ seed: 'dst' });
    const server = await resources.serve({
      listen: '127.0.0.1:0',
      role: 'receiver',
      endpoint: memoryReceiver(dst, 'backup'),
      tls: { cert: pki.server.cert, key: pki.server.key },
    });
    const receiver = resources.client(
      grpcReceiver(server.url, { tls: await loadClientTls({ ca: pki.ca.certFile }) }),
    );
    const report = await replicate(
      config(),
      createPlanner(memorySender(src, 'tank'), receiver, { initial: 'all' }),
    ).wait();
    expect(report.state).toBe('done');
    expect(mismatches(src, 'tank', dst, 'backup')).toEqual([]);
  });

  test('a plaintext client cannot talk to a TLS server', async () => {
    const server = await resources.serve({
      listen: '127.0.0.1:0',
      role: 'receiver',
      endpoint: memoryReceiver(new MemoryPool(), 'backup'),
      tls: { cert: pki.server.cert, key: pki.server.key },
    });
    const plaintext = resources.client(grpcReceiver(server.url));
    const err = await rejection(plaintext.listFilesystems(never));
    expect(err.message).toMatch(/connection failed/);
  });

  test('without TLS the server refuses to listen beyond loopback', async () => {
    const err = await rejection(
      resources.serve({
        listen: '0.0.0.0:0',
        role: 'receiver',
        endpoint: memoryReceiver(new MemoryPool(), 'backup'),
      }),
    );
    expect(err.message).toMatch(/refusing to listen on 0\.0\.0\.0:0 without TLS/);
    const allowed = await resources.serve({
      listen: '0.0.0.0:0',
      role: 'receiver',
      endpoint: memoryReceiver(new MemoryPool(), 'backup'),
      insecureListenAnywhere: true,
    });
    expect(allowed.port).toBeGreaterThan(0);
  });
});

describe('mutual TLS', () => {
  test('each client is stored under <root>/<identity>, and sees only its own data', async () => {
    const dst = new MemoryPool({ seed: 'dst' });
    const logger = recordingLogger();
    const server = await mutualTlsServer(dst, logger);
    const alice = client(server.url, 'alice');
    const bob = client(server.url, 'bob');
    const fromAlice = sourceTree({ snapshots: 2 });
    const fromBob = new MemoryPool({ seed: 'bob' });
    fromBob.createDataset('tank/data');
    fromBob.snapshot('tank/data', 'b1');

    for (const [src, receiver] of [
      [fromAlice, alice],
      [fromBob, bob],
    ] as const) {
      const report = await replicate(
        config(),
        createPlanner(memorySender(src, 'tank'), receiver, { initial: 'all' }),
      ).wait();
      expect(report.state).toBe('done');
    }
    expect(mismatches(fromAlice, 'tank', dst, 'backup/alice')).toEqual([]);
    expect(mismatches(fromBob, 'tank', dst, 'backup/bob')).toEqual([]);

    // Bob lists his own data only; alice's `data` is not his `data`.
    expect((await bob.listFilesystems(never)).map((fs) => fs.path)).toEqual(['data']);
    const bobsVersions = await bob.listFilesystemVersions('data', never);
    expect(bobsVersions.map((v) => v.name)).toEqual(['b1']);
    // No log line carries key material.
    expect(JSON.stringify(logger.lines)).not.toMatch(/PRIVATE KEY|BEGIN/);
  });

  test("identity A can neither list nor write B's data", async () => {
    const dst = new MemoryPool({ seed: 'dst' });
    dst.createDataset('backup/bob/data');
    dst.snapshot('backup/bob/data', 's1');
    const before = dst.toFixture();
    const server = await mutualTlsServer(dst);
    const alice = client(server.url, 'alice');

    expect(await alice.listFilesystems(never)).toEqual([]);
    const listing = await rejection(alice.listFilesystemVersions('../bob/data', never));
    expect(listing.code).toBe(status.INVALID_ARGUMENT);
    // `data` for alice is backup/alice/data, which does not exist.
    await expect(alice.listFilesystemVersions('data', never)).rejects.toThrow(
      /dataset backup\/alice\/data does not exist/,
    );

    const sender = memorySender(sourceTree({ snapshots: 1 }), 'tank');
    const [to] = await sender.listFilesystemVersions('data', never);
    const { stream } = await sender.send({ filesystem: 'data', to: to! }, never);
    const write = await rejection(
      alice.receive({ filesystem: '../bob/data', to: to!, clearResumeToken: true }, stream, never),
    );
    expect(write.code).toBe(status.INVALID_ARGUMENT);
    expect(dst.toFixture()).toEqual(before);
  });

  test('a client without a certificate is refused', async () => {
    const dst = new MemoryPool({ seed: 'dst' });
    const server = await mutualTlsServer(dst);
    const anonymous = client(server.url, undefined);
    await expect(anonymous.listFilesystems(never)).rejects.toThrow(/connection failed/);
    expect(dst.paths()).toEqual([]);
  });

  test('a certificate from another CA is refused', async () => {
    const dst = new MemoryPool({ seed: 'dst' });
    const server = await mutualTlsServer(dst);
    const impostor = client(server.url, 'bob', { untrusted: true });
    await expect(impostor.listFilesystems(never)).rejects.toThrow(/connection failed/);
  });

  test('a common name that is not a usable identity is refused', async () => {
    const server = await mutualTlsServer(new MemoryPool());
    const dotdot = client(server.url, '..');
    const err = await rejection(dotdot.listFilesystems(never));
    expect(err.code).toBe(status.PERMISSION_DENIED);
    expect(err.message).toMatch(/common name is not a usable identity: "\.\." component/);
  });
});
