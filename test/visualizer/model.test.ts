/**
 * The page derives a filesystem's `blockedOn` from its state value on its own (it is built
 * apart from src/ and cannot import it): it must say what the report says, for every state of
 * the filesystem chart.
 */
import type { AnyStateNode } from 'xstate';
import { filesystemMachine } from '../../machines/filesystem.machine.js';
import { filesystemReport } from '../../src/report/fromSnapshot.js';
import { blockedOnOf } from '../../visualizer/web/model.js';

/** `['stepping', 'running']` -> `{ stepping: 'running' }`. */
function valueOf(keys: string[]): unknown {
  return keys.length === 1 ? keys[0] : { [keys[0] as string]: valueOf(keys.slice(1)) };
}

/** The state value of every leaf state: `'done'`, `{ stepping: 'running' }`, ... */
function leafValues(node: AnyStateNode, path: string[] = []): unknown[] {
  const children = Object.values(node.states) as AnyStateNode[];
  const here = node.parent === undefined ? [] : [...path, node.key];
  if (children.length === 0) return [valueOf(here)];
  return children.flatMap((child) => leafValues(child, here));
}

test("the page's blockedOn is the report's for every state of the filesystem chart", () => {
  const values = leafValues(filesystemMachine.root);
  expect(values).toHaveLength(10);
  const context = { name: 'pool/a', steps: null, currentStep: 0, planError: null, stepError: null };
  const rows = values.map((value) => {
    const report = filesystemReport({ context, value } as never);
    return [JSON.stringify(value), blockedOnOf(value), report.blockedOn];
  });
  for (const [value, page, report] of rows)
    expect({ value, blockedOn: page }).toEqual({ value, blockedOn: report });
  expect(new Set(rows.map((r) => r[2]))).toEqual(
    new Set(['nothing', 'plan-queue', 'parent-initial-repl', 'repl-queue']),
  );
});
