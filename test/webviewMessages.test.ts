// What a webview sends is untrusted: each page's guard accepts exactly its message shapes and nothing else.
import * as assert from 'node:assert/strict';
import { isBackupReportMessage, isDatasetsReportMessage, isSasMessage } from '../src/views/webviewMessages';

describe('webview messages', () => {
  it('the backup report accepts ready, addTarget and run with a known action on a named target', () => {
    for (const m of [
      { type: 'ready' },
      { type: 'addTarget' },
      { type: 'run', action: 'backUpNow', target: 'nightly' },
      { type: 'run', action: 'rotate', target: 'x'.repeat(1000) },
    ]) {
      assert.ok(isBackupReportMessage(m), JSON.stringify(m).slice(0, 80));
    }
    for (const m of [
      undefined,
      null,
      'ready',
      {},
      { type: 'run', action: 'delete', target: 'nightly' },
      { type: 'run', action: 'verify' },
      { type: 'run', action: 'verify', target: 42 },
      { type: 'run', action: 'verify', target: 'x'.repeat(1001) },
      { type: 'refresh' },
    ]) {
      assert.equal(isBackupReportMessage(m), false, JSON.stringify(m)?.slice(0, 80));
    }
  });

  it('the datasets report accepts ready, refresh and the three dataset actions with a folder', () => {
    for (const m of [
      { type: 'ready' },
      { type: 'refresh' },
      { type: 'exportNow', dataset: '/data/todoist' },
      { type: 'openLog', dataset: '/data/todoist' },
      { type: 'openConfig', dataset: '/'.repeat(4095) },
    ]) {
      assert.ok(isDatasetsReportMessage(m), JSON.stringify(m).slice(0, 80));
    }
    for (const m of [
      null,
      { type: 'exportNow' },
      { type: 'exportNow', dataset: ['/data/todoist'] },
      { type: 'openLog', dataset: '/'.repeat(4096) },
      { type: 'run', dataset: '/data/todoist' },
      { type: 'addTarget' },
    ]) {
      assert.equal(isDatasetsReportMessage(m), false, JSON.stringify(m)?.slice(0, 80));
    }
  });

  it('the SAS panel accepts only its copy and run targets, shells and destination keys', () => {
    for (const m of [
      { type: 'ready' },
      { type: 'copy', what: 'url' },
      { type: 'copy', what: 's3TwoStep' },
      { type: 'run', what: 'gcs' },
      { type: 'setShell', shell: 'powershell' },
      { type: 'setDestination', key: 'azure', value: '' },
      { type: 'setDestination', key: 's3', value: 'x'.repeat(4096) },
    ]) {
      assert.ok(isSasMessage(m), JSON.stringify(m).slice(0, 80));
    }
    for (const m of [
      { type: 'copy', what: 'password' },
      { type: 'run', what: 'url' },
      { type: 'run', what: 's3TwoStep' },
      { type: 'setShell', shell: 'cmd' },
      { type: 'setDestination', key: 'url', value: 'x' },
      { type: 'setDestination', key: 'local', value: 7 },
      { type: 'setDestination', key: 'local', value: 'x'.repeat(4097) },
      { type: 'expired' },
    ]) {
      assert.equal(isSasMessage(m), false, JSON.stringify(m));
    }
  });
});
