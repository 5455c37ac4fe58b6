/** Helpers for tests of the step queue on its own. */
import { createEmptyActor, type AnyActorRef } from 'xstate';

/** Stand-in owners for queue requests: each records, by name, when it is GRANTED. */
export function owners(names: string[]): { refs: Record<string, AnyActorRef>; granted: string[] } {
  const granted: string[] = [];
  const refs = Object.fromEntries(
    names.map((n) => {
      const ref = createEmptyActor() as AnyActorRef;
      (ref as { send: (e: { type: string }) => void }).send = (e) => {
        if (e.type === 'GRANTED') granted.push(n);
      };
      return [n, ref];
    }),
  ) as Record<string, AnyActorRef>;
  return { refs, granted };
}
