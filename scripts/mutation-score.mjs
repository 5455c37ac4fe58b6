// The mutation score per file and over all, from Stryker's JSON reports (scripts/mutate.sh):
//   node scripts/mutation-score.mjs reports/mutation/*.json [--survivors]
// score = (killed + timed out) / (killed + timed out + survived + not covered); mutants that do
// not compile or crash the test runner do not count (Stryker's own definition).
import { readFileSync } from 'node:fs';

const args = process.argv.slice(2);
const showSurvivors = args.includes('--survivors');
const reports = args.filter((a) => a.endsWith('.json') && !a.endsWith('.incremental.json'));
if (reports.length === 0) {
  console.error('usage: mutation-score.mjs <stryker report.json>... [--survivors]');
  process.exit(2);
}

const STATUSES = ['Killed', 'Timeout', 'Survived', 'NoCoverage', 'CompileError', 'RuntimeError'];
const files = new Map();
for (const report of reports) {
  const { files: reported } = JSON.parse(readFileSync(report, 'utf8'));
  for (const [name, file] of Object.entries(reported)) {
    const counts = Object.fromEntries(STATUSES.map((s) => [s, 0]));
    const survivors = [];
    for (const mutant of file.mutants) {
      counts[mutant.status] = (counts[mutant.status] ?? 0) + 1;
      if (mutant.status === 'Survived' || mutant.status === 'NoCoverage') {
        const { line, column } = mutant.location.start;
        survivors.push(
          `${name}:${line}:${column} ${mutant.status} ${mutant.mutatorName}: ${JSON.stringify(mutant.replacement ?? '')}`,
        );
      }
    }
    // A later report of the same file replaces an earlier one.
    files.set(name, { counts, survivors });
  }
}

const score = (c) => {
  const detected = c.Killed + c.Timeout;
  const valid = detected + c.Survived + c.NoCoverage;
  return valid === 0 ? '-' : `${((100 * detected) / valid).toFixed(1)}%`;
};
const total = Object.fromEntries(STATUSES.map((s) => [s, 0]));
const rows = [...files.entries()].sort(([a], [b]) => a.localeCompare(b));
console.log(
  '| file | mutants | killed | timed out | survived | not covered | no compile | score |',
);
console.log('| --- | --: | --: | --: | --: | --: | --: | --: |');
for (const [name, { counts }] of rows) {
  for (const s of STATUSES) total[s] += counts[s];
  const all = STATUSES.reduce((n, s) => n + counts[s], 0);
  console.log(
    `| \`${name}\` | ${all} | ${counts.Killed} | ${counts.Timeout} | ${counts.Survived} | ${counts.NoCoverage} | ${counts.CompileError + counts.RuntimeError} | ${score(counts)} |`,
  );
}
const all = STATUSES.reduce((n, s) => n + total[s], 0);
console.log(
  `| **all** | ${all} | ${total.Killed} | ${total.Timeout} | ${total.Survived} | ${total.NoCoverage} | ${total.CompileError + total.RuntimeError} | **${score(total)}** |`,
);
if (showSurvivors) for (const [, { survivors }] of rows) for (const s of survivors) console.log(s);
