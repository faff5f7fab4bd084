// Helpers of the backups and datasets flows: Exit Plan's webviews (nested iframes), colours and canvases
// read inside them, the side bar's panes and tree rows by their exact label.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { FrameLocator, Locator, Page } from 'playwright-core';
import { RESULTS_DIR, workbench } from './workbench';

/**
 * VS Code 1.100 puts a webview in two iframes: an outer `iframe.webview` (VS Code's host page, its `src`
 * names the extension and, for a view, `purpose=webviewView`) and in it `iframe#active-frame` with the page.
 */
const INNER = 'iframe#active-frame';

/** The sidebar Backup Report: Exit Plan's only webview view. */
export function backupReportFrame(page: Page): FrameLocator {
  return page.frameLocator('iframe.webview[src*="extensionId=exit-plan.exit-plan"][src*="purpose=webviewView"]').frameLocator(INNER);
}

/**
 * An Exit Plan webview panel (an editor tab) whose page has `selector`. Panels carry no purpose in their
 * `src`, and another flow may have left one open, so each outer frame is asked by its unique name.
 */
export async function webviewPanelWith(page: Page, selector: string, timeout = 60_000): Promise<FrameLocator> {
  const outer = 'iframe.webview[src*="extensionId=exit-plan.exit-plan"]:not([src*="purpose="])';
  const deadline = Date.now() + timeout;
  for (;;) {
    const names = await page.locator(outer).evaluateAll((frames) => frames.map((f) => (f as unknown as { name: string }).name));
    for (const name of names) {
      const frame = page.frameLocator(`iframe.webview[name="${name}"]`).frameLocator(INNER);
      if ((await frame.locator(selector).count()) > 0) return frame;
    }
    if (Date.now() > deadline) throw new Error(`no Exit Plan webview panel shows ${selector} (outer frames: ${names.length})`);
    await page
      .locator(outer)
      .first()
      .waitFor({ state: 'attached', timeout: Math.max(1, deadline - Date.now()) });
    await new Promise((resolve) => setTimeout(resolve, 200)); // polling a page that loads in another frame
  }
}

/** What the evaluation below uses of the page's window (the tests compile without the DOM types). */
type PageWindow = {
  getComputedStyle(element: unknown): Record<string, string> & { getPropertyValue(name: string): string };
  document: { createElement(tag: 'canvas'): { getContext(kind: '2d'): { fillStyle: string } } };
};

/**
 * The computed colour (`color`, or another colour property such as `backgroundColor`) of `element`, and the
 * value of the theme variable `variable` as the element inherits it, both normalised by a canvas to
 * `#rrggbb` (or `rgba(…)` when translucent), so the two compare as strings.
 */
export async function colourAndVariable(
  element: Locator,
  variable: string,
  property = 'color',
): Promise<{ colour: string; variable: string }> {
  return element.evaluate(
    (e, [name, prop]) => {
      const w = globalThis as unknown as PageWindow;
      const normalise = (css: string) => {
        const ctx = w.document.createElement('canvas').getContext('2d');
        ctx.fillStyle = '#010203';
        ctx.fillStyle = css;
        return ctx.fillStyle;
      };
      const style = w.getComputedStyle(e);
      const raw = style.getPropertyValue(name).trim();
      return { colour: normalise(style[prop]), variable: raw === '' ? '' : normalise(raw) };
    },
    [variable, property] as const,
  );
}

/**
 * Waits until `element` shows in the theme colour `variable` (VS Code applies some colours, such as a tree
 * label's file decoration, a moment after the row appears), and asserts it does.
 */
export async function assertInThemeColour(
  element: Locator,
  variable: string,
  what: string,
  property = 'color',
  timeout = 30_000,
): Promise<void> {
  await element.waitFor({ state: 'visible', timeout });
  let seen = await colourAndVariable(element, variable, property);
  for (const deadline = Date.now() + timeout; seen.variable === '' || seen.colour !== seen.variable;) {
    assert.ok(Date.now() < deadline, `${what}: ${property} is ${seen.colour}, not ${variable} (${seen.variable || 'undefined'})`);
    await new Promise((resolve) => setTimeout(resolve, 100)); // polling a style
    seen = await colourAndVariable(element, variable, property);
  }
}

