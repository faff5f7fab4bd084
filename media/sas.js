// @ts-check
// The SAS panel's page. It never sees the real link: the extension sends masked command lines
// (`render`) and does the copying and running itself. Message shapes: src/views/webviewMessages.ts.

/** @typedef {import('../src/views/webviewMessages').SasToWebview} ToWebview */
/** @typedef {import('../src/views/webviewMessages').SasFromWebview} FromWebview */
/** @typedef {import('../src/views/webviewMessages').CopyTarget} CopyTarget */
/** @typedef {import('../src/views/webviewMessages').RunTarget} RunTarget */
/** @typedef {import('../src/views/webviewMessages').DestinationKey} DestinationKey */
/** @typedef {import('../src/views/webviewMessages').SasShell} SasShell */

(function () {
  'use strict';
  const vscode = acquireVsCodeApi();
  const INPUT_DELAY_MS = 250;

  const COPIED_MS = 2000;

  const expiry = /** @type {HTMLTimeElement} */ (document.getElementById('expiry'));
  const countdown = /** @type {HTMLElement} */ (document.getElementById('countdown'));
  const url = /** @type {HTMLElement} */ (document.getElementById('url'));
  const notice = /** @type {HTMLElement} */ (document.getElementById('notice'));
  const expirySelect = /** @type {HTMLSelectElement | null} */ (document.getElementById('expiry-minutes'));
  let expiresAt = Date.parse(expiry.dateTime);
  let expired = false;
  /** @type {number | undefined} */
  let ticking;
  /** The last render: which buttons may be used while the link is valid. */
  /** @type {Extract<ToWebview, { type: 'render' }> | undefined} */
  let last;
  /** Destination edits not sent yet, by field: sent before any click so Copy and Run use what is typed. */
  /** @type {Map<HTMLInputElement, number>} */
  const pendingEdits = new Map();

  /** @param {FromWebview} message */
  function send(message) {
    vscode.postMessage(message);
  }

  /** @param {number} ms */
  function remaining(ms) {
    const s = Math.floor(ms / 1000);
    const d = Math.floor(s / 86400);
    const h = Math.floor((s % 86400) / 3600);
    const m = Math.floor((s % 3600) / 60);
    const parts = d > 0 ? [`${d} d`, `${h} h`] : h > 0 ? [`${h} h`, `${m} min`] : [`${m} min`, `${s % 60} s`];
    return `${parts.join(' ')} left`;
  }

  function markExpired() {
    if (expired) return;
    expired = true;
    countdown.textContent = expirySelect ? 'Expired: choose how long a new link is valid' : 'Expired';
    document.body.classList.add('expired');
    updateButtons();
  }

  function tick() {
    clearTimeout(ticking);
    const left = expiresAt - Date.now();
    if (left <= 0) {
      markExpired();
      return;
    }
    countdown.textContent = remaining(left);
    ticking = setTimeout(tick, 1000 - (Date.now() % 1000) + 5);
  }

  /** Copy and Run work only while the link is valid, and on a card only once its destination is filled in. */
  function updateButtons() {
    for (const button of document.querySelectorAll('button[data-copy]')) {
      const copy = /** @type {HTMLButtonElement} */ (button);
      const what = /** @type {CopyTarget} */ (copy.dataset.copy);
      const ready = what === 'url' || (last?.copyable[what] ?? what === 'local');
      copy.disabled = expired || !ready;
      const hint = /** @type {HTMLElement | null} */ (copy.parentElement?.querySelector('.hint') ?? null);
      if (hint) hint.hidden = ready || expired;
    }
    for (const button of document.querySelectorAll('button[data-run]')) {
      const run = /** @type {HTMLButtonElement} */ (button);
      run.hidden = !last?.runnable[/** @type {RunTarget} */ (run.dataset.run)];
      run.disabled = expired;
    }
  }

  /** "Copied" beside the button that was clicked, for a moment. @param {CopyTarget} what */
  function showCopied(what) {
    const button = document.querySelector(`button[data-copy="${what}"]`);
    const status = /** @type {HTMLElement | null} */ (button?.parentElement?.querySelector('.copied') ?? null);
    if (!status) return;
    status.textContent = 'Copied';
    clearTimeout(Number(status.dataset.timer));
    status.dataset.timer = String(
      setTimeout(() => {
        status.textContent = '';
      }, COPIED_MS),
    );
  }

  /** @param {Extract<ToWebview, { type: 'render' }>} state */
  function render(state) {
    for (const radio of document.querySelectorAll('input[name="shell"]')) {
      const input = /** @type {HTMLInputElement} */ (radio);
      input.checked = input.value === state.shell;
    }
    for (const field of document.querySelectorAll('input[data-destination]')) {
      const input = /** @type {HTMLInputElement} */ (field);
      const value = state.destinations[/** @type {DestinationKey} */ (input.dataset.destination)] ?? '';
      if (document.activeElement !== input && input.value !== value) input.value = value;
    }
    for (const [what, line] of Object.entries(state.lines)) {
      const code = document.getElementById(`line-${what}`);
      if (code) code.textContent = line;
    }
    url.textContent = state.url;
    if (expiry.dateTime !== state.expiresOn) {
      expiry.dateTime = state.expiresOn;
      expiry.textContent = state.expiresText;
      expiresAt = Date.parse(state.expiresOn);
      expired = false;
      document.body.classList.remove('expired');
      tick();
    }
    if (expirySelect) {
      expirySelect.disabled = false;
      expirySelect.value = String(state.expiryMinutes);
    }
    notice.hidden = !state.notice;
    notice.textContent = state.notice ?? '';
    last = state;
    updateButtons();
  }

  document.addEventListener('click', (event) => {
    const button = /** @type {HTMLElement} */ (event.target).closest('button');
    if (!button || expired) return;
    flushEdits();
    if (button.disabled) return;
    if (button.dataset.copy) send({ type: 'copy', what: /** @type {CopyTarget} */ (button.dataset.copy) });
    if (button.dataset.run) send({ type: 'run', what: /** @type {RunTarget} */ (button.dataset.run) });
  });

  for (const radio of document.querySelectorAll('input[name="shell"]')) {
    radio.addEventListener('change', () =>
      send({ type: 'setShell', shell: /** @type {SasShell} */ (/** @type {HTMLInputElement} */ (radio).value) }),
    );
  }

  /** @param {HTMLInputElement} input */
  function sendEdit(input) {
    clearTimeout(pendingEdits.get(input));
    pendingEdits.delete(input);
    send({ type: 'setDestination', key: /** @type {DestinationKey} */ (input.dataset.destination), value: input.value });
  }

  function flushEdits() {
    for (const input of [...pendingEdits.keys()]) sendEdit(input);
  }

  for (const field of document.querySelectorAll('input[data-destination]')) {
    const input = /** @type {HTMLInputElement} */ (field);
    input.addEventListener('input', () => {
      clearTimeout(pendingEdits.get(input));
      pendingEdits.set(
        input,
        setTimeout(() => sendEdit(input), INPUT_DELAY_MS),
      );
    });
  }

  expirySelect?.addEventListener('change', () => {
    send({ type: 'setExpiry', minutes: Number(expirySelect.value) });
  });

  window.addEventListener('message', (/** @type {MessageEvent<ToWebview>} */ event) => {
    const message = event.data;
    if (message?.type === 'render') render(message);
    if (message?.type === 'expired') markExpired();
    if (message?.type === 'copied') showCopied(message.what);
    if (message?.type === 'signing') {
      if (expirySelect) expirySelect.disabled = true;
      notice.hidden = false;
      notice.textContent = 'Signing a new link…';
    }
  });

  updateButtons();
  tick();
  send({ type: 'ready' });
})();
