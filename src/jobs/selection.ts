/**
 * Dataset selection (JOBS.md "The config file"): patterns over full dataset names.
 * `a/b` selects the dataset, `a/b<` it and everything below, a `false` value (or a leading
 * `!` on the command line) excludes. The most specific pattern wins: the one naming the
 * dataset itself, else the nearest `<` ancestor; an exact pattern beats a subtree pattern of
 * the same dataset. The root of a subtree is selected with it.
 */
import { relativePathProblem } from '../endpoints/paths.js';

export interface SelectionRule {
  /** The dataset the pattern names, without `<`. */
  dataset: string;
  /** `a/b<`: the dataset and everything below it. */
  subtree: boolean;
  include: boolean;
}

/** A parsed selection: `selects(name)` answers for any full dataset name. */
export interface Selection {
  readonly rules: readonly SelectionRule[];
  selects(name: string): boolean;
  /** The rule that decides for `name`, or undefined (not selected by any rule). */
  ruleFor(name: string): SelectionRule | undefined;
}

/** Why `pattern` is not a valid pattern, or undefined. */
export function patternProblem(pattern: string): string | undefined {
  const dataset = pattern.endsWith('<') ? pattern.slice(0, -1) : pattern;
  if (dataset.includes('<')) return '"<" may only end a pattern';
  return relativePathProblem(dataset);
}

function specificity(rule: SelectionRule): number {
  // Deeper wins; at the same dataset, the exact pattern beats the subtree one.
  return rule.dataset.split('/').length * 2 + (rule.subtree ? 0 : 1);
}

function matches(rule: SelectionRule, name: string): boolean {
  if (name === rule.dataset) return true;
  return rule.subtree && name.startsWith(`${rule.dataset}/`);
}

/**
 * A selection from a map of patterns to booleans (the config file's form).
 *
 * @example
 * const s = selectionOf({ 'tank/home<': true, 'tank/home/tmp': false });
 * s.selects('tank/home'); // true
 * s.selects('tank/home/tmp'); // false
 * s.selects('tank/home/tmp/x'); // true: only tank/home/tmp itself is excluded
 */
export function selectionOf(patterns: Readonly<Record<string, boolean>>): Selection {
  const rules: SelectionRule[] = [];
  for (const [pattern, include] of Object.entries(patterns)) {
    const problem = patternProblem(pattern);
    if (problem !== undefined) {
      throw new Error(`invalid dataset pattern ${JSON.stringify(pattern)}: ${problem}`);
    }
    const subtree = pattern.endsWith('<');
    rules.push({ dataset: subtree ? pattern.slice(0, -1) : pattern, subtree, include });
  }
  const ruleFor = (name: string): SelectionRule | undefined => {
    let best: SelectionRule | undefined;
    for (const rule of rules) {
      if (!matches(rule, name)) continue;
      if (best === undefined || specificity(rule) > specificity(best)) best = rule;
    }
    return best;
  };
  return { rules, ruleFor, selects: (name) => ruleFor(name)?.include === true };
}

/**
 * The command line's form: comma-separated patterns, `!` in front excludes.
 *
 * @example parseSelectionList('tank/home<,!tank/home/tmp')
 */
export function parseSelectionList(text: string): Record<string, boolean> {
  const patterns: Record<string, boolean> = {};
  for (const raw of text.split(',')) {
    const item = raw.trim();
    if (item === '') continue;
    const exclude = item.startsWith('!');
    patterns[exclude ? item.slice(1) : item] = !exclude;
  }
  return patterns;
}

/**
 * The dataset every included pattern lies in or below, when there is one: a job's sender is
 * rooted at the pool of its selection, so that a subtree's root has a path of its own.
 */
export function poolOfSelection(selection: Selection): string[] {
  const pools = new Set<string>();
  for (const rule of selection.rules) {
    if (rule.include) pools.add(rule.dataset.split('/')[0] ?? rule.dataset);
  }
  return [...pools].sort();
}
