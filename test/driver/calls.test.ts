/**
 * The attempt's calls actor (machines/calls.logic.ts): it runs a filesystem's planFS and steps
 * with the attempt's signal and answers the filesystem that asked.
 */
import { createActor, fromCallback } from 'xstate';
import { callsLogic, type CallImplementations } from '../../machines/calls.logic.js';
import type { Step } from '../../src/driver/types.js';
import { deferred, until } from '../helpers/deferred.js';

/** An actor that records the type (and error message) of every event it gets. */
function owner() {
  const got: string[] = [];
  const actor = createActor(
    fromCallback<{ type: string; error?: unknown }>(({ receive }) =>
      receive((e) => got.push(e.error instanceof Error ? `${e.type}: ${e.error.message}` : e.type)),
    ),
  ).start();
  return { actor, got };
}

const step = {} as Step;

function calls(implementations: CallImplementations, signal = new AbortController().signal) {
  return createActor(callsLogic(implementations), { input: { signal } }).start();
}

describe('the calls actor', () => {
  test('runs each call with the attempt signal and answers the filesystem that asked', async () => {
    const controller = new AbortController();
    const seen: AbortSignal[] = [];
    const plan = deferred<Step[]>();
    const run = deferred();
    const c = calls(
      {
        planFS: ({ signal }) => (seen.push(signal), plan.promise),
        runStep: ({ signal }) => (seen.push(signal), run.promise),
      },
      controller.signal,
    );
    const a = owner();
    const b = owner();
    c.send({
      type: 'PLAN_FS',
      owner: a.actor,
      fs: {} as never,
      name: 'pool/a',
      previous: undefined,
    });
    c.send({ type: 'RUN_STEP', owner: b.actor, step });
    expect(seen).toEqual([controller.signal, controller.signal]);
    run.resolve();
    await until(() => b.got.length === 1);
    plan.resolve([step, step]);
    await until(() => a.got.length === 1);
    expect([a.got, b.got]).toEqual([['PLANNED'], ['STEP_DONE']]);
  });

  test('a call that rejects or throws at once is a failure, not a crash', async () => {
    const c = calls({
      planFS: () => {
        throw new Error('cannot list');
      },
      runStep: () => Promise.reject(new Error('disk full')),
    });
    const a = owner();
    c.send({ type: 'PLAN_FS', owner: a.actor, fs: {} as never, name: 'p', previous: undefined });
    c.send({ type: 'RUN_STEP', owner: a.actor, step });
    await until(() => a.got.length === 2);
    expect(a.got.sort()).toEqual(['PLAN_FAILED: cannot list', 'STEP_FAILED: disk full']);
  });
});
