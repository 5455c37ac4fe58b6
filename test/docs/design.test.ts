import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = join(__dirname, '..', '..');
const read = (path: string) => readFileSync(join(root, path), 'utf8');

/** Every file below `dir` (relative to the root), skipping generated and vendored folders. */
function filesBelow(dir: string): string[] {
  const out: string[] = [];
  const walk = (abs: string): void => {
    for (const entry of readdirSync(abs, { withFileTypes: true })) {
      if (entry.name === 'node_modules' || entry.name === 'vendor') continue;
      const path = join(abs, entry.name);
      if (entry.isDirectory()) walk(path);
      else out.push(relative(root, path));
    }
  };
  walk(join(root, dir));
  return out;
}

/** The rule numbers docs/design.md has a heading for (`### D7 Steps`), in order. */
function ruleHeadings(markdown: string): number[] {
  return [...markdown.matchAll(/^#{2,4} D(\d+)\b/gm)].map((m) => Number(m[1]));
}

/** Rule references in source text: `(D7)`, `D4-D7`, `D9:`, ... */
function ruleReferences(text: string): number[] {
  return [...text.matchAll(/\bD(\d{1,2})\b/g)].map((m) => Number(m[1]));
}

const SOURCE_DIRS = ['machines', 'src', 'test', 'bench', 'visualizer'];

describe('docs/design.md', () => {
  const design = read('docs/design.md');
  const headings = ruleHeadings(design);

  test('has one heading per rule, D1 to D15 in order (the numbers are stable)', () => {
    expect(headings).toEqual(Array.from({ length: 15 }, (_, i) => i + 1));
  });

  test('every rule the code and the tests cite has a heading', () => {
    const known = new Set(headings);
    const unresolved: string[] = [];
    let cited = 0;
    for (const dir of SOURCE_DIRS) {
      for (const file of filesBelow(dir)) {
        if (!/\.(ts|js|cjs|mjs)$/.test(file)) continue;
        for (const rule of ruleReferences(read(file))) {
          cited++;
          if (!known.has(rule)) unresolved.push(`${file}: D${rule}`);
        }
      }
    }
    expect(unresolved).toEqual([]);
    // The scan found the references the code is known to make (56 in machines/ and src/ alone).
    expect(cited).toBeGreaterThanOrEqual(56);
  });

  test('every rule a test file is named after (dNN-...) has a heading', () => {
    const known = new Set(headings);
    const named = filesBelow('test')
      .map((file) => file.split('/').at(-1) as string)
      .filter((name) => /^d\d\d-/.test(name));
    expect(named.length).toBeGreaterThanOrEqual(10);
    for (const name of named) {
      // `d04-d07-filesystems.test.ts` names D4 and D7.
      for (const m of name.matchAll(/(?:^|-)d(\d\d)(?=-)/g)) {
        expect({ name, rule: known.has(Number(m[1])) }).toEqual({ name, rule: true });
      }
    }
  });

  test('every rule in force (not planned) has a describe block of its own in test/driver/', () => {
    const planned = new Set(
      [...design.matchAll(/^#{2,4} D(\d+)\b.*\(planned\)\s*$/gm)].map((m) => Number(m[1])),
    );
    const described = new Set(
      filesBelow(join('test', 'driver')).flatMap((file) =>
        [...read(file).matchAll(/describe\('D(\d+)[ :]/g)].map((m) => Number(m[1])),
      ),
    );
    const inForce = headings.filter((rule) => !planned.has(rule));
    expect(inForce.length).toBeGreaterThanOrEqual(12);
    expect(inForce.filter((rule) => !described.has(rule))).toEqual([]);
  });

  test('the in-page links point at headings that exist', () => {
    const anchors = new Set(
      [...design.matchAll(/^#{1,4} (.+)$/gm)].map((m) =>
        (m[1] as string)
          .toLowerCase()
          .replace(/[^a-z0-9 -]/g, '')
          .replace(/ /g, '-'),
      ),
    );
    const links = [...design.matchAll(/\]\(#([^)]+)\)/g)].map((m) => m[1] as string);
    expect(links.length).toBeGreaterThan(0);
    expect(links.filter((link) => !anchors.has(link))).toEqual([]);
  });

  test('the README links it', () => {
    expect(read('README.md')).toContain('](docs/design.md)');
  });
});
