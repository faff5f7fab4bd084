// @ts-check
// The sidebar backup report: per target, the last backup and its age against the schedule, the last
// successful restore drill, total size with a uPlot chart of backup sizes over time, what rotation would
// remove next, and buttons that run the extension's commands. Bundled with uPlot by esbuild into
// dist/webview/. Message shapes: src/views/webviewMessages.ts. All text goes in through textContent.
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { formatAgo, formatBytes } from '../src/exporters/shared/format';
import './backupReport.css';

/** @typedef {import('../src/views/webviewMessages').BackupReportToWebview} ToWebview */
/** @typedef {import('../src/views/webviewMessages').BackupReportFromWebview} FromWebview */
/** @typedef {import('../src/views/webviewMessages').BackupTargetView} TargetView */
/** @typedef {import('../src/views/webviewMessages').ReportAction} ReportAction */
/** @typedef {{ closed?: string[] }} State */

(function () {
  'use strict';
  const vscode = /** @type {VsCodeWebviewApi<State>} */ (acquireVsCodeApi());
  const CHART_HEIGHT = 110;
  const SERIES_COLOURS = [
    '--vscode-charts-blue',
    '--vscode-charts-purple',
    '--vscode-charts-green',
    '--vscode-charts-orange',
    '--vscode-charts-yellow',
  ];

  const main = /** @type {HTMLElement} */ (document.getElementById('targets'));
  const emptyTemplate = /** @type {HTMLTemplateElement} */ (document.getElementById('empty'));
  /** @type {ToWebview | undefined} */
  let last;
  /** @type {{ plot: uPlot, el: HTMLElement }[]} */
  let plots = [];
  /** Targets whose details the user closed, kept across renders. */
  const closed = new Set(vscode.getState()?.closed ?? []);

  /** @param {FromWebview} message */
  function send(message) {
    vscode.postMessage(message);
  }

  /** @param {string} name @param {string} fallback */
  function themeColor(name, fallback) {
    const value = getComputedStyle(document.body).getPropertyValue(name).trim();
    return value || fallback;
  }

  /** @param {string} iso */
  function when(iso) {
    return new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
  }

  /**
   * @param {string} tag
   * @param {string} [className]
   * @param {string} [text]
   */
  function el(tag, className, text) {
    const e = document.createElement(tag);
    if (className) e.className = className;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  /** @param {HTMLElement} dl @param {string} label @param {string | HTMLElement} value @param {string} [className] */
  function fact(dl, label, value, className) {
    dl.append(el('dt', undefined, label));
    const dd = el('dd', className);
    if (typeof value === 'string') dd.textContent = value;
    else dd.append(value);
    dl.append(dd);
  }

  /** @param {string} label @param {ReportAction} action @param {string} target @param {boolean} disabled @param {string} [title] */
  function button(label, action, target, disabled, title) {
    const b = /** @type {HTMLButtonElement} */ (el('button', action === 'backUpNow' ? '' : 'secondary', label));
    b.type = 'button';
    b.dataset.action = action;
    b.dataset.target = target;
    b.disabled = disabled;
    if (title) b.title = title;
    return b;
  }

  /** A canvas to measure axis labels with, in CSS pixels. */
  const measure = /** @type {CanvasRenderingContext2D} */ (document.createElement('canvas').getContext('2d'));
  const TICK = 4;
  const GAP = 4;

  /**
   * The y axis's room: its ticks and gap plus its widest label at the axis font, measured on every call (the
   * labels change while uPlot settles the scale), so that "1.5 MB" or "100 MB" is never cut at the left edge.
   * @param {string} font
   * @returns {(u: uPlot, values: string[]) => number}
   */
  function axisSize(font) {
    return (_u, values) => {
      measure.font = font;
      const widest = (values || []).reduce((w, v) => Math.max(w, measure.measureText(v).width), 0);
      return Math.ceil(TICK + GAP + widest + 6);
    };
  }

  /**
   * Time axis labels on one line (uPlot's own put the year on a second line, cut off in a short chart): times of
   * day when the chart spans up to two days, else dates, with the year once it spans most of a year.
   * @param {uPlot} u @param {number[]} splits
   */
  function timeLabels(u, splits) {
    const span = /** @type {number} */ (u.scales.x.max) - /** @type {number} */ (u.scales.x.min);
    /** @type {Intl.DateTimeFormatOptions} */
    const format =
      span <= 2 * 86400
        ? { hour: '2-digit', minute: '2-digit' }
        : span <= 300 * 86400
          ? { month: 'short', day: 'numeric' }
          : { month: 'short', year: 'numeric' };
    return splits.map((t) => new Date(t * 1000).toLocaleString(undefined, format));
  }

  /**
   * The time scale fits the backups: their first to last time with a little room, at least an hour either side
   * (a single backup, or several in one hour, would otherwise get an axis spanning years).
   * @param {uPlot} _u @param {number} min @param {number} max
   * @returns {[number, number]}
   */
  function timeRange(_u, min, max) {
    const pad = Math.max((max - min) * 0.05, 3600);
    return [min - pad, max + pad];
  }

  /** A uPlot chart of backup sizes over time, one line per database / folder, in the theme's colours. */
  /** @param {HTMLElement} host @param {{ label: string, points: [number, number][] }[]} series */
  function chart(host, series) {
    const xs = [...new Set(series.flatMap((s) => s.points.map((p) => p[0])))].sort((a, b) => a - b);
    const index = new Map(xs.map((x, i) => [x, i]));
    /** @type {(number | null)[][]} */
    const ys = series.map((s) => {
      const row = /** @type {(number | null)[]} */ (xs.map(() => null));
      for (const [x, bytes] of s.points) row[/** @type {number} */ (index.get(x))] = bytes / 1e6;
      return row;
    });
    const fg = themeColor('--vscode-descriptionForeground', '#888');
    const grid = themeColor('--vscode-editorWidget-border', themeColor('--vscode-panel-border', 'rgba(128,128,128,0.3)'));
    const font = `10px ${themeColor('--vscode-font-family', 'sans-serif')}`;
    const width = Math.max(160, host.clientWidth || 240);
    /** @type {uPlot.Options} */
    const opts = {
      width,
      height: CHART_HEIGHT,
      // Names only (no live values): at sidebar widths values would break the legend into fragments.
      legend: { show: series.length > 1, live: false },
      cursor: { points: { size: 5 } },
      scales: { x: { time: true, range: timeRange } },
      axes: [
        {
          stroke: fg,
          grid: { stroke: grid, width: 1 },
          ticks: { stroke: grid, size: TICK },
          gap: GAP,
          font,
          size: 24,
          space: 60,
          values: timeLabels,
        },
        {
          stroke: fg,
          grid: { stroke: grid, width: 1 },
          ticks: { stroke: grid, size: TICK },
          gap: GAP,
          font,
          size: axisSize(font),
          values: (/** @type {uPlot} */ _u, /** @type {number[]} */ v) => v.map((n) => `${n < 10 ? n.toFixed(1) : Math.round(n)} MB`),
        },
      ],
      series: [
        {},
        ...series.map((s, i) => ({
          label: s.label,
          stroke: themeColor(SERIES_COLOURS[i % SERIES_COLOURS.length], '#3794ff'),
          width: 1.5,
          spanGaps: true,
          points: { show: xs.length <= 40, size: 4 },
          value: (/** @type {uPlot} */ _u, /** @type {number | null} */ v) => (v === null ? '—' : formatBytes(v * 1e6)),
        })),
      ],
    };
    const plot = new uPlot(opts, /** @type {uPlot.AlignedData} */ ([xs, ...ys]), host);
    plots.push({ plot, el: host });
  }

  /** @param {TargetView} t */
  function targetCard(t) {
    const details = /** @type {HTMLDetailsElement} */ (el('details', 'target'));
    details.open = !closed.has(t.name);
    details.addEventListener('toggle', () => {
      if (details.open) closed.delete(t.name);
      else closed.add(t.name);
      vscode.setState({ closed: [...closed] });
      if (details.open) {
        for (const p of plots) if (details.contains(p.el)) p.plot.setSize({ width: Math.max(160, p.el.clientWidth), height: CHART_HEIGHT });
      }
    });
    const summary = el('summary');
    summary.append(el('span', 'name', t.name));
    const overdue = t.schedule && t.schedule.overdue;
    const pending = t.schedule && t.schedule.firstPending && t.count === 0;
    const status = t.busy
      ? t.busy
      : overdue
        ? 'overdue'
        : t.counts.failed > 0
          ? `${t.counts.failed} failed`
          : pending
            ? 'first backup pending'
            : '';
    if (status) summary.append(el('span', `badge${overdue || t.counts.failed > 0 ? ' warn' : ''}`, status));
    details.append(summary);

    for (const p of t.problems) details.append(el('p', 'problem', p));

    const dl = el('dl', 'facts');
    if (t.lastBackup) {
      const value = el('span', overdue ? 'warn' : '', formatAgo(Date.now() - Date.parse(t.lastBackup.at)));
      value.title = `${t.lastBackup.name}\n${when(t.lastBackup.at)}, ${formatBytes(t.lastBackup.bytes)}, ${t.lastBackup.state}`;
      fact(dl, 'Last backup', value);
    } else {
      fact(dl, 'Last backup', pending ? 'none yet (first backup pending)' : 'none yet', overdue ? 'warn' : '');
    }
    // With several sources (Kobo's postgres, mongo and media), each one's newest: a source that stopped shows.
    const groups = t.groups ?? [];
    if (groups.length > 1) {
      for (const g of groups) {
        const value = el(
          'span',
          g.newest.state === 'failed' ? 'warn' : '',
          `${formatAgo(Date.now() - Date.parse(g.newest.at))}, ${g.newest.state}`,
        );
        value.title = `${g.newest.name}\n${when(g.newest.at)}; ${g.count} backup${g.count === 1 ? '' : 's'}`;
        fact(dl, g.label, value);
      }
    }
    if (t.schedule) {
      const s = t.schedule;
      const plain = s.words === s.expression ? s.expression : `${s.words} (${s.expression})`;
      const text = overdue
        ? `overdue: due ${s.previous ? when(s.previous) : ''}, ${plain}`
        : `${plain}${s.next ? `, ${pending ? 'first' : 'next'} ${when(s.next)}` : ''}`;
      fact(dl, 'Schedule', text, overdue ? 'warn' : '');
    } else {
      fact(dl, 'Schedule', 'none (Back Up Now, or cron)');
    }
    if (t.lastSuccessfulDrill) fact(dl, 'Last good drill', formatAgo(Date.now() - Date.parse(t.lastSuccessfulDrill.at)));
    else fact(dl, 'Last good drill', t.canDrill ? 'never' : '—', t.canDrill ? 'warn' : '');
    if (t.lastDrill && !t.lastDrill.ok) fact(dl, 'Last drill', t.lastDrill.message, 'warn');
    fact(dl, 'Total', `${formatBytes(t.totalBytes)} in ${t.count} backup${t.count === 1 ? '' : 's'} (${t.counts.verified} verified)`);
    details.append(dl);

    if (t.series.some((s) => s.points.length > 0)) {
      const host = el('div', 'chart');
      host.setAttribute('role', 'img');
      host.setAttribute('aria-label', `Backup sizes over time for ${t.name}`);
      details.append(host);
      requestAnimationFrame(() => chart(host, t.series));
    }

    const rotation = el('section', 'rotation');
    rotation.append(el('h3', undefined, 'Rotation'));
    if (!t.rotation) {
      rotation.append(el('p', 'muted', 'No policy: backups are kept until removed by hand.'));
    } else if (t.rotation.remove.length === 0) {
      rotation.append(el('p', 'muted', `${t.rotation.policy}: nothing to remove.`));
    } else {
      rotation.append(
        el('p', undefined, `${t.rotation.policy}: would remove ${t.rotation.remove.length} (${formatBytes(t.rotation.removeBytes)}):`),
      );
      const ul = el('ul', 'remove');
      for (const r of t.rotation.remove.slice(0, 5)) {
        const li = el('li', undefined, `${when(r.at)} · ${formatBytes(r.bytes)}`);
        li.title = r.name;
        ul.append(li);
      }
      if (t.rotation.remove.length > 5) ul.append(el('li', 'muted', `… and ${t.rotation.remove.length - 5} more`));
      rotation.append(ul);
    }
    if (t.rotation && t.rotation.suspects > 0)
      rotation.append(el('p', 'warn', `${t.rotation.suspects} suspect backup(s) flagged (too small or failed verification).`));
    details.append(rotation);

    const actions = el('div', 'actions');
    const busy = Boolean(t.busy);
    actions.append(
      button('Back Up Now', 'backUpNow', t.name, busy),
      button('Verify', 'verify', t.name, busy || t.count === 0),
      button(
        'Restore Drill',
        'drill',
        t.name,
        busy || !t.canDrill,
        t.canDrill ? 'Restore the newest database backup into a scratch database, compare row counts, drop it' : 'Needs a database backup',
      ),
    );
    if (t.rotation && t.rotation.remove.length > 0) actions.append(button('Rotate…', 'rotate', t.name, busy));
    details.append(actions);
    return details;
  }

  /** @param {ToWebview} state */
  function render(state) {
    for (const p of plots) p.plot.destroy();
    plots = [];
    main.replaceChildren();
    if (state.targets.length === 0) {
      main.append(emptyTemplate.content.cloneNode(true));
      return;
    }
    for (const t of state.targets) main.append(targetCard(t));
  }

  document.addEventListener('click', (event) => {
    const b = /** @type {HTMLElement} */ (event.target).closest('button');
    if (!b || /** @type {HTMLButtonElement} */ (b).disabled) return;
    if (b.dataset.addTarget !== undefined) send({ type: 'addTarget' });
    else if (b.dataset.action && b.dataset.target) {
      send({ type: 'run', action: /** @type {ReportAction} */ (b.dataset.action), target: b.dataset.target });
    }
  });

  window.addEventListener('message', (/** @type {MessageEvent<ToWebview>} */ event) => {
    const message = event.data;
    if (message && message.type === 'render') {
      last = message;
      render(message);
    }
  });

  // Charts follow the sidebar's width and the colour theme.
  let resizeTimer = 0;
  new ResizeObserver(() => {
    clearTimeout(resizeTimer);
    resizeTimer = window.setTimeout(() => {
      for (const p of plots) p.plot.setSize({ width: Math.max(160, p.el.clientWidth), height: CHART_HEIGHT });
    }, 100);
  }).observe(document.body);
  new MutationObserver(() => {
    if (last) render(last);
  }).observe(document.body, { attributes: true, attributeFilter: ['class'] });

  send({ type: 'ready' });
})();
