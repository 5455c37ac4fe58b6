/**
 * Test certificates, made with openssl at test time (no private key is ever committed): a CA,
 * a server certificate for 127.0.0.1/localhost, client certificates by common name, and a
 * second, untrusted CA for impostors.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Pem {
  cert: Buffer;
  key: Buffer;
  certFile: string;
  keyFile: string;
}

export interface TestPki {
  dir: string;
  ca: Pem;
  server: Pem;
  /** A client certificate with common name `cn`, signed by `ca` (or by the untrusted CA). */
  client(cn: string, options?: { untrusted?: boolean }): Pem;
  remove(): void;
}

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

function pem(dir: string, name: string): Pem {
  return {
    certFile: join(dir, `${name}.crt`),
    keyFile: join(dir, `${name}.key`),
    cert: readFileSync(join(dir, `${name}.crt`)),
    key: readFileSync(join(dir, `${name}.key`)),
  };
}

/** `openssl req` arguments for a new P-256 key in NAME.key and the subject CN=cn. */
function newKey(name: string, cn: string): string[] {
  return [
    ...['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'],
    ...['-keyout', `${name}.key`, '-subj', `/CN=${cn}`],
  ];
}

function selfSigned(dir: string, name: string, cn: string): Pem {
  openssl(dir, ['req', '-x509', ...newKey(name, cn), '-out', `${name}.crt`, '-days', '2']);
  return pem(dir, name);
}

function signed(dir: string, name: string, cn: string, ca: string, ext: string): Pem {
  writeFileSync(join(dir, `${name}.ext`), ext);
  openssl(dir, ['req', ...newKey(name, cn), '-out', `${name}.csr`]);
  openssl(dir, [
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    `${ca}.crt`,
    '-CAkey',
    `${ca}.key`,
    '-CAcreateserial',
    '-out',
    `${name}.crt`,
    '-days',
    '2',
    '-extfile',
    `${name}.ext`,
  ]);
  return pem(dir, name);
}

/** Generates a fresh PKI in a temporary directory; `remove()` deletes it. */
export function createTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'xrepl-pki-'));
  const ca = selfSigned(dir, 'ca', 'xrepl test CA');
  selfSigned(dir, 'rogue-ca', 'untrusted CA');
  const server = signed(
    dir,
    'server',
    'localhost',
    'ca',
    'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n',
  );
  const clients = new Map<string, Pem>();
  return {
    dir,
    ca,
    server,
    client(cn, options = {}) {
      const name = `${options.untrusted ? 'rogue-' : ''}client-${cn}`;
      let found = clients.get(name);
      if (found === undefined) {
        found = signed(
          dir,
          name,
          cn,
          options.untrusted ? 'rogue-ca' : 'ca',
          'extendedKeyUsage=clientAuth\n',
        );
        clients.set(name, found);
      }
      return found;
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
