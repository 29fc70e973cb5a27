import { existsSync, mkdirSync } from 'node:fs';
import { type Browser, chromium, type Page } from 'playwright-core';

/** Debian's Chromium, or CHROMIUM_PATH; no test tool ever downloads a browser. */
export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

/** Where each test leaves a screenshot to look at (ignored by git). */
const SHOTS = new URL('../../test-results/screenshots/', import.meta.url);

export async function launch(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    // Never skipped silently: .ci/run installs it, and a developer is told how.
    throw new Error(
      `No Chromium at ${CHROMIUM}: install Debian's (apt-get install -y chromium) or set CHROMIUM_PATH`,
    );
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** How a page is seen: a desktop or a phone, light or dark. */
export interface Looks {
  /** Default: 1280 × 800 (a desktop). */
  viewport?: { width: number; height: number };
  /** The system's preference the page sees. Default: light. */
  colorScheme?: 'light' | 'dark';
}

export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 390, height: 844 };

/**
 * A page, in a context of its own (close it with `page.context().close()`), that fails the test
 * on any script error, console error or blocked resource.
 */
export async function open(
  browser: Browser,
  url: string,
  looks: Looks = {},
): Promise<{ page: Page; problems: string[] }> {
  const context = await browser.newContext({
    viewport: looks.viewport ?? DESKTOP,
    colorScheme: looks.colorScheme ?? 'light',
    // The copy buttons write to the clipboard; the tests read it back.
    permissions: ['clipboard-read', 'clipboard-write'],
  });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    // Failed fetches the test caused on purpose (a 429) are reported by the page itself.
    if (message.type() === 'error' && !/status of 4\d\d/.test(message.text())) {
      problems.push(`console: ${message.text()}`);
    }
  });
  await page.goto(url);
  return { page, problems };
}

export async function screenshot(page: Page, name: string) {
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: new URL(`${name}.png`, SHOTS).pathname, fullPage: true });
}
