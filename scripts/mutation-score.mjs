// The mutation score per file and over all, from Stryker's JSON reports (scripts/mutate.sh):
//   node scripts/mutation-score.mjs <report.json>... [--survivors]
//   node scripts/mutation-score.mjs --survivor-lines <report.json>...
// A mutant tested in several reports takes the verdict of the last (the second pass, against
// every suite, after the quick first). score = (killed + timed out) / (killed + timed out +
// survived + not covered); mutants that do not compile or crash the test runner do not count
// (Stryker's own definition). --survivor-lines prints the lines of the survivors as Stryker
// `mutate` ranges (`file:line-line`, comma-separated), for the second pass.
import { readFileSync } from 'node:fs';

const args = process.argv.slice(2);
const showSurvivors = args.includes('--survivors');
const survivorLines = args.includes('--survivor-lines');
const reports = args.filter((a) => a.endsWith('.json') && !a.endsWith('.incremental.json'));
if (reports.length === 0) {
  console.error(
    'usage: mutation-score.mjs <stryker report.json>... [--survivors | --survivor-lines]',
  );
  process.exit(2);
}

const STATUSES = ['Killed', 'Timeout', 'Survived', 'NoCoverage', 'CompileError', 'RuntimeError'];
/** file -> mutant key -> mutant; a later report's verdict replaces an earlier one's. */
const files = new Map();
for (const report of reports) {
  const { files: reported } = JSON.parse(readFileSync(report, 'utf8'));
  for (const [name, file] of Object.entries(reported)) {
    const mutants = files.get(name) ?? new Map();
    files.set(name, mutants);
    for (const mutant of file.mutants) {
      const { line, column } = mutant.location.start;
      const key = `${line}:${column} ${mutant.mutatorName} ${mutant.replacement ?? ''}`;
      mutants.set(key, mutant);
    }
  }
}

const survived = (m) => m.status === 'Survived' || m.status === 'NoCoverage';
const rows = [...files.entries()].sort(([a], [b]) => a.localeCompare(b));

if (survivorLines) {
  const ranges = [];
  for (const [name, mutants] of rows) {
    for (const m of mutants.values()) {
      if (survived(m)) ranges.push(`${name}:${m.location.start.line}-${m.location.end.line}`);
    }
  }
  console.log([...new Set(ranges)].join(','));
  process.exit(0);
}

const score = (c) => {
  const detected = c.Killed + c.Timeout;
  const valid = detected + c.Survived + c.NoCoverage;
  return valid === 0 ? '-' : `${((100 * detected) / valid).toFixed(1)}%`;
};
const zero = () => Object.fromEntries(STATUSES.map((s) => [s, 0]));
const total = zero();
const line = (name, c) => {
  const all = STATUSES.reduce((n, s) => n + c[s], 0);
  return `| ${name} | ${all} | ${c.Killed} | ${c.Timeout} | ${c.Survived} | ${c.NoCoverage} | ${c.CompileError + c.RuntimeError} | ${score(c)} |`;
};
console.log('| file | mutants | killed | timed out | survived | not covered | invalid | score |');
console.log('| --- | --: | --: | --: | --: | --: | --: | --: |');
for (const [name, mutants] of rows) {
  const counts = zero();
  for (const m of mutants.values()) counts[m.status] = (counts[m.status] ?? 0) + 1;
  for (const s of STATUSES) total[s] += counts[s];
  console.log(line(`\`${name}\``, counts));
}
console.log(line('**all**', total).replace(/\| ([0-9.]+%) \|$/, '| **$1** |'));
if (showSurvivors) {
  for (const [name, mutants] of rows) {
    for (const m of mutants.values()) {
      if (!survived(m)) continue;
      const { line: l, column } = m.location.start;
      console.log(
        `${name}:${l}:${column} ${m.status} ${m.mutatorName}: ${JSON.stringify(m.replacement ?? '')}`,
      );
    }
  }
}
