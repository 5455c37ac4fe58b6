/**
 * Summarises a V8 .cpuprofile (from `node --cpu-prof`): self time aggregated by function and
 * script, and by script (package) alone.
 *
 *   node dist/bench/profile-summary.js /tmp/prof/CPU.*.cpuprofile [--top 25]
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** `file:///work/main/node_modules/xstate/dist/x.mjs` -> `xstate/dist/x.mjs`; app paths relative. */
function shortUrl(url: string): string {
  if (url === '') return '(native)';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) return url.slice(nm + 'node_modules/'.length);
  const dist = url.indexOf('/dist/');
  if (dist >= 0) return url.slice(dist + 1);
  return url.replace(/^file:\/\//, '');
}

export interface Row {
  key: string;
  selfMs: number;
  share: number;
}

function top(map: Map<string, number>, total: number, n: number): Row[] {
  return [...map.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([key, us]) => ({ key, selfMs: us / 1000, share: us / total }));
}

export function summarise(
  profile: CpuProfile,
  n = 25,
): { totalMs: number; byFunction: Row[]; byScript: Row[] } {
  const byId = new Map<number, ProfileNode>();
  for (const node of profile.nodes) byId.set(node.id, node);
  const selfUs = new Map<number, number>();
  // timeDeltas[i] is the time before sample i; attribute it to the sample's node.
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i] as number;
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const byFunction = new Map<string, number>();
  const byScript = new Map<string, number>();
  let total = 0;
  for (const [id, us] of selfUs) {
    const frame = (byId.get(id) as ProfileNode).callFrame;
    const url = shortUrl(frame.url);
    const fn = `${frame.functionName || '(anonymous)'} ${url}${frame.url ? `:${frame.lineNumber + 1}` : ''}`;
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + us);
    const script = frame.url ? url : frame.functionName || '(native)';
    byScript.set(script, (byScript.get(script) ?? 0) + us);
    total += us;
  }
  return {
    totalMs: total / 1000,
    byFunction: top(byFunction, total, n),
    byScript: top(byScript, total, n),
  };
}

function table(rows: Row[]): string {
  return rows
    .map(
      (r) =>
        `${r.selfMs.toFixed(0).padStart(8)} ms ${(100 * r.share).toFixed(1).padStart(5)}%  ${r.key}`,
    )
    .join('\n');
}

const isMain = process.argv[1]?.endsWith('profile-summary.js') ?? false;
if (isMain) {
  const file = process.argv[2];
  if (file === undefined)
    throw new Error('usage: node dist/bench/profile-summary.js <file.cpuprofile> [--top N]');
  const i = process.argv.indexOf('--top');
  const n = i >= 0 ? Number(process.argv[i + 1]) : 25;
  const s = summarise(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile, n);
  console.log(
    `total sampled: ${s.totalMs.toFixed(0)} ms\n\nself time by function:\n${table(s.byFunction)}`,
  );
  console.log(`\nself time by script:\n${table(s.byScript)}`);
}
