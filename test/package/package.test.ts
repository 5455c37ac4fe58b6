/**
 * The package as a user gets it: `npm pack` a copy of the checkout (its `prepack` builds
 * dist/ from clean), install the tarball into a fresh project, typecheck a strict consumer,
 * ESM and CommonJS, with TypeScript 5.9 and 7, and run it: README.md's "Embedding the
 * library", visualizer/README.md's "From code" (both as written) and a CommonJS application.
 *
 * Offline: the tarball is unpacked into the project's node_modules/xrepl and each of its
 * declared `dependencies` is linked from the checkout's node_modules (the versions the
 * lockfile pins), where `npm install` would hoist it. Only declared dependencies are there,
 * so code or types that need an undeclared package fail here as they would for a user.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '..', '..');
const CONSUMER = join(__dirname, 'consumer');
/** Not copied into the package's working copy: installed, built or produced by runs. */
const SKIP = new Set(['node_modules', 'dist', '.git', 'coverage', 'artifacts']);

interface PackedFile {
  path: string;
}

/** Runs a command; throws with its output unless it exits 0. */
function run(cmd: string, args: string[], cwd: string): SpawnSyncReturns<string> {
  // A nested npm must not inherit the outer `npm test`'s lifecycle and config variables.
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !key.toLowerCase().startsWith('npm_')),
  );
  const result = spawnSync(cmd, args, {
    cwd,
    encoding: 'utf8',
    env: { ...env, npm_config_update_notifier: 'false', npm_config_fund: 'false' },
  });
  if (result.status !== 0) {
    throw new Error(
      `${cmd} ${args.join(' ')} (in ${cwd}) exited ${result.status ?? result.signal}:\n` +
        `${result.stdout}${result.stderr}${result.error?.message ?? ''}`,
    );
  }
  return result;
}

/** The first ```ts block after `heading` in a Markdown file. */
function example(markdownFile: string, heading: string): string {
  const text = readFileSync(join(ROOT, markdownFile), 'utf8');
  const at = text.indexOf(heading);
  if (at < 0) throw new Error(`${markdownFile} has no "${heading}"`);
  const block = /```ts\n([\s\S]*?)```/.exec(text.slice(at));
  if (block?.[1] === undefined) throw new Error(`${markdownFile}: no ts block after "${heading}"`);
  return block[1];
}

/** The TypeScript compilers a consumer may have: ours (5.9) and npm's current (7). */
function compilers(): { name: string; tsc: string }[] {
  const ts7 = join(ROOT, 'node_modules', 'typescript7');
  if (!existsSync(ts7)) {
    throw new Error('TypeScript 7 is a devDependency (typescript7, npm:typescript@^7): run npm ci');
  }
  const bin = (
    JSON.parse(readFileSync(join(ts7, 'package.json'), 'utf8')) as { bin: { tsc: string } }
  ).bin.tsc;
  return [
    { name: 'TypeScript 5.9', tsc: require.resolve('typescript/bin/tsc') },
    { name: 'TypeScript 7', tsc: join(ts7, bin) },
  ];
}

/**
 * tsc's errors in our declarations and the consumer's code. Third-party declarations are their
 * authors' business (xstate's do not compile under exactOptionalPropertyTypes), so errors in
 * them are left out; ours must be clean.
 */
function ownErrors(output: string): string[] {
  return output
    .split('\n')
    .filter((line) => / error TS\d+:/.test(line))
    .filter((line) => line.startsWith('src/') || line.startsWith('node_modules/xrepl/'));
}

