/**
 * Builds the CLI for child-process tests: `tsc` over `src/cli/main.ts` and what it imports,
 * into a fresh directory below node_modules/.cache (inside the package, so ESM resolution
 * and node_modules work as in dist/), never a stale dist/.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '..', '..');

export interface BuiltCli {
  /** The compiled `src/cli/main.js`. */
  main: string;
  remove(): void;
}

export function buildCli(): BuiltCli {
  const cache = join(ROOT, 'node_modules', '.cache');
  mkdirSync(cache, { recursive: true });
  const out = mkdtempSync(join(cache, 'xrepl-cli-test-'));
  const tsconfig = join(out, 'tsconfig.json');
  writeFileSync(
    tsconfig,
    JSON.stringify({
      extends: join(ROOT, 'tsconfig.build.json'),
      compilerOptions: { outDir: out, rootDir: ROOT, sourceMap: false, incremental: false },
      files: [join(ROOT, 'src', 'cli', 'main.ts')],
      include: [],
    }),
  );
  const tsc = spawnSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', tsconfig], {
    encoding: 'utf8',
  });
  const main = join(out, 'src', 'cli', 'main.js');
  // Type errors are the typecheck's business; the test needs the emitted JavaScript.
  if (!existsSync(main)) {
    rmSync(out, { recursive: true, force: true });
    throw new Error(`building the CLI failed:\n${tsc.stdout}${tsc.stderr}`);
  }
  return { main, remove: () => rmSync(out, { recursive: true, force: true }) };
}
