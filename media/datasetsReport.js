// @ts-check
// The datasets report page: warnings, newest successes, metrics now / ~7 / ~180 days before, and a uPlot chart
// per metric over time, in the theme's colours. Bundled with uPlot by esbuild into dist/webview/.
// Message shapes: src/views/webviewMessages.ts. All text goes in through textContent, never as HTML.
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { formatBytes } from '../src/exporters/shared/format';
import { timeAxisRange } from '../src/exporters/datasets/chart';
import './reportButtons.css';
import './datasetsReport.css';

/** @typedef {import('../src/views/webviewMessages').DatasetsReportToWebview} ToWebview */
/** @typedef {import('../src/views/webviewMessages').DatasetsReportFromWebview} FromWebview */
/** @typedef {import('../src/views/webviewMessages').DatasetView} DatasetView */

(function () {
  'use strict';
  const vscode = acquireVsCodeApi();
  const CHART_HEIGHT = 160;

  const summary = /** @type {HTMLElement} */ (document.getElementById('summary'));
  const problemsList = /** @type {HTMLElement} */ (document.getElementById('problems'));
  const main = /** @type {HTMLElement} */ (document.getElementById('datasets'));
  const generated = /** @type {HTMLElement} */ (document.getElementById('generated'));

  /** Charts on the page: their uPlot, the element they live in, and how to rebuild them (theme change). */
  /** @type {Map<HTMLElement, { plot: uPlot | undefined, build: () => uPlot }>} */
  const charts = new Map();
  /** Which datasets the user opened or closed, kept across refreshes. */
  /** @type {Map<string, boolean>} */
  const open = new Map();

  /** @param {FromWebview} message */
  function send(message) {
    vscode.postMessage(message);
  }

  /**
   * @param {string} tag
   * @param {{ className?: string, text?: string }} [props]
   * @param {(Node | string)[]} [children]
   */
  function el(tag, props = {}, children = []) {
    const node = document.createElement(tag);
    if (props.className) node.className = props.className;
    if (props.text !== undefined) node.textContent = props.text;
    for (const child of children) node.append(child);
    return node;
  }

  /** @param {string} name @param {string} fallback */
  function themeColor(name, fallback) {
    const value = getComputedStyle(document.body).getPropertyValue(name).trim();
    return value || fallback;
  }

  /** @param {string} column @param {number | null} v */
  function formatValue(column, v) {
    if (v === null || v === undefined) return '—';
    return column === 'bytes' ? formatBytes(v) : v.toLocaleString();
  }

  /** @param {string} iso */
  function when(iso) {
    return new Date(iso).toLocaleString();
  }

  /**
   * One chart: the metric over time. Successes are a line; failed parcels that left data are red points.
   * @param {HTMLElement} box
   * @param {string} column
   * @param {{ times: number[], success: boolean[], values: Record<string, (number | null)[]> }} history
   */
  function buildChart(box, column, history) {
    const values = history.values[column] ?? [];
    const ok = values.map((v, i) => (history.success[i] ? v : null));
    const failed = values.map((v, i) => (history.success[i] ? null : v));
    const fg = themeColor('--vscode-descriptionForeground', '#888');
    const grid = themeColor('--vscode-editorWidget-border', themeColor('--vscode-panel-border', 'rgba(128,128,128,0.3)'));
    const line = themeColor('--vscode-charts-blue', '#3794ff');
    const bad = themeColor('--vscode-charts-red', '#f14c4c');
    const axis = {
      stroke: fg,
      grid: { stroke: grid, width: 1 },
      ticks: { stroke: grid, width: 1 },
      font: `11px ${themeColor('--vscode-font-family', 'sans-serif')}`,
    };
    const many = history.times.length > 60;
    /** @type {uPlot.Options} */
    const opts = {
      width: Math.max(200, box.clientWidth),
      height: CHART_HEIGHT,
      cursor: { drag: { x: true, y: false } },
      scales: { x: { time: true, range: (_u, min, max) => timeAxisRange(min, max) } },
      legend: { show: true },
      axes: [axis, { ...axis, size: 70, values: (_u, ticks) => ticks.map((t) => formatValue(column, t)) }],
      series: [
        { value: (_u, t) => (t === null ? '—' : new Date(t * 1000).toLocaleString()) },
        { label: column, stroke: line, width: 1.5, points: { show: !many, size: 5, fill: line }, value: (_u, v) => formatValue(column, v) },
        {
          label: 'failed',
          stroke: bad,
          width: 0,
          paths: () => null,
          points: { show: true, size: 6, fill: bad, stroke: bad },
          value: (_u, v) => formatValue(column, v),
        },
      ],
    };
    return new uPlot(opts, [history.times, ok, failed], box);
  }

  /** Builds charts as they scroll into view: 200 datasets × a few metrics would be slow all at once. */
  const visible = new IntersectionObserver(
    (entries) => {
      for (const entry of entries) {
        if (!entry.isIntersecting) continue;
        const target = /** @type {HTMLElement} */ (entry.target);
        const chart = charts.get(target);
        if (chart && !chart.plot) chart.plot = chart.build();
        visible.unobserve(target);
      }
    },
    { rootMargin: '200px' },
  );

  function destroyCharts() {
    for (const [box, chart] of charts) {
      chart.plot?.destroy();
      visible.unobserve(box);
    }
    charts.clear();
  }

  /** @param {DatasetView} d */
  function badges(d) {
    const list = [];
    if (d.state === 'running') list.push(el('span', { className: 'badge running', text: 'exporting…' }));
    if (d.state === 'error') list.push(el('span', { className: 'badge error', text: 'config error' }));
    if (d.state === 'failing')
      list.push(el('span', { className: 'badge failing', text: d.overdue ? 'failing (also overdue)' : 'failing' }));
    if (d.state === 'overdue') list.push(el('span', { className: 'badge overdue', text: 'overdue' }));
    if (d.state === 'neverRun') list.push(el('span', { className: 'badge never', text: 'never run' }));
    if (d.warnings.some((w) => w.kind === 'shrank')) list.push(el('span', { className: 'badge shrank', text: 'shrank' }));
    return list;
  }

  /** @param {DatasetView} d */
  function metricsTable(d) {
    if (d.highlights.length === 0) return el('p', { className: 'muted', text: 'No successful parcel recorded in metrics.csv yet.' });
    const dropped = new Set(d.warnings.filter((w) => w.kind === 'shrank').map((w) => w.message));
    const head = el('tr', {}, [
      el('th', { text: 'metric' }),
      ...d.highlights.map((h) => el('th', { text: h.daysAgo === 0 ? `newest (${h.parcelId})` : `${h.daysAgo} days ago (${h.parcelId})` })),
    ]);
    const rows = d.columns.map((c) => {
      const cells = d.highlights.map((h, i) => {
        const raw = h.values[c] ?? '';
        const n = Number(raw);
        const text = raw === '' ? '—' : c === 'bytes' && raw !== 'ERROR' && Number.isFinite(n) ? `${formatBytes(n)}` : raw;
        const td = el('td', { text });
        if (i === 0 && [...dropped].some((m) => m.includes(`: ${c} shrank by`))) td.className = 'dropped';
        return td;
      });
      return el('tr', {}, [el('td', { text: c }), ...cells]);
    });
    return el('table', { className: 'metrics' }, [el('thead', {}, [head]), el('tbody', {}, rows)]);
  }

  /** @param {DatasetView} d */
  function datasetSection(d) {
    const attention = Boolean(d.error || d.failing || d.overdue || d.warnings.length > 0);
    const details = /** @type {HTMLDetailsElement} */ (el('details', { className: `dataset${attention ? ' attention' : ''}` }));
    details.open = open.get(d.path) ?? attention;
    const last =
      d.state === 'neverRun'
        ? ''
        : d.lastSuccess
          ? `last success ${d.lastSuccessAgo ?? d.lastSuccess}${d.lastSuccessGone ? ' (gone)' : ''}`
          : 'no success yet';
    details.append(el('summary', {}, [el('h2', { text: d.name }), el('span', { className: 'muted', text: last }), ...badges(d)]));

    const facts = el('dl', { className: 'facts' });
    const fact = (/** @type {string} */ k, /** @type {string} */ v) => facts.append(el('dt', { text: k }), el('dd', { text: v }));
    fact('Folder', d.path);
    if (d.lastSuccess) fact('Last success', `${d.lastSuccess}${d.lastSuccessAgo ? ` (${d.lastSuccessAgo})` : ''}`);
    fact('Interval', d.interval ?? 'none (never due)');
    fact('Next due', d.nextDue ? when(d.nextDue) : '—');
    fact('Keep', d.keep !== undefined ? `${d.keep} newest complete parcels` : 'all');
    fact('Shrink alert', `more than ${Math.round(d.shrinkAlert * 100)} % smaller than the previous success`);
    details.append(facts);

    if (d.warnings.length > 0) {
      details.append(
        el(
          'ul',
          { className: 'warnings' },
          d.warnings.map((w) =>
            el('li', { className: w.kind === 'failing' || w.kind === 'config' ? 'error' : 'warning', text: w.message }),
          ),
        ),
      );
    }
    const button = (/** @type {string} */ label, /** @type {'exportNow' | 'openLog' | 'openConfig'} */ type, secondary = true) => {
      const b = el('button', { className: secondary ? 'secondary' : '', text: label });
      b.addEventListener('click', () => send({ type, dataset: d.path }));
      return b;
    };
    // Why it fails, where the failure is reported: the last line of the failed parcel's log, its log beside it.
    if (d.lastError) {
      details.append(
        el('div', { className: 'last-error' }, [
          el('div', {}, [
            el('span', { className: 'label', text: `Last error (${d.lastError.parcelId}):` }),
            el('code', { text: d.lastError.line ?? 'the log is empty' }),
          ]),
          button('Open Dataset Log', 'openLog'),
        ]),
      );
    }
    details.append(
      el('div', { className: 'actions' }, [
        button('Export Dataset Now', 'exportNow', false),
        ...(d.lastError ? [] : [button('Open Dataset Log', 'openLog')]),
        button('Open config.toml', 'openConfig'),
      ]),
    );
    details.append(metricsTable(d));

    const grid = el('div', { className: 'charts' });
    for (const column of d.columns) {
      const box = el('div', { className: 'chart' });
      grid.append(el('div', {}, [el('h3', { text: column }), box]));
      if (!(d.history.values[column] ?? []).some((v) => v !== null)) {
        box.append(el('p', { className: 'empty', text: 'No numeric values yet.' }));
        continue;
      }
      charts.set(box, { plot: undefined, build: () => buildChart(box, column, d.history) });
      if (details.open) visible.observe(box);
    }
    details.addEventListener('toggle', () => {
      open.set(d.path, details.open);
      if (!details.open) return;
      for (const box of grid.querySelectorAll('.chart')) {
        const chart = charts.get(/** @type {HTMLElement} */ (box));
        if (chart && !chart.plot) visible.observe(/** @type {HTMLElement} */ (box));
      }
    });
    details.append(grid);
    return details;
  }

  /** @param {Extract<ToWebview, { type: 'render' }>} message */
  function render(message) {
    destroyCharts();
    document.documentElement.classList.remove('busy');
    generated.textContent = `as of ${when(message.generatedAt)}`;
    const all = message.datasets;
    summary.textContent =
      message.roots === 0
        ? 'No dataset folders yet: run Exit Plan: Add Dataset Folder…, or Create Dataset.'
        : `${message.summary}. ` +
          `Alerts when a metric drops by more than ${Math.round(message.shrinkAlert * 100)} % (unless a dataset sets shrink_alert).`;
    // Each warning once: a dataset's warnings are in its section (open when it needs attention); only the
    // folders' own problems are listed here.
    problemsList.replaceChildren(...message.problems.map((p) => el('li', { className: 'error', text: p })));
    main.replaceChildren(...all.map(datasetSection));
  }

  document.getElementById('refresh')?.addEventListener('click', () => {
    document.documentElement.classList.add('busy');
    send({ type: 'refresh' });
  });

  // Theme change: VS Code swaps the body's theme classes; charts are redrawn with the new colours.
  const themeKey = () =>
    `${[...document.body.classList].filter((c) => c.startsWith('vscode-')).join(' ')} ${document.body.dataset.vscodeThemeId ?? ''}`;
  let theme = themeKey();
  new MutationObserver(() => {
    if (themeKey() === theme) return;
    theme = themeKey();
    for (const [box, chart] of charts) {
      if (!chart.plot) continue;
      chart.plot.destroy();
      box.replaceChildren();
      chart.plot = chart.build();
    }
  }).observe(document.body, { attributes: true, attributeFilter: ['class', 'data-vscode-theme-id'] });

  new ResizeObserver(() => {
    for (const [box, chart] of charts) chart.plot?.setSize({ width: Math.max(200, box.clientWidth), height: CHART_HEIGHT });
  }).observe(main);

  window.addEventListener('message', (/** @type {MessageEvent<ToWebview>} */ event) => {
    const message = event.data;
    if (message?.type === 'render') render(message);
    if (message?.type === 'busy') document.documentElement.classList.toggle('busy', message.busy);
  });

  send({ type: 'ready' });
})();
