/**
 * The attempt's fan-out bookkeeping on its own (D6, D10, D12): which filesystem hears what,
 * whether it has started yet or not, and what is kept of the ones that ended. The attempt
 * starts filesystems in chunks (SPAWN_CHUNK); these tests start them one chunk at a time so
 * every event can fall before or after its receiver exists.
 */
import { createActor, createMachine, type AnyActorRef } from 'xstate';
import type { FS } from '../../machines/contract.js';
import {
  EndedFilesystem,
  FanOut,
  type FilesystemActor,
  type FilesystemShared,
} from '../../machines/fan-out.js';
import type { FilesystemEvent } from '../../machines/filesystem.machine.js';
import { NO_HEALING } from '../../machines/healing.js';
import type { PreparedPlan } from '../../machines/types.js';

/** An actor that takes every event and does nothing: the attempt, queue and calls here. */
function inert(): AnyActorRef {
  return createActor(createMachine({})).start();
}

function fs(name: string): FS {
  return {
    reportInfo: () => ({ name }),
    equalToPreviousAttempt: () => false,
    planSteps: () => Promise.resolve([]),
  } as unknown as FS;
}

/** A plan of `names` (parents first); descendants and ancestors from the names. */
function planOf(names: string[]): PreparedPlan {
  const isBelow = (child: string, parent: string) => child.startsWith(`${parent}/`);
  return {
    filesystems: names.map((name) => ({
      fs: fs(name),
      name,
      ancestors: names.filter((other) => isBelow(name, other)).length,
    })),
    descendants: names.map((name) =>
      names.flatMap((other, index) => (isBelow(other, name) ? [index] : [])),
    ),
  };
}

function setup(names: string[]) {
  const fanOut = new FanOut(planOf(names));
  const shared: FilesystemShared = {
    attempt: inert(),
    queue: inert(),
    calls: inert(),
    now: () => new Date(0),
    healing: NO_HEALING,
  };
  const sent: string[] = [];
  const send = (to: FilesystemActor, event: FilesystemEvent) => {
    const name = to.getSnapshot().context.name;
    sent.push(`${name} ${event.type}${'name' in event ? ` ${event.name}` : ''}`);
  };
  const actor = (index: number) => fanOut.filesystems[index] as FilesystemActor;
  /** Ends a filesystem (one that waits for its planning slot ends at a CANCEL, D10). */
  const end = (index: number) => actor(index).send({ type: 'CANCEL', reason: 'end' });
  const stopAll = () => {
    fanOut.filesystems.forEach((ref, index) => {
      if (!(ref instanceof EndedFilesystem) && ref.getSnapshot().status === 'active') end(index);
    });
  };
  return { fanOut, shared, sent, send, actor, end, stopAll };
}