/** Asserts a canvas has a non-zero size on screen and on its bitmap, and that something is drawn on it. */
export async function assertDrawnCanvas(canvas: Locator, what: string): Promise<{ width: number; height: number }> {
  await canvas.waitFor({ state: 'visible', timeout: 30_000 });
  const box = await canvas.boundingBox();
  assert.ok(box && box.width > 0 && box.height > 0, `${what}: the canvas has no size on screen (${JSON.stringify(box)})`);
  const drawn = await canvas.evaluate((c) => {
    const canvasElement = c as unknown as {
      width: number;
      height: number;
      getContext(kind: '2d'): { getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } };
    };
    const { width, height } = canvasElement;
    if (width === 0 || height === 0) return { width, height, painted: 0 };
    const data = canvasElement.getContext('2d').getImageData(0, 0, width, height).data;
    let painted = 0;
    for (let i = 3; i < data.length; i += 4) if (data[i] !== 0) painted++;
    return { width, height, painted };
  });
  assert.ok(drawn.width > 0 && drawn.height > 0, `${what}: the canvas bitmap is ${drawn.width}×${drawn.height}`);
  assert.ok(drawn.painted > 0, `${what}: nothing is drawn on the canvas`);
  return box;
}

/** The pane (view) of the Exit Plan side bar titled `view`. */
function pane(page: Page, view: string): { header: Locator; body: Locator } {
  const header = page.locator(`.part.sidebar .pane-header[aria-label="${view} Section"]`);
  return { header, body: page.locator('.part.sidebar .pane').filter({ has: page.locator(`.pane-header[aria-label="${view} Section"]`) }) };
}

/** Expands the `open` panes and collapses the `closed` ones by clicking their headers, as a user makes room. */
export async function arrangePanes(page: Page, open: string[], closed: string[]): Promise<void> {
  for (const [views, expanded] of [
    [closed, 'false'],
    [open, 'true'],
  ] as const) {
    for (const view of views) {
      const { header } = pane(page, view);
      await header.waitFor({ state: 'visible', timeout: 30_000 });
      // On its title: the middle of a header may be one of the view's action buttons.
      if ((await header.getAttribute('aria-expanded')) !== expanded) await header.locator('.title').first().click();
      await page
        .locator(`.part.sidebar .pane-header[aria-label="${view} Section"][aria-expanded="${expanded}"]`)
        .waitFor({ timeout: 30_000 });
    }
  }
}

/** A view's title-bar action (shown when the pointer is over the view), by its title. */
export async function clickViewAction(page: Page, view: string, title: string): Promise<void> {
  const { header } = pane(page, view);
  await header.hover();
  await header.locator(`.actions .action-label[aria-label^="${title}"]`).click();
}

/** A tree row of a side bar view whose label (not its description) is exactly `label`. */
export function exactTreeRow(page: Page, view: string, label: string | RegExp): Locator {
  const exact = typeof label === 'string' ? new RegExp(`^${label.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`) : label;
  return pane(page, view)
    .body.locator('.monaco-list-row')
    .filter({ has: page.locator('.label-name', { hasText: exact }) });
}

/** Expands a collapsed tree row (click on its twistie). */
export async function expandRow(row: Locator): Promise<void> {
  await row.waitFor({ state: 'visible', timeout: 30_000 });
  if ((await row.getAttribute('aria-expanded')) === 'false') await row.locator('.monaco-tl-twistie').click();
  await row.and(row.page().locator('[aria-expanded="true"]')).waitFor({ timeout: 30_000 });
}

/**
 * After a failed test: what the screen showed, as test-results/ui/<name>.png, and the extension's log (the
 * Exit Plan output channel) as <name>.log (no checks: it is evidence).
 */
export async function screenshotOnFailure(name: string): Promise<void> {
  const { page, server } = await workbench();
  await page.screenshot({ path: path.join(RESULTS_DIR, `${name}.png`) }).catch(() => undefined);
  const logs = (fs.readdirSync(path.join(server.userDataDir, 'logs'), { recursive: true }) as string[]).filter((f) =>
    /Exit Plan\.log$/.test(f),
  );
  for (const [i, log] of logs.entries())
    fs.copyFileSync(path.join(server.userDataDir, 'logs', log), path.join(RESULTS_DIR, `${name}${i === 0 ? '' : `-${i}`}.log`));
}
