// `npm run vscode:install`: puts code-server (real VS Code) into the git-ignored cache, or says it is there.
// The test runners call the same function, so this is only needed to warm a machine ahead of time.
import { CACHE_DIR, ensureCodeServer } from './codeServer';

try {
  const entry = ensureCodeServer();
  process.stdout.write(`code-server is ready in ${CACHE_DIR} (${entry}).\n`);
} catch (err) {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