describe('FanOut (D6, D12)', () => {
  test('starts filesystems chunk by chunk, in plan order, never past the plan', () => {
    const { fanOut, shared, actor, stopAll } = setup(['p', 'p/a', 'p/b']);
    expect(fanOut.allStarted).toBe(false);
    fanOut.startNext(2, shared);
    expect(fanOut.filesystems).toHaveLength(2);
    expect(fanOut.allStarted).toBe(false);
    fanOut.startNext(2, shared);
    expect(fanOut.filesystems).toHaveLength(3);
    expect(fanOut.allStarted).toBe(true);
    expect([0, 1, 2].map((i) => actor(i).getSnapshot().context.name)).toEqual(['p', 'p/a', 'p/b']);
    expect([0, 1, 2].map((i) => actor(i).getSnapshot().context.index)).toEqual([0, 1, 2]);
    expect(actor(2).getSnapshot().status).toBe('active');
    fanOut.startNext(2, shared);
    expect(fanOut.filesystems).toHaveLength(3);
    stopAll();
  });

  test('a filesystem waits for its parents only if one is still missing when it starts', () => {
    const { fanOut, shared, sent, send, actor, stopAll } = setup(['p', 'p/a', 'p/b', 'q']);
    fanOut.startNext(2, shared);
    expect(actor(0).getSnapshot().context.parentsPending).toBe(0);
    expect(actor(1).getSnapshot().context.parentsPending).toBe(1);
    fanOut.present(0, send);
    // p/a heard it; p/b was not started yet and needs no event: it starts with nothing to wait for.
    expect(sent).toEqual(['p/a PARENT_PRESENT']);
    fanOut.startNext(2, shared);
    expect(actor(2).getSnapshot().context.parentsPending).toBe(0);
    expect(sent).toEqual(['p/a PARENT_PRESENT']);
    // Who has descendants: only p; the others need not tell the attempt anything.
    expect([0, 1, 2, 3].map((i) => actor(i).getSnapshot().context.hasDescendants)).toEqual([
      true,
      false,
      false,
      false,
    ]);
    stopAll();
  });

  test('PARENT_PRESENT comes once, when the last ancestor is present', () => {
    const { fanOut, shared, sent, send, stopAll } = setup(['p', 'p/a', 'p/a/x']);
    fanOut.startNext(3, shared);
    fanOut.present(0, send);
    expect(sent).toEqual(['p/a PARENT_PRESENT']);
    fanOut.present(1, send);
    expect(sent).toEqual(['p/a PARENT_PRESENT', 'p/a/x PARENT_PRESENT']);
    stopAll();
  });

  test('a failure reaches started descendants at once and later ones when they start', () => {
    const { fanOut, shared, sent, send, stopAll } = setup(['p', 'p/a', 'p/b', 'p/c']);
    fanOut.startNext(2, shared);
    fanOut.failed(0, { name: 'p', cause: new Error('boom') }, send);
    fanOut.failed(1, { name: 'p/a', cause: new Error('boom') }, send);
    expect(sent).toEqual(['p/a PARENT_FAILED p']);
    fanOut.startNext(1, shared);
    fanOut.catchUp(2, null, send);
    expect(sent).toEqual(['p/a PARENT_FAILED p', 'p/b PARENT_FAILED p']);
    fanOut.startNext(1, shared);
    // Catching up from the new chunk only: p/b does not hear it twice.
    fanOut.catchUp(3, { reason: 'stop' }, send);
    expect(sent).toEqual([
      'p/a PARENT_FAILED p',
      'p/b PARENT_FAILED p',
      'p/c PARENT_FAILED p',
      'p/c CANCEL',
    ]);
    stopAll();
  });

  test('failures of several ancestors wait in order for a filesystem not started yet', () => {
    const { fanOut, shared, sent, send, stopAll } = setup(['p', 'p/a', 'p/a/x']);
    fanOut.startNext(1, shared);
    fanOut.failed(0, { name: 'p', cause: 1 }, send);
    fanOut.failed(1, { name: 'p/a', cause: 2 }, send);
    expect(sent).toEqual([]);
    fanOut.startNext(2, shared);
    fanOut.catchUp(1, null, send);
    expect(sent).toEqual([
      'p/a PARENT_FAILED p',
      'p/a/x PARENT_FAILED p',
      'p/a/x PARENT_FAILED p/a',
    ]);
    stopAll();
  });

  test('a filesystem that ended keeps its final snapshot and hears nothing more', () => {
    const { fanOut, shared, sent, send, actor, end, stopAll } = setup(['p', 'p/a', 'p/b']);
    fanOut.startNext(3, shared);
    end(1);
    const last = actor(1).getSnapshot();
    expect(last.status).toBe('done');
    fanOut.ended(1);
    const ended = fanOut.filesystems[1];
    expect(ended).toBeInstanceOf(EndedFilesystem);
    expect(ended?.getSnapshot()).toBe(last);
    fanOut.ended(1);
    expect(fanOut.filesystems[1]).toBe(ended);
    fanOut.ended(7);
    expect(fanOut.filesystems).toHaveLength(3);
    // An actor that ended but is not yet replaced hears nothing either.
    end(2);
    fanOut.present(0, send);
    fanOut.failed(0, { name: 'p', cause: 0 }, send);
    fanOut.cancel('stop', send);
    fanOut.catchUp(0, { reason: 'stop' }, send);
    expect(sent).toEqual(['p CANCEL', 'p CANCEL']);
    stopAll();
  });

  test('cancel reaches every running filesystem, in plan order', () => {
    const { fanOut, shared, sent, send, stopAll } = setup(['p', 'p/a', 'q']);
    fanOut.startNext(3, shared);
    fanOut.cancel('stop', send);
    expect(sent).toEqual(['p CANCEL', 'p/a CANCEL', 'q CANCEL']);
    stopAll();
  });
});
