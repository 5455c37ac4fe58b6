import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(__dirname, '..', '..');
const read = (path: string) => readFileSync(join(root, path), 'utf8');

describe('README', () => {
  test('shows the embedding example exactly as docs/embed-example.ts, which the typecheck compiles', () => {
    const example = read('docs/embed-example.ts').trimEnd();
    expect(read('README.md')).toContain('```ts\n' + example + '\n```');
  });

  test('quick start is npm ci && npm start and npm test, matching package.json scripts', () => {
    const readme = read('README.md');
    expect(readme).toContain('npm ci && npm start');
    expect(readme).toContain('npm test');
    const pkg = JSON.parse(read('package.json')) as { scripts: Record<string, string> };
    expect(pkg.scripts.start).toMatch(/ demo\b/);
    expect(pkg.scripts.test).toContain('jest');
  });

  test('every machine file the README names exists', () => {
    const names = [...read('README.md').matchAll(/`([a-zA-Z]+\.(?:machine|logic)\.ts)`/g)].map(
      (m) => m[1]!,
    );
    expect(names.length).toBeGreaterThanOrEqual(4);
    for (const name of names) expect(() => read(join('machines', name))).not.toThrow();
  });
});
