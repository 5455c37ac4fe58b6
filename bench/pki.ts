/**
 * Throwaway certificates for the data-path benchmark's mutual TLS, made with openssl in a
 * temporary directory: a CA, a server certificate for 127.0.0.1, a client certificate with
 * common name `bench` (the client identity).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface BenchPki {
  dir: string;
  /** `xrepl serve` options. */
  serveArgs: string[];
  /** The `grpc://` URL's query for the client. */
  query: string;
  files: { ca: string; cert: string; key: string };
  remove(): void;
}

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

const newKey = (name: string, cn: string): string[] => [
  ...['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'],
  ...['-keyout', `${name}.key`, '-subj', `/CN=${cn}`],
];

function signed(dir: string, name: string, cn: string, ext: string): void {
  writeFileSync(join(dir, `${name}.ext`), ext);
  openssl(dir, ['req', ...newKey(name, cn), '-out', `${name}.csr`]);
  openssl(dir, [
    ...['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key'],
    ...['-CAcreateserial', '-out', `${name}.crt`, '-days', '2', '-extfile', `${name}.ext`],
  ]);
}

export function createBenchPki(): BenchPki {
  const dir = mkdtempSync(join(tmpdir(), 'xrepl-bench-pki-'));
  openssl(dir, ['req', '-x509', ...newKey('ca', 'bench CA'), '-out', 'ca.crt', '-days', '2']);
  signed(dir, 'server', '127.0.0.1', 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  signed(dir, 'client', 'bench', 'extendedKeyUsage=clientAuth\n');
  const f = (name: string): string => join(dir, name);
  return {
    dir,
    serveArgs: [
      '--tls-cert',
      f('server.crt'),
      '--tls-key',
      f('server.key'),
      '--tls-ca',
      f('ca.crt'),
    ],
    query: `tls-ca=${f('ca.crt')}&tls-cert=${f('client.crt')}&tls-key=${f('client.key')}`,
    files: { ca: f('ca.crt'), cert: f('client.crt'), key: f('client.key') },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
