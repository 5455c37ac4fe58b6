/**
 * `proto/xrepl.proto` is the source of truth; `proto/descriptor.ts` is generated from it.
 * This test fails while they disagree. To regenerate after changing the .proto:
 *   XREPL_UPDATE_PROTO=1 npx jest test/transport/proto.test.ts
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import protobuf from 'protobufjs';
import { XREPL_PROTO } from '../../src/transport/proto/descriptor.js';
import { METHODS, service } from '../../src/transport/protocol.js';

const dir = join(__dirname, '..', '..', 'src', 'transport', 'proto');

function descriptorOfProto(): unknown {
  return new protobuf.Root().loadSync(join(dir, 'xrepl.proto'), { keepCase: false }).toJSON();
}

function descriptorModule(descriptor: unknown): string {
  return [
    '// Generated from xrepl.proto: do not edit by hand. To regenerate after changing the .proto:',
    '//   XREPL_UPDATE_PROTO=1 npx jest test/transport/proto.test.ts',
    '',
    "/** The protobufjs JSON descriptor of `xrepl.proto`, for `@grpc/proto-loader`'s `fromJSON`. */",
    `export const XREPL_PROTO = ${JSON.stringify(descriptor, null, 2)};`,
    '',
  ].join('\n');
}

describe('the protocol', () => {
  test('descriptor.ts is generated from xrepl.proto', () => {
    const fromProto = descriptorOfProto();
    if (process.env.XREPL_UPDATE_PROTO === '1') {
      const file = join(dir, 'descriptor.ts');
      writeFileSync(file, descriptorModule(fromProto));
      execFileSync('npx', ['prettier', '--write', file]);
      return;
    }
    expect(JSON.parse(JSON.stringify(XREPL_PROTO))).toEqual(fromProto);
  });

  test('unary calls for listing and control, server streaming for send, client streaming for receive', () => {
    const shape = Object.fromEntries(
      Object.entries(METHODS).map(([name, m]) => [
        name,
        `${m.requestStream ? 'stream ' : ''}-> ${m.responseStream ? 'stream' : 'unary'}`,
      ]),
    );
    expect(shape).toEqual({
      listFilesystems: '-> unary',
      listFilesystemVersions: '-> unary',
      ping: '-> unary',
      sendDry: '-> unary',
      send: '-> stream',
      sendCompleted: '-> unary',
      receive: 'stream -> unary',
      destroySnapshots: '-> unary',
    });
    expect(Object.keys(service('Receiver'))).toEqual(['Receive', 'DestroySnapshots']);
  });
});
