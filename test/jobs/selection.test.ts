import { parseSelectionList, selectionOf } from '../../src/jobs/selection.js';

describe('dataset selection', () => {
  test('a/b selects the dataset only', () => {
    const s = selectionOf({ 'tank/a': true });
    expect(['tank/a', 'tank/a/b', 'tank'].map((n) => s.selects(n))).toEqual([true, false, false]);
  });

  test('a/b< selects the dataset itself (the root of the subtree) and everything below', () => {
    const s = selectionOf({ 'tank/a<': true });
    expect(['tank/a', 'tank/a/b/c', 'tank/ab', 'tank'].map((n) => s.selects(n))).toEqual([
      true,
      true,
      false,
      false,
    ]);
  });

  test('the most specific pattern wins: an exclude below an include, an include below an exclude', () => {
    const s = selectionOf({ 'tank<': true, 'tank/tmp<': false, 'tank/tmp/keep': true });
    expect(s.selects('tank')).toBe(true);
    expect(s.selects('tank/tmp')).toBe(false);
    expect(s.selects('tank/tmp/x')).toBe(false);
    expect(s.selects('tank/tmp/keep')).toBe(true);
    expect(s.selects('tank/tmp/keep/below')).toBe(false);
  });

  test('an exact pattern beats a subtree pattern of the same dataset', () => {
    const s = selectionOf({ 'tank/a<': true, 'tank/a': false });
    expect(s.selects('tank/a')).toBe(false);
    expect(s.selects('tank/a/b')).toBe(true);
  });

  test('the command line form: comma-separated, ! excludes', () => {
    expect(parseSelectionList('tank/a<, !tank/a/tmp')).toEqual({
      'tank/a<': true,
      'tank/a/tmp': false,
    });
  });

  test('an invalid pattern is refused with its reason', () => {
    expect(() => selectionOf({ 'tank/a<b': true })).toThrow('"<" may only end a pattern');
    expect(() => selectionOf({ 'tank//a': true })).toThrow('empty component');
  });
});
