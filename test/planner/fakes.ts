/** Scriptable endpoints for planner tests: every method a jest.fn, every call's signal kept. */
import type { Readable } from 'node:stream';
import type {
  EndpointFilesystem,
  FilesystemVersion,
  ReceiveReq,
  Receiver,
  SendReq,
  Sender,
} from '../../src/endpoints/types.js';

export interface FakeSender extends Sender {
  listFilesystems: jest.Mock<Promise<EndpointFilesystem[]>, [AbortSignal]>;
  listFilesystemVersions: jest.Mock<Promise<FilesystemVersion[]>, [string, AbortSignal]>;
  waitForConnectivity: jest.Mock<Promise<void>, [AbortSignal]>;
  sendDry: jest.Mock<Promise<{ expectedSize: number }>, [SendReq, AbortSignal]>;
  send: jest.Mock<Promise<{ usedResumeToken: boolean; stream: Readable }>, [SendReq, AbortSignal]>;
  sendCompleted: jest.Mock<Promise<void>, [SendReq, AbortSignal]>;
}

export interface FakeReceiver extends Receiver {
  listFilesystems: jest.Mock<Promise<EndpointFilesystem[]>, [AbortSignal]>;
  listFilesystemVersions: jest.Mock<Promise<FilesystemVersion[]>, [string, AbortSignal]>;
  waitForConnectivity: jest.Mock<Promise<void>, [AbortSignal]>;
  receive: jest.Mock<Promise<void>, [ReceiveReq, Readable, AbortSignal]>;
}

/** A sender with `filesystems` and `versions` per path; sendDry says 1000, send is unset. */
export function fakeSender(
  filesystems: EndpointFilesystem[] = [],
  versions: Record<string, FilesystemVersion[]> = {},
): FakeSender {
  return {
    listFilesystems: jest.fn(async (_signal: AbortSignal) => filesystems),
    listFilesystemVersions: jest.fn(async (fs: string, _signal: AbortSignal) => versions[fs] ?? []),
    waitForConnectivity: jest.fn(async (_signal: AbortSignal) => {}),
    sendDry: jest.fn(async (_req: SendReq, _signal: AbortSignal) => ({ expectedSize: 1000 })),
    send: jest.fn(
      async (
        _req: SendReq,
        _signal: AbortSignal,
      ): Promise<{ usedResumeToken: boolean; stream: Readable }> => {
        throw new Error('send not scripted');
      },
    ),
    sendCompleted: jest.fn(async (_req: SendReq, _signal: AbortSignal) => {}),
  };
}

/** A receiver with `filesystems` and `versions`; receive drains the stream. */
export function fakeReceiver(
  filesystems: EndpointFilesystem[] = [],
  versions: Record<string, FilesystemVersion[]> = {},
): FakeReceiver {
  return {
    listFilesystems: jest.fn(async (_signal: AbortSignal) => filesystems),
    listFilesystemVersions: jest.fn(async (fs: string, _signal: AbortSignal) => versions[fs] ?? []),
    waitForConnectivity: jest.fn(async (_signal: AbortSignal) => {}),
    receive: jest.fn(async (_req: ReceiveReq, stream: Readable, _signal: AbortSignal) => {
      for await (const _chunk of stream);
    }),
  };
}

export const fs = (path: string, extra: Partial<EndpointFilesystem> = {}): EndpointFilesystem => ({
  path,
  isPlaceholder: false,
  ...extra,
});
