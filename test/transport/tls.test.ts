/**
 * TLS and mutual TLS: the client certificate's common name is the client's identity, a
 * receiver keeps each client under `<root>/<identity>`, and no client reaches another's data.
 */
import { Metadata, status } from '@grpc/grpc-js';
import { MemoryPool, memoryReceiver, memorySender } from '../../src/endpoints/memory/index.js';
import type { Receiver } from '../../src/endpoints/types.js';
import { createPlanner } from '../../src/planner/index.js';
import { classifyError, replicate, type Planner } from '../../src/index.js';
import {
  grpcReceiver,
  loadClientTls,
  TlsCertificateError,
  type ClientInfo,
  type ClientTls,
} from '../../src/transport/index.js';
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

  test("a client that does not trust the server's CA is told so: permanent", async () => {
    const server = await resources.serve({
      listen: '127.0.0.1:0',
      role: 'receiver',
      endpoint: memoryReceiver(new MemoryPool(), 'backup'),
      tls: { cert: pki.server.cert, key: pki.server.key },
    });
    const other = pki.client('other', { untrusted: true });
    const receiver = resources.client(grpcReceiver(server.url, { tls: { ca: other.cert } }));
    const err = await rejection(receiver.listFilesystems(never));
    expect(err).toBeInstanceOf(TlsCertificateError);
    expect(err.message).toMatch(/the server's TLS certificate is not trusted: tls-ca must name/);
    expect(classifyError(err)).toBe('permanent');
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
    expect((await bob.listFilesystems(never)).map((fs) => fs.path)).toEqual(['', 'data']);
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

  test('the root "" of a client is <root>/<identity> itself, never above: selected, it lands there', async () => {
    const dst = new MemoryPool({ seed: 'dst' });
    dst.createDataset('backup/bob/data');
    dst.snapshot('backup/bob/data', 's1');
    const server = await mutualTlsServer(dst);
    const alice = client(server.url, 'alice');
    const src = sourceTree({ snapshots: 2 });
    const report = await replicate(
      config(),
      createPlanner(memorySender(src, 'tank/data'), alice, {
        filesystems: (path) => path === '',
        rootName: 'data',
      }),
    ).wait();
    expect(report.state).toBe('done');
    expect(report.attempts[0]!.filesystems.map((fs) => fs.info.name)).toEqual(['data']);
    const sent = src.get('tank/data')!.snapshots.map((s) => s.guid);
    expect(dst.get('backup/alice')!.snapshots.map((s) => s.guid)).toEqual([sent.at(-1)]);
    expect(dst.get('backup')!.snapshots).toEqual([]);
    expect(dst.get('backup/bob')!.snapshots).toEqual([]);
    expect(dst.get('backup/bob/data')!.snapshots.map((s) => s.name)).toEqual(['s1']);
    // Alice's "" is her root: its versions are hers, never backup's or bob's.
    expect((await alice.listFilesystemVersions('', never)).map((v) => v.guid)).toEqual([
      sent.at(-1),
    ]);
    for (const hostile of ['..', '../bob', '/backup', '.']) {
      const err = await rejection(alice.listFilesystemVersions(hostile, never));
      expect(err.code).toBe(status.INVALID_ARGUMENT);
    }
  });

  test('a client without a certificate is refused', async () => {
    const dst = new MemoryPool({ seed: 'dst' });
    const server = await mutualTlsServer(dst);
    const anonymous = client(server.url, undefined);
    await expect(anonymous.listFilesystems(never)).rejects.toThrow(
      /the server requires a TLS client certificate/,
    );
    expect(dst.paths()).toEqual([]);
  });

  test('a certificate from another CA is refused', async () => {
    const dst = new MemoryPool({ seed: 'dst' });
    const server = await mutualTlsServer(dst);
    const impostor = client(server.url, 'bob', { untrusted: true });
    await expect(impostor.listFilesystems(never)).rejects.toThrow(
      /the server refused the TLS client certificate/,
    );
  });

  test('a common name that is not a usable identity is refused', async () => {
    const server = await mutualTlsServer(new MemoryPool());
    const dotdot = client(server.url, '..');
    const err = await rejection(dotdot.listFilesystems(never));
    expect(err.code).toBe(status.PERMISSION_DENIED);
    expect(err.message).toMatch(/common name is not a usable identity: "\.\." component/);
  });
});

describe('certificate failures fail the run at once (no reconnect wait)', () => {
  /** Replicates into `server` with `tls`; the report and how often the driver waited to reconnect. */
  async function replicateWith(url: string, tls: ClientTls) {
    const receiver = resources.client(grpcReceiver(url, { tls }));
    const planner = createPlanner(memorySender(sourceTree({ snapshots: 1 }), 'tank'), receiver);
    let waits = 0;
    const counting: Planner = {
      plan: (signal) => planner.plan(signal),
      waitForConnectivity(signal) {
        waits++;
        return planner.waitForConnectivity(signal);
      },
    };
    const report = await replicate(
      config({ maxAttempts: 5, reconnectHardFailTimeoutMs: 600_000 }),
      counting,
    ).wait();
    return { report, waits, error: report.attempts[0]?.planError?.err };
  }

  async function tlsServer(mutual: boolean) {
    return resources.serve({
      listen: '127.0.0.1:0',
      role: 'receiver',
      endpoint: mutual ? perClient(new MemoryPool()) : memoryReceiver(new MemoryPool(), 'backup'),
      tls: { cert: pki.server.cert, key: pki.server.key, ...(mutual && { ca: pki.ca.cert }) },
    });
  }

  test("the server's certificate from a CA the client does not trust", async () => {
    const server = await tlsServer(false);
    const { report, waits, error } = await replicateWith(server.url, {
      ca: pki.client('rogue', { untrusted: true }).cert,
    });
    expect(report.state).toBe('failed');
    expect(report.attempts).toHaveLength(1);
    expect(waits).toBe(0);
    expect(error).toMatch(/the server's TLS certificate is not trusted/);
    expect(error).toMatch(/unable to verify the first certificate/);
  });

  test('a client certificate the server refuses', async () => {
    const server = await tlsServer(true);
    const impostor = pki.client('bob', { untrusted: true });
    const { report, waits, error } = await replicateWith(server.url, {
      ca: pki.ca.cert,
      cert: impostor.cert,
      key: impostor.key,
    });
    expect(report.state).toBe('failed');
    expect(report.attempts).toHaveLength(1);
    expect(waits).toBe(0);
    expect(error).toMatch(/the server refused the TLS client certificate/);
  });

  test('no client certificate for a server that requires one', async () => {
    const server = await tlsServer(true);
    const { report, waits, error } = await replicateWith(server.url, { ca: pki.ca.cert });
    expect(report.attempts).toHaveLength(1);
    expect(waits).toBe(0);
    expect(error).toMatch(
      /the server requires a TLS client certificate: give tls-cert and tls-key/,
    );
  });

  test("a name the server's certificate does not hold", async () => {
    const server = await tlsServer(false);
    const { report, waits, error } = await replicateWith(server.url, {
      ca: pki.ca.cert,
      serverName: 'backup.example',
    });
    expect(report.state).toBe('failed');
    expect(report.attempts).toHaveLength(1);
    expect(waits).toBe(0);
    expect(error).toMatch(/the server's TLS certificate does not hold the name connected to/);
    expect(error).toMatch(/Host: backup\.example\. is not in the cert's altnames/);
  });

  test('waitForConnectivity gives up at once on a certificate failure', async () => {
    const server = await tlsServer(false);
    const receiver = resources.client(
      grpcReceiver(server.url, { tls: { ca: pki.ca.cert, serverName: 'backup.example' } }),
    );
    await expect(receiver.waitForConnectivity(never)).rejects.toThrow(TlsCertificateError);
  });

  test('D9 refined: UNAVAILABLE naming a certificate failure is permanent, a lost connection is not', () => {
    const grpcError = (details: string) =>
      Object.assign(new Error(`14 UNAVAILABLE: ${details}`), {
        code: status.UNAVAILABLE,
        details,
        metadata: new Metadata(),
      });
    const last = (what: string) =>
      `No connection established. Last error: ${what}. Resolution note: `;
    for (const what of [
      'Error: unable to verify the first certificate',
      'Error: self-signed certificate in certificate chain',
      "Error [ERR_TLS_CERT_ALTNAME_INVALID]: Hostname/IP does not match certificate's altnames: Host: x.",
      '80EC:error:0A00045C:SSL routines:ssl3_read_bytes:tlsv13 alert certificate required',
      '80EC:error:0A000418:SSL routines:ssl3_read_bytes:tlsv1 alert unknown ca',
    ]) {
      expect(classifyError(grpcError(last(what)))).toBe('permanent');
      // Wrapped in a temporary-looking error, the certificate failure on the chain still wins.
      const wrapped = Object.assign(new Error('wrapped', { cause: grpcError(last(what)) }), {
        code: 'ETIMEDOUT',
      });
      expect(classifyError(wrapped)).toBe('permanent');
    }
    for (const what of ['Error: connect ECONNREFUSED 127.0.0.1:1', 'Failed to connect']) {
      expect(classifyError(grpcError(last(what)))).toBe('temporary-connectivity');
    }
  });
});
