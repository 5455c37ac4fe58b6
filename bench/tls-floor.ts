/**
 * The floor of any data path over Node's TLS on this machine: a child process sends `bytes`
 * bytes over mutual TLS on loopback in 1 MiB writes, this process counts them. No framing, no
 * endpoints, nothing checked: what the data connection cannot beat (bench/datapath.ts shows
 * it beside the data connection).
 *
 *   node dist/bench/tls-floor.js <server.crt> <server.key> <ca.crt> <bytes>   (the sender)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import type { BenchPki } from './pki.js';

const WRITE_BYTES = 1024 * 1024;

function sender(certFile: string, keyFile: string, caFile: string, bytes: number): void {
  const payload = Buffer.alloc(WRITE_BYTES, 0x5a);
  const server = tls.createServer(
    {
      cert: readFileSync(certFile),
      key: readFileSync(keyFile),
      ca: readFileSync(caFile),
      requestCert: true,
      rejectUnauthorized: true,
    },
    (socket) => {
      let sent = 0;
      const pump = (): void => {
        while (sent < bytes) {
          const n = Math.min(WRITE_BYTES, bytes - sent);
          sent += n;
          if (!socket.write(n === WRITE_BYTES ? payload : payload.subarray(0, n))) {
            socket.once('drain', pump);
            return;
          }
        }
        socket.end();
      };
      socket.on('error', () => undefined);
      pump();
    },
  );
  server.listen(0, '127.0.0.1', () => {
    const address = server.address();
    if (typeof address === 'object' && address !== null) console.log(`port ${address.port}`);
  });
}

/** Starts the sender child; resolves with its port. */
export function startTlsFloor(
  pki: BenchPki,
  bytes: number,
): Promise<{ port: number; child: ChildProcess }> {
  const files = pki.dir;
  const child = spawn(
    process.execPath,
    [
      fileURLToPath(import.meta.url),
      `${files}/server.crt`,
      `${files}/server.key`,
      `${files}/ca.crt`,
      String(bytes),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const port = /port (\d+)/.exec(out)?.[1];
      if (port !== undefined) resolve({ port: Number(port), child });
    });
    child.once('exit', (code) => reject(new Error(`the TLS floor sender exited with ${code}`)));
  });
}

/** Receives one stream from the sender at `port` with the bench's client certificate. */
export function receiveTlsFloor(port: number, pki: BenchPki, bytes: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let received = 0;
    const socket = tls.connect({
      host: '127.0.0.1',
      port,
      ca: readFileSync(pki.files.ca),
      cert: readFileSync(pki.files.cert),
      key: readFileSync(pki.files.key),
    });
    socket.on('data', (chunk: Buffer) => {
      received += chunk.length;
    });
    socket.once('error', reject);
    socket.once('end', () => {
      socket.destroy();
      if (received === bytes) resolve();
      else reject(new Error(`the TLS floor moved ${received} of ${bytes} bytes`));
    });
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [cert, key, ca, bytes] = process.argv.slice(2);
  if (cert === undefined || key === undefined || ca === undefined || bytes === undefined) {
    console.error('usage: tls-floor.js <server.crt> <server.key> <ca.crt> <bytes>');
    process.exit(2);
  }
  sender(cert, key, ca, Number(bytes));
}
