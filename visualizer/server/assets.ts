/**
 * Where the page's files are: the HTML and CSS next to the page's sources
 * (`visualizer/web/`), the compiled page JS (`dist/visualizer/web/`, see
 * `visualizer/web/tsconfig.json`) and elkjs's browser bundle from node_modules. Everything is
 * served from local files: the page needs no network.
 */
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve, sep } from 'node:path';

export interface AssetPaths {
  /** `visualizer/web`: index.html, style.css. */
  staticDir: string;
  /** The compiled page: main.js and its modules. */
  scriptDir: string;
  /** elkjs's `elk.bundled.js`. */
  elkBundle: string;
}

function isPackageRoot(dir: string): boolean {
  try {
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown };
    return pkg.name === 'xrepl' && existsSync(join(dir, 'visualizer', 'web'));
  } catch {
    return false;
  }
}

function findUp(start: string): string | null {
  let dir = resolve(start);
  for (;;) {
    if (isPackageRoot(dir)) return dir;
    const parent = dirname(dir);
    if (parent === dir) return null;
    dir = parent;
  }
}

/** The installed xrepl package as `start` would import it (`node_modules/xrepl`), or null. */
function resolveInstalled(start: string): string | null {
  try {
    const require = createRequire(join(resolve(start), 'noop.js'));
    const root = dirname(require.resolve('xrepl/package.json'));
    return isPackageRoot(root) ? root : null;
  } catch {
    return null;
  }
}

/**
 * The xrepl package directory: found upwards from the running script (`dist/...`, or a
 * checkout) or the current directory, else the xrepl package they import (an application
 * that embeds the visualizer). Works from ESM and CommonJS alike (no `import.meta`).
 */
export function findPackageRoot(): string {
  const starts: string[] = [];
  const script = process.argv[1];
  if (script !== undefined) {
    try {
      starts.push(dirname(realpathSync(script)));
    } catch {
      // not a file (e.g. `node -e`): fall back to the current directory
    }
  }
  starts.push(process.cwd());
  for (const find of [findUp, resolveInstalled]) {
    for (const s of starts) {
      const root = find(s);
      if (root !== null) return root;
    }
  }
  throw new Error(
    `cannot find the xrepl package (looked upwards from ${starts.join(' and ')}); pass { root } to startVisualizer`,
  );
}

/** The asset paths under a package root; `scriptDir` may be overridden (tests build the page elsewhere). */
export function assetPaths(root: string, scriptDir?: string): AssetPaths {
  const require = createRequire(join(root, 'package.json'));
  return {
    staticDir: join(root, 'visualizer', 'web'),
    scriptDir: resolve(scriptDir ?? join(root, 'dist', 'visualizer', 'web')),
    elkBundle: require.resolve('elkjs/lib/elk.bundled.js'),
  };
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

/** Content type by file extension. */
export function contentType(file: string): string {
  const dot = file.lastIndexOf('.');
  return TYPES[dot >= 0 ? file.slice(dot) : ''] ?? 'application/octet-stream';
}

/**
 * The file a URL path maps to, or null: `/` and `/index.html`, `/style.css`,
 * `/vendor/elk.bundled.js`, and `/js/<module>.js` from the compiled page. Paths that would
 * leave their directory are refused.
 */
export function resolveAsset(paths: AssetPaths, urlPath: string): string | null {
  if (urlPath === '/' || urlPath === '/index.html') return join(paths.staticDir, 'index.html');
  if (urlPath === '/style.css') return join(paths.staticDir, 'style.css');
  if (urlPath === '/vendor/elk.bundled.js') return paths.elkBundle;
  if (urlPath.startsWith('/js/')) {
    const rel = decodeURIComponent(urlPath.slice('/js/'.length));
    if (!/^[\w./-]+\.(js|js\.map)$/.test(rel)) return null;
    const file = resolve(paths.scriptDir, rel);
    return file.startsWith(paths.scriptDir + sep) ? file : null;
  }
  return null;
}
