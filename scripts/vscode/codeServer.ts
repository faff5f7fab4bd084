// Real VS Code for the tests: code-server (VS Code 1.100.3 on Node 20) installed from npm into a git-ignored
// cache folder with steps that work offline, then started on a free loopback port.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { findOnPath } from '../../src/exporters/shared/programs';
import { freePort } from '../lib/freePort';

/** 4.101 and later need Node 22 or 24. */
export const CODE_SERVER_VERSION = '4.100.3';
const ROOT = path.resolve(__dirname, '../../..');
/** Like @vscode/test-electron's `.vscode-test/`: git-ignored, reused from run to run. */
export const CACHE_DIR = path.join(ROOT, '.vscode-test', `code-server-${CODE_SERVER_VERSION}`);
/** Written last: a folder without it is a broken install, removed and redone. */
const COMPLETE_MARK = '.exit-plan-install-complete';

function entryOf(dir: string): string {
  return path.join(dir, 'node_modules/code-server/out/node/entry.js');
}

function run(command: string, args: string[], cwd: string, log: (line: string) => void, env: NodeJS.ProcessEnv = process.env): void {
  log(`  ${path.relative(ROOT, cwd) || '.'}$ ${command} ${args.join(' ')}`);
  const result = spawnSync(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  if (result.error) throw new Error(`Cannot run ${command}: ${result.error.message}`);
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(' ')} failed (exit ${result.status}) in ${cwd}:\n${result.stdout}\n${result.stderr}`.trim());
  }
}

/**
 * The path of code-server's entry.js, installing it first when the cache lacks it. The install happens in
 * a `.partial` folder renamed into place only when every step passed, so an interrupted install is redone.
 */
export function ensureCodeServer(log: (line: string) => void = (line) => process.stderr.write(`${line}\n`)): string {
  const rg = findOnPath('rg');
  if (!rg) throw new Error("code-server needs ripgrep for VS Code's search: install Debian's ripgrep package (apt-get install ripgrep).");
  if (fs.existsSync(path.join(CACHE_DIR, COMPLETE_MARK))) return entryOf(CACHE_DIR);

  const started = Date.now();
  log(`Installing code-server ${CODE_SERVER_VERSION} into ${path.relative(ROOT, CACHE_DIR)} (once; later runs reuse it)…`);
  fs.rmSync(CACHE_DIR, { recursive: true, force: true });
  const partial = `${CACHE_DIR}.partial`;
  fs.rmSync(partial, { recursive: true, force: true });
  fs.mkdirSync(partial, { recursive: true });
  fs.writeFileSync(path.join(partial, 'package.json'), JSON.stringify({ name: 'exit-plan-code-server', private: true }, null, 2));
  const npmFlags = ['--no-audit', '--no-fund', '--loglevel=error'];
  // Scripts off: code-server's postinstall refuses root and a dependency would download ripgrep.
  run('npm', ['install', '--ignore-scripts', ...npmFlags, `code-server@${CODE_SERVER_VERSION}`], partial, log);
  run('npm', ['rebuild', 'argon2', ...npmFlags], partial, log);
  const vscodeDir = path.join(partial, 'node_modules/code-server/lib/vscode');
  run('npm', ['install', '--omit=dev', '--ignore-scripts', ...npmFlags], vscodeDir, log);
  // npm_config_yes: node-pty's post-install runs `npx node-gyp`, which would otherwise wait for a yes.
  run(
    'npm',
    ['rebuild', 'node-pty', '@parcel/watcher', '@vscode/spdlog', 'native-watchdog', '@vscode/deviceid', ...npmFlags],
    vscodeDir,
    log,
    {
      ...process.env,
      npm_config_yes: 'true',
    },
  );
  fs.symlinkSync('node_modules', path.join(vscodeDir, 'node_modules.asar'));
  const rgDir = path.join(vscodeDir, 'node_modules/@vscode/ripgrep/bin');
  fs.mkdirSync(rgDir, { recursive: true });
  fs.rmSync(path.join(rgDir, 'rg'), { force: true });
  fs.symlinkSync(rg, path.join(rgDir, 'rg'));
  run('npm', ['install', '--omit=dev', '--ignore-scripts', ...npmFlags], path.join(vscodeDir, 'extensions'), log);
  fs.writeFileSync(path.join(partial, COMPLETE_MARK), `${new Date().toISOString()}\n`);
  fs.renameSync(partial, CACHE_DIR);
  log(`Installed code-server ${CODE_SERVER_VERSION} in ${((Date.now() - started) / 1000).toFixed(0)} s.`);
  return entryOf(CACHE_DIR);
}

export interface CodeServerOptions {
  /** The folder VS Code opens. */
  folder: string;
  /** User settings written before start (workspace trust is always turned off: its dialog would block tests). */
  settings?: Record<string, unknown>;
  /** Extra environment for code-server and so for the extension host it starts. */
  env?: NodeJS.ProcessEnv;
  /** A packaged extension (.vsix) installed before start, as a user would install it. */
  vsix?: string;
}

export interface RunningCodeServer {
  port: number;
  origin: string;
  userDataDir: string;
  /** The page that opens `folder`, optionally with a `payload` (extension development and test paths). */
  url(payload?: { extensionDevelopmentPath?: string; extensionTestsPath?: string }): string;
  /** code-server's own output so far (for failure messages). */
  output(): string;
  exited(): boolean;
  stop(): Promise<void>;
}

export async function startCodeServer(options: CodeServerOptions): Promise<RunningCodeServer> {
  const entry = ensureCodeServer();
  const port = await freePort();
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'exit-plan-code-server-'));
  const userDataDir = path.join(base, 'user-data');
  const extensionsDir = path.join(base, 'extensions');
  const configFile = path.join(base, 'config.yaml');
  fs.mkdirSync(path.join(userDataDir, 'User'), { recursive: true });
  fs.mkdirSync(extensionsDir, { recursive: true });
  // Without --config, code-server writes one into ~/.config.
  fs.writeFileSync(configFile, 'auth: none\n');
  if (options.vsix) {
    run(
      process.execPath,
      [
        entry,
        '--config',
        configFile,
        '--extensions-dir',
        extensionsDir,
        '--user-data-dir',
        userDataDir,
        '--install-extension',
        options.vsix,
      ],
      base,
      () => undefined,
    );
  }
  fs.writeFileSync(
    path.join(userDataDir, 'User', 'settings.json'),
    JSON.stringify({ 'security.workspace.trust.enabled': false, 'workbench.startupEditor': 'none', ...options.settings }, null, 2),
  );
  const child: ChildProcess = spawn(
    process.execPath,
    [
      entry,
      '--config',
      configFile,
      '--auth',
      'none',
      '--bind-addr',
      `127.0.0.1:${port}`,
      '--user-data-dir',
      userDataDir,
      '--extensions-dir',
      extensionsDir,
      '--disable-telemetry',
      '--disable-update-check',
      '--disable-workspace-trust',
      '--disable-getting-started-override',
      options.folder,
    ],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        ...options.env,
        // Otherwise the VS Code server gives the extension host and terminals the environment of a login shell,
        // whose profile resets PATH; VSCODE_CLI=1 makes it keep the environment given here as it is.
        VSCODE_CLI: '1',
        // The integration suite reads the settings and logs VS Code writes there.
        EXIT_PLAN_VSCODE_USER_DATA: userDataDir,
      },
      detached: true,
    },
  );
  let output = '';
  const keep = (d: Buffer) => {
    output = (output + d.toString()).slice(-200_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const origin = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`code-server exited (${child.exitCode}):\n${output}`);
    try {
      const res = await fetch(`${origin}/healthz`);
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`code-server did not answer within 60 s:\n${output}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  const remote = (p: string) => `vscode-remote://127.0.0.1:${port}${path.resolve(p)}`;
  return {
    port,
    origin,
    userDataDir,
    url(payload) {
      const params = new URLSearchParams({ folder: path.resolve(options.folder) });
      const entries: [string, string][] = [];
      if (payload?.extensionDevelopmentPath) entries.push(['extensionDevelopmentPath', remote(payload.extensionDevelopmentPath)]);
      if (payload?.extensionTestsPath) entries.push(['extensionTestsPath', remote(payload.extensionTestsPath)]);
      if (entries.length > 0) params.set('payload', JSON.stringify(entries));
      return `${origin}/?${params.toString()}`;
    },
    output: () => output,
    exited: () => child.exitCode !== null,
    async stop() {
      if (child.exitCode === null && child.pid) {
        // The whole group: code-server forks the extension host and its watchers.
        const exited = new Promise((r) => child.once('exit', r));
        try {
          process.kill(-child.pid, 'SIGTERM');
        } catch {
          child.kill('SIGTERM');
        }
        const timer = setTimeout(() => {
          try {
            process.kill(-child.pid!, 'SIGKILL');
          } catch {
            // gone
          }
        }, 5_000);
        await exited;
        clearTimeout(timer);
      }
      fs.rmSync(base, { recursive: true, force: true });
    },
  };
}
