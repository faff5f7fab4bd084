// The one build definition (esbuild) for `npm run build`, `npm run watch` and `npm run package`:
//   node scripts/build.mjs                 development build: sourcemaps (linked), not minified
//   node scripts/build.mjs --production    minified, no sourcemaps (what the .vsix ships)
//   node scripts/build.mjs --watch         development build, rebuilt on every change under src/ and media/,
//                                          one line per rebuild; also `tsc --watch` for out/ (unless --no-tsc)
// Bundles: dist/extension.js and dist/cli.js (Node, CommonJS) and the report webviews dist/webview/*.js.
import * as esbuild from 'esbuild';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = new Set(process.argv.slice(2));
const unknown = [...args].filter((a) => !['--production', '--watch', '--no-tsc'].includes(a));
if (unknown.length > 0) {
  console.error(`build.mjs: unknown option ${unknown.join(' ')} (use --production, --watch, --no-tsc)`);
  process.exit(2);
}
const production = args.has('--production');
const watch = args.has('--watch');

/** Options both kinds of bundle share. */
const common = {
  absWorkingDir: root,
  bundle: true,
  minify: production,
  sourcemap: production ? false : 'linked',
  logLevel: 'silent',
};

/** @type {import('esbuild').BuildOptions} */
const node = {
  ...common,
  entryPoints: ['src/extension.ts', 'src/cli.ts'],
  outdir: 'dist',
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  external: ['vscode', 'pg-native'],
  // Some ESM dependencies (e.g. @azure/storage-common) read import.meta.url, which CommonJS does not have.
  inject: ['scripts/import-meta-url.js'],
  define: { 'import.meta.url': 'importMetaUrl' },
};

/** @type {import('esbuild').BuildOptions} */
const webview = {
  ...common,
  entryPoints: ['media/datasetsReport.js', 'media/backupReport.js', 'media/exitReport.js'],
  outdir: 'dist/webview',
  platform: 'browser',
  target: 'es2020',
  format: 'iife',
};

/** Prints one line per build and each error as esbuild does, which the watch task's problem matcher reads. */
function reporter(name) {
  return {
    name: 'report',
    setup(build) {
      let started = 0;
      build.onStart(() => {
        started = Date.now();
        if (watch) console.log(`[watch] ${name}: build started`);
      });
      build.onEnd(async (result) => {
        for (const text of await esbuild.formatMessages(result.errors, { kind: 'error', color: false })) process.stderr.write(text);
        for (const text of await esbuild.formatMessages(result.warnings, { kind: 'warning', color: false })) process.stderr.write(text);
        const errors = result.errors.length;
        const outcome = errors === 0 ? 'ok' : `${errors} error${errors === 1 ? '' : 's'}`;
        if (watch) console.log(`[watch] ${name}: build finished, ${outcome} (${Date.now() - started} ms)`);
      });
    },
  };
}

/** A production build leaves no sourcemap of an earlier development build behind. */
function removeMaps(dir) {
  if (!fs.existsSync(dir)) return;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) removeMaps(file);
    else if (entry.name.endsWith('.map')) fs.rmSync(file);
  }
}

async function main() {
  const contexts = await Promise.all([
    esbuild.context({ ...node, plugins: [reporter('extension+cli')] }),
    esbuild.context({ ...webview, plugins: [reporter('webviews')] }),
  ]);
  if (!watch) {
    if (production) removeMaps(path.join(root, 'dist'));
    const results = await Promise.allSettled(contexts.map((c) => c.rebuild()));
    await Promise.all(contexts.map((c) => c.dispose()));
    return results.some((r) => r.status === 'rejected') ? 1 : 0;
  }
  // esbuild watches every file a bundle reads (src/, media/, the dependencies) and rebuilds on change.
  await Promise.all(contexts.map((c) => c.watch()));
  const children = [];
  if (!args.has('--no-tsc')) {
    const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    children.push(spawn(process.execPath, [tsc, '-p', '.', '--watch', '--preserveWatchOutput'], { cwd: root, stdio: 'inherit' }));
  }
  const stop = async () => {
    for (const child of children) child.kill();
    await Promise.all(contexts.map((c) => c.dispose()));
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  return undefined;
}

main().then(
  (code) => {
    if (code !== undefined) process.exitCode = code;
  },
  (err) => {
    console.error(err instanceof Error ? err.message : String(err));
    process.exit(1);
  },
);
