/**
 * The page reads a filesystem's `blockedOn` from the tags of its snapshot's JSON: the tags the
 * filesystem chart puts on its waiting states, which the server's serialisation carries.
 */
import { filesystemMachine } from '../../machines/filesystem.machine.js';
import { serializeSnapshot } from '../../visualizer/server/serialize.js';
import { blockedOnOf } from '../../visualizer/web/model.js';

const context = { name: 'pool/a', steps: null, currentStep: 0, planError: null, stepError: null };

function pageBlockedOn(value: unknown): string {
  const snapshot = filesystemMachine.resolveState({ value, context } as never);
  return blockedOnOf(serializeSnapshot(snapshot));
}

describe("the page's blockedOn", () => {
  test.each([
    [{ planning: 'waiting-for-slot' }, 'plan-queue'],
    [{ planning: 'running' }, 'nothing'],
    [{ stepping: 'waiting-for-parents' }, 'parent-initial-repl'],
    [{ stepping: 'waiting-for-slot' }, 'repl-queue'],
    [{ stepping: 'running' }, 'nothing'],
  ])('%j: the tag of the state, serialised (%s)', (value, blockedOn) => {
    expect(pageBlockedOn(value)).toBe(blockedOn);
  });

  test('a snapshot with no tags, or of a stopped actor, waits for nothing', () => {
    expect(blockedOnOf({ status: 'active', value: { stepping: 'running' } })).toBe('nothing');
    expect(blockedOnOf({ status: 'done', value: 'done', tags: ['repl-queue'] })).toBe('nothing');
  });
});
