/**
 * Pruning is a plan first (JOBS.md "Pruning"): each snapshot of a dataset gets a verdict, the
 * rule that kept it or why it goes. A snapshot stays if any keep rule keeps it; whatever the
 * rules say, the newest snapshot both sides have, anything held and anything a running step
 * uses never go. Pure: the same input gives the same plan, and planning again over what a plan
 * kept destroys nothing more.
 */
import type { KeepRule } from '../config.js';
import { gridKeeps, parseGrid } from './grid.js';

export interface PruneSnapshot {
  name: string;
  guid: string;
  createTxg: string;
  creation: Date;
  /** `zfs hold` count. */
  holds: number;
}

export interface PruneInput {
  side: 'sender' | 'receiver';
  /** The dataset's snapshots (any order). */
  snapshots: readonly PruneSnapshot[];
  rules: readonly KeepRule[];
  /** Guids of the other side's versions of this dataset; undefined when there is none (snap jobs). */
  otherSide?: ReadonlySet<string>;
  /** Names a running step sends or receives. */
  inUse?: ReadonlySet<string>;
  now: Date;
}

export interface Verdict {
  name: string;
  destroy: boolean;
  /** The first rule that kept it, or the protection that saved it, or why it goes. */
  reason: string;
}

const byTxg = (a: PruneSnapshot, b: PruneSnapshot): number => {
  const x = BigInt(a.createTxg);
  const y = BigInt(b.createTxg);
  return x < y ? -1 : x > y ? 1 : 0;
};

/** The newest snapshot whose guid the other side has, if any. */
export function newestCommon(
  snapshots: readonly PruneSnapshot[],
  otherSide: ReadonlySet<string> | undefined,
): PruneSnapshot | undefined {
  if (otherSide === undefined) return undefined;
  return [...snapshots]
    .sort(byTxg)
    .reverse()
    .find((s) => otherSide.has(s.guid));
}

function ruleKeeps(
  rule: KeepRule,
  index: number,
  sorted: readonly PruneSnapshot[],
  input: PruneInput,
): Map<string, string> {
  const kept = new Map<string, string>();
  const label = `keep[${index}] ${rule.type}`;
  switch (rule.type) {
    case 'not_replicated': {
      // Sender only: everything newer than the last snapshot the receiver has.
      if (input.side !== 'sender' || input.otherSide === undefined) break;
      const common = newestCommon(sorted, input.otherSide);
      for (const s of sorted) {
        if (common === undefined || byTxg(s, common) > 0) kept.set(s.name, label);
      }
      break;
    }
    case 'last_n': {
      const re = rule.regex === undefined ? undefined : new RegExp(rule.regex);
      const matching = sorted.filter((s) => re === undefined || re.test(s.name));
      for (const s of matching.slice(-rule.count)) kept.set(s.name, `${label} (${rule.count})`);
      break;
    }
    case 'regex': {
      const re = new RegExp(rule.regex);
      for (const s of sorted) if (re.test(s.name) !== rule.negate) kept.set(s.name, label);
      break;
    }
    case 'grid': {
      const re = new RegExp(rule.regex);
      const matching = sorted.filter((s) => re.test(s.name));
      for (const [name, bucket] of gridKeeps(parseGrid(rule.grid), matching, input.now)) {
        kept.set(name, `${label}: ${bucket}`);
      }
      break;
    }
  }
  return kept;
}

/**
 * The verdict of every snapshot, oldest first.
 *
 * @example
 * planPrune({ side: 'receiver', snapshots, rules: [{ type: 'last_n', count: 10 }], otherSide, now })
 *   .filter((v) => v.destroy)
 */
export function planPrune(input: PruneInput): Verdict[] {
  const sorted = [...input.snapshots].sort(byTxg);
  const keeps = input.rules.map((rule, i) => ruleKeeps(rule, i, sorted, input));
  const common = newestCommon(sorted, input.otherSide);
  return sorted.map((s) => {
    if (common !== undefined && s.guid === common.guid) {
      return { name: s.name, destroy: false, reason: 'newest common snapshot' };
    }
    if (s.holds > 0) return { name: s.name, destroy: false, reason: `held (${s.holds})` };
    if (input.inUse?.has(s.name) === true) {
      return { name: s.name, destroy: false, reason: 'in use by a running step' };
    }
    for (const kept of keeps) {
      const reason = kept.get(s.name);
      if (reason !== undefined) return { name: s.name, destroy: false, reason };
    }
    return { name: s.name, destroy: true, reason: 'no rule keeps it' };
  });
}
