// The one build definition (esbuild) for `npm run build`, `npm run watch` and `npm run package`:
//   node scripts/build.mjs                 development build: sourcemaps (linked), not minified
//   node scripts/build.mjs --production    minified, no sourcemaps (what the .vsix ships)
//   node scripts/build.mjs --watch         development build, rebuilt on every change under src/ and media/,
//                                          one line per rebuild; also `tsc --watch` for out/ (unless --no-tsc)
// Bundles: dist/extension.js (Node, CommonJS), the CLI (dist/cli.js, CommonJS, with its command groups in
// dist/cli/*.mjs, ES modules split into shared chunks: see "The CLI's bundles" in docs/ARCHITECTURE.md) and the
// report webviews dist/webview/*.js.
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

/** The command groups of the CLI: src/cli/run/<group>.ts, each loaded by dist/cli.js only when one of its commands runs. */
const CLI_GROUPS = ['warehouse', 'azure', 'files', 'datasets', 'backups', 'exit'];

/** @type {import('esbuild').BuildOptions} */
const extension = {
  ...common,
  entryPoints: ['src/extension.ts'],
  outdir: 'dist',
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  external: ['vscode', 'pg-native'],
  // Some ESM dependencies (e.g. @azure/storage-common) read import.meta.url, which CommonJS does not have.
  inject: ['scripts/import-meta-url.js'],
  define: { 'import.meta.url': 'importMetaUrl' },
};

/**
 * dist/cli.js, the program that starts for every command: the command tree (src/cli.ts, src/cli/*.ts) and commander.
 * A command's action imports `./run/<group>.js`, which becomes the separate file `./cli/<group>.mjs`. The help quotes
 * limits of the core (MAX_JOBS, SAS_EXPIRY_MAX_MINUTES, …) from the modules that define them; every module is declared
 * free of side effects here, so esbuild keeps only the constants and functions the program uses, not the rest of
 * those modules and what they import (pg, the Azure SDK, TOML). test/cli.loading.test.ts checks what it holds.
 * @type {import('esbuild').BuildOptions}
 */
const cliProgram = {
  ...common,
  entryPoints: ['src/cli.ts'],
  outdir: 'dist',
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  // Resolved (as every import is, before esbuild drops what the program does not use), never bundled.
  external: ['pg-native'],
  plugins: [
    {
      name: 'cli-program',
      setup(build) {
        build.onResolve({ filter: /^\.\/run\/\w+\.js$/ }, (args) => {
          if (path.dirname(args.importer) !== path.join(root, 'src', 'cli')) return undefined;
          return { path: `./cli/${path.basename(args.path, '.js')}.mjs`, external: true };
        });
        build.onResolve({ filter: /.*/ }, async (args) => {
          if (args.pluginData?.resolved) return undefined;
          const { kind, importer, resolveDir } = args;
          const r = await build.resolve(args.path, { kind, importer, resolveDir, pluginData: { resolved: true } });
          if (r.errors.length > 0) return { errors: r.errors };
          return { path: r.path, namespace: r.namespace, external: r.external, suffix: r.suffix, sideEffects: false };
        });
      },
    },
  ],
};

/**
 * dist/cli/<group>.mjs: what each command group does, as ES modules, the one format esbuild splits: code that several
 * groups use (the core's shared modules, pg) is in chunks each loads once, and a dynamic import() (the Azure part of
 * `warehouse export --upload`, the upload in the core) is a chunk of its own, loaded only when it runs.
 * @type {import('esbuild').BuildOptions}
 */
const cliGroups = {
  ...common,
  entryPoints: Object.fromEntries(CLI_GROUPS.map((g) => [`cli/${g}`, `src/cli/run/${g}.ts`])),
  outdir: 'dist',
  outExtension: { '.js': '.mjs' },
  chunkNames: 'cli/[name]-[hash]',
  splitting: true,
  metafile: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  external: ['pg-native'],
  // The CommonJS dependencies inside (pg, tar, …) call require() for Node's modules, which an ES module lacks.
  banner: {
    js: [
      'import { createRequire as __exitPlanCreateRequire } from "node:module";',
      'const require = __exitPlanCreateRequire(import.meta.url);',
    ].join('\n'),
  },
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

/**
 * Prints one line when a build starts and one when it has finished, and each error as esbuild does, which the watch
 * task's problem matcher reads (.vscode/tasks.json). Several esbuild contexts can share one `name` (the extension and
 * the CLI's bundles): then it is one build that starts with the first of them and finishes when all have.
 */
function reporter(name) {
  let running = 0;
  let started = 0;
  let finishing;
  /** This build's errors and warnings as esbuild formats them, each once (contexts that read a broken file all report it). */
  let errors = new Set();
  let warnings = new Set();
  return () => ({
    name: 'report',
    setup(build) {
      build.onStart(() => {
        clearTimeout(finishing);
        if (running === 0 && finishing === undefined) {
          started = Date.now();
          errors = new Set();
          warnings = new Set();
          if (watch) console.log(`[watch] ${name}: build started`);
        }
        finishing = undefined;
        running += 1;
      });
      build.onEnd(async (result) => {
        for (const text of await esbuild.formatMessages(result.errors, { kind: 'error', color: false })) errors.add(text);
        for (const text of await esbuild.formatMessages(result.warnings, { kind: 'warning', color: false })) warnings.add(text);
        running -= 1;
        if (running > 0) return;
        // A change that several contexts read starts them within milliseconds of each other: wait for the others.
        finishing = setTimeout(() => {
          finishing = undefined;
          for (const text of [...errors, ...warnings]) process.stderr.write(text);
          const outcome = errors.size === 0 ? 'ok' : `${errors.size} error${errors.size === 1 ? '' : 's'}`;
          if (watch) console.log(`[watch] ${name}: build finished, ${outcome} (${Date.now() - started} ms)`);
        }, 50);
      });
    },
  });
}

/** After each build of the CLI's groups, removes chunks (and their sourcemaps) of earlier builds from dist/cli/. */
function removeStaleChunks() {
  return {
    name: 'stale-chunks',
    setup(build) {
      build.onEnd((result) => {
        if (!result.metafile) return;
        const written = new Set(Object.keys(result.metafile.outputs).map((f) => path.resolve(root, f)));
        const dir = path.join(root, 'dist', 'cli');
        if (!fs.existsSync(dir)) return;
        for (const name of fs.readdirSync(dir)) {
          const file = path.join(dir, name);
          if (!written.has(file.replace(/\.map$/, ''))) fs.rmSync(file, { force: true });
        }
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
  const node = reporter('extension+cli');
  const contexts = await Promise.all([
    esbuild.context({ ...extension, plugins: [node()] }),
    esbuild.context({ ...cliProgram, plugins: [...cliProgram.plugins, node()] }),
    esbuild.context({ ...cliGroups, plugins: [removeStaleChunks(), node()] }),
    esbuild.context({ ...webview, plugins: [reporter('webviews')()] }),
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
