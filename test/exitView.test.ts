// The exit report's page is untrusted like every webview: its guard accepts exactly its four messages.
import * as assert from 'node:assert/strict';
import { isExitReportMessage } from '../src/views/webviewMessages';

describe('exit report messages', () => {
  it('accepts ready, refresh, revealFolder and openMarkdown, and nothing else', () => {
    for (const m of [{ type: 'ready' }, { type: 'refresh' }, { type: 'revealFolder' }, { type: 'openMarkdown' }]) {
      assert.ok(isExitReportMessage(m), JSON.stringify(m));
    }
    for (const m of [undefined, null, 'ready', {}, { type: 'run' }, { type: 'openFile', file: '/etc/passwd' }, { type: ['ready'] }]) {
      assert.ok(!isExitReportMessage(m), JSON.stringify(m) ?? String(m));
    }
  });
});
