// @ts-check
// The exit report's page: one run folder of an exit plan, sent by the extension as `render`. A bar per part for
// its size (plain elements, no chart library), a table of parts, failures with their sentence, and what the plan
// deliberately leaves out. Bundled by esbuild into dist/webview/ with the core's formatBytes. Message shapes:
// src/views/webviewMessages.ts.
import { formatBytes } from '../src/exporters/shared/format';
import './reportButtons.css';
import './exitReport.css';

/** @typedef {import('../src/views/webviewMessages').ExitReportToWebview} ExitToWebview */
/** @typedef {import('../src/views/webviewMessages').ExitReportFromWebview} ExitFromWebview */
/** @typedef {import('../src/views/webviewMessages').ExitReportView} ExitReportViewData */

(function () {
  'use strict';
  const vscode = acquireVsCodeApi();

  /** @param {string} id */
  const byId = (id) => /** @type {HTMLElement} */ (document.getElementById(id));

  /** @param {ExitFromWebview} message */
  function send(message) {
    vscode.postMessage(message);
  }

  /**
   * @param {string} tag
   * @param {string} [text]
   * @param {string} [className]
   */
  function el(tag, text, className) {
    const node = document.createElement(tag);
    if (text !== undefined) node.textContent = text;
    if (className) node.className = className;
    return node;
  }

  /** @param {number} ms */
  function formatDuration(ms) {
    if (ms < 1000) return `${Math.round(ms)} ms`;
    const s = Math.round(ms / 1000);
    if (s < 60) return `${s} s`;
    const m = Math.floor(s / 60);
    return m < 60 ? `${m} min ${s % 60} s` : `${Math.floor(m / 60)} h ${m % 60} min`;
  }

  /** @param {ExitReportViewData} report */
  function render(report) {
    byId('run').textContent = `${report.run} · ${report.folder}`;
    const total = report.parts.reduce((sum, p) => sum + p.bytes, 0);
    const state = !report.complete
      ? 'This run is unfinished: running the plan again continues it.'
      : report.failures.length > 0
        ? `${report.failures.length} of ${report.parts.length + report.failures.length} parts failed.`
        : 'Every part was verified.';
    byId('summary').textContent = `${state} ${report.parts.length} verified, ${formatBytes(total)} in all.`;
    byId('summary').className = `summary ${report.complete && report.failures.length === 0 ? 'ok' : 'warn'}`;

    const failures = byId('failureList');
    failures.replaceChildren(
      ...report.failures.map((f) => {
        const li = el('li');
        li.append(el('strong', f.name), document.createTextNode(`${f.kind ? ` (${f.kind})` : ''}: ${f.error}`));
        return li;
      }),
    );
    byId('failures').hidden = report.failures.length === 0;

    const max = Math.max(1, ...report.parts.map((p) => p.bytes));
    const chart = byId('chart');
    chart.replaceChildren(
      ...report.parts.map((p) => {
        const row = el('div', undefined, 'bar-row');
        const bar = el('div', undefined, 'bar');
        // The width is set as a property, not a style attribute: the CSP allows no inline styles.
        bar.style.width = `${Math.max(0.5, (p.bytes / max) * 100)}%`;
        const track = el('div', undefined, 'track');
        track.append(bar);
        row.append(el('span', p.name, 'bar-label'), track, el('span', formatBytes(p.bytes), 'bar-value'));
        return row;
      }),
    );
    if (report.parts.length === 0) chart.append(el('p', 'No verified part yet.', 'muted'));

    const rows = [
      ...report.parts.map((p) => {
        const tr = el('tr');
        const notes = p.notes.length > 0 ? ` ${p.notes.join(' ')}` : '';
        tr.append(
          el('td', p.name),
          el('td', p.kind),
          el('td', 'verified', 'verified'),
          el('td', String(p.files), 'num'),
          el('td', formatBytes(p.bytes), 'num'),
          el('td', p.verification + notes),
          el('td', formatDuration(p.durationMs), 'num'),
        );
        return tr;
      }),
      ...report.failures.map((f) => {
        const tr = el('tr');
        const cells = [
          el('td', f.name),
          el('td', f.kind ?? ''),
          el('td', 'failed', 'failed'),
          el('td'),
          el('td'),
          el('td', f.error),
          el('td'),
        ];
        tr.append(...cells);
        return tr;
      }),
      ...report.missing.map((name) => {
        const tr = el('tr');
        tr.append(el('td', name), el('td', ''), el('td', 'not run yet', 'muted'), el('td'), el('td'), el('td'), el('td'));
        return tr;
      }),
    ];
    byId('parts').replaceChildren(...rows);

    const notIncluded = byId('notIncluded');
    notIncluded.replaceChildren(...report.notIncluded.map((text) => el('li', text)));
    if (report.notIncluded.length === 0) notIncluded.append(el('li', 'Nothing is listed in not_included.', 'muted'));
  }

  window.addEventListener('message', (event) => {
    const message = /** @type {ExitToWebview} */ (event.data);
    if (message.type === 'render') render(message.report);
  });
  byId('reveal').addEventListener('click', () => send({ type: 'revealFolder' }));
  byId('markdown').addEventListener('click', () => send({ type: 'openMarkdown' }));
  byId('refresh').addEventListener('click', () => send({ type: 'refresh' }));
  send({ type: 'ready' });
})();
