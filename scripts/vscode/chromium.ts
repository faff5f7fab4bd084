// Headless Chromium from Debian's package, driven by playwright-core (never `npx playwright install`:
// it downloads a browser, which this project's machines cannot).
import * as fs from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

const EXECUTABLE = process.env.EXIT_PLAN_CHROMIUM ?? '/usr/bin/chromium';

/** Without the background-networking flags Chromium keeps dialling out, and the closed network refuses it. */
const ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export async function launchChromium(): Promise<Browser> {
  if (!fs.existsSync(EXECUTABLE)) {
    throw new Error(
      `No Chromium at ${EXECUTABLE}: install Debian's chromium package (apt-get install chromium), or set EXIT_PLAN_CHROMIUM.`,
    );
  }
  return chromium.launch({ executablePath: EXECUTABLE, args: ARGS, headless: true });
}