describe('the package, installed from its tarball', () => {
  let work: string;
  let app: string;
  let files: string[];

  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'xrepl-package-'));
    const checkout = join(work, 'checkout');
    cpSync(ROOT, checkout, {
      recursive: true,
      filter: (src) => src === ROOT || !SKIP.has(src.slice(ROOT.length + 1).split('/')[0] ?? ''),
    });
    symlinkSync(join(ROOT, 'node_modules'), join(checkout, 'node_modules'), 'dir');
    const packed = run(
      'npm',
      ['pack', '--offline', '--json', '--pack-destination', work],
      checkout,
    );
    const [info] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as {
      filename: string;
      files: PackedFile[];
    }[];
    if (info === undefined) throw new Error(`npm pack printed no result:\n${packed.stdout}`);
    files = info.files.map((f) => f.path);

    app = join(work, 'app');
    const installed = join(app, 'node_modules', 'xrepl');
    mkdirSync(installed, { recursive: true });
    run('tar', ['-xzf', join(work, info.filename), '-C', installed, '--strip-components=1'], app);
    const manifest = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    for (const dep of Object.keys(manifest.dependencies)) {
      const link = join(app, 'node_modules', dep);
      mkdirSync(dirname(link), { recursive: true });
      symlinkSync(join(ROOT, 'node_modules', dep), link, 'dir');
    }
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true }));
    cpSync(join(CONSUMER, 'tsconfig.json'), join(app, 'tsconfig.json'));
    mkdirSync(join(app, 'src'));
    cpSync(join(CONSUMER, 'cjs.cts'), join(app, 'src', 'cjs.cts'));
    writeFileSync(join(app, 'src', 'readme.mts'), example('README.md', '## Embedding the library'));
    writeFileSync(join(app, 'src', 'visualizer.mts'), example('visualizer/README.md', 'From code'));
  }, 240_000);

  afterAll(() => {
    if (work !== undefined) rmSync(work, { recursive: true, force: true });
  });

  test('ships what a user runs: the built JavaScript, its declarations and the page', () => {
    const unexpected = files.filter(
      (f) =>
        !/^dist\/(src|machines|visualizer)\/.+\.(js|d\.ts)$/.test(f) &&
        ![
          'package.json',
          'README.md',
          'visualizer/web/index.html',
          'visualizer/web/style.css',
        ].includes(f),
    );
    expect(unexpected).toEqual([]);
    expect(files).toEqual(
      expect.arrayContaining([
        'dist/src/index.js',
        'dist/src/index.d.ts',
        'dist/src/cli/main.js',
        'dist/visualizer/server/index.js',
        'dist/visualizer/server/index.d.ts',
        'dist/visualizer/web/main.js',
      ]),
    );
  });

  test.each(compilers())(
    'a strict consumer, ESM and CommonJS, typechecks with $name',
    ({ tsc }) => {
      const result = spawnSync(
        process.execPath,
        [tsc, '-p', '.', '--noEmit', '--pretty', 'false'],
        {
          cwd: app,
          encoding: 'utf8',
        },
      );
      expect(result.error).toBeUndefined();
      expect(ownErrors(result.stdout)).toEqual([]);
    },
    120_000,
  );

  describe('runs', () => {
    beforeAll(() => {
      const result = spawnSync(
        process.execPath,
        [require.resolve('typescript/bin/tsc'), '-p', '.', '--noCheck'],
        { cwd: app, encoding: 'utf8' },
      );
      if (result.status !== 0) throw new Error(`emitting the consumer failed:\n${result.stdout}`);
    }, 120_000);

    test("README's embedding example (ESM): the run is done", () => {
      const out = run(process.execPath, ['out/readme.mjs'], app).stdout;
      expect(out.trim().split('\n').at(-1)).toBe('done');
    }, 60_000);

    test("visualizer/README.md's example (ESM, xrepl/visualizer): served, then done", () => {
      const out = run(process.execPath, ['out/visualizer.mjs'], app).stdout.trim().split('\n');
      expect(out[0]).toMatch(/^open http:\/\/127\.0\.0\.1:\d+\/$/);
      expect(out.at(-1)).toBe('done');
      expect(readFileSync(join(app, 'run.jsonl'), 'utf8')).toContain('@xrepl.frame');
    }, 60_000);

    test('the xrepl executable (bin): `xrepl demo --fast` replicates and verifies', () => {
      const installed = join(app, 'node_modules', 'xrepl');
      const { bin } = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as {
        bin: { xrepl: string };
      };
      const main = join(installed, bin.xrepl);
      expect(readFileSync(main, 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
      const out = run(process.execPath, [main, 'demo', '--fast'], app).stdout;
      expect(out).toMatch(/^verified: the receiver has the sender's snapshot guids/m);
    }, 60_000);

    test('a CommonJS application: require()s both entries, inspects with an observer, serves the page', () => {
      const out = run(process.execPath, ['out/cjs.cjs'], app).stdout.trim().split('\n');
      expect(JSON.parse(out.at(-1) ?? '')).toEqual({
        state: 'done',
        filesystems: [
          { name: 'data', state: 'done', steps: 2 },
          { name: 'data/child', state: 'done', steps: 2 },
        ],
        eventTypes: expect.arrayContaining(['@xstate.actor', '@xstate.event', '@xstate.snapshot']),
        assets: { '/': 200, '/style.css': 200, '/js/main.js': 200, '/vendor/elk.bundled.js': 200 },
      });
    }, 60_000);
  });
});
