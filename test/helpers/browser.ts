// A real Chromium for the demo's browser tests: Debian's `chromium` (apt; .ci/run installs it)
// driven through playwright-core, which downloads no browser of its own. A missing browser fails
// the test that needs it. Each test gets a fresh page; when the test fails, a screenshot of the
// page is written to test-results/screenshots/ and its path is printed.
import { mkdirSync } from 'node:fs';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type ConsoleMessage, type Page } from 'playwright-core';

type After = { after(fn: () => unknown): void };

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];

/** The system's Chromium: $CHROMIUM, or the first of Debian's usual paths that exists. */
export function chromiumPath(): string {
  const found = process.env.CHROMIUM ?? CANDIDATES.find((p) => existsSync(p));
  if (found === undefined) {
    throw new Error(`no Chromium: install Debian's chromium package (apt-get install chromium) or set CHROMIUM to its path; looked in ${CANDIDATES.join(', ')}`);
  }
  return found;
}

/** One browser for a test file; closed when the file's tests end. */
export async function launchBrowser(t: After): Promise<Browser> {
  const browser = await chromium.launch({
    executablePath: chromiumPath(),
    // Root in a container has no user namespaces for Chromium's sandbox; the browser only ever
    // loads the demo on 127.0.0.1.
    args: ['--no-sandbox', '--disable-dev-shm-usage'],
  });
  t.after(() => browser.close());
  return browser;
}

export const SCREENSHOTS = resolve(fileURLToPath(import.meta.url), '../../../../test-results/screenshots');

export interface PageRun {
  readonly page: Page;
  /** Console errors and uncaught page errors so far. */
  readonly errors: string[];
}

/**
 * Run `body` with a fresh page (its own context: no cookies shared between tests). When `body`
 * throws, a screenshot named after `name` is written first, and the error is rethrown.
 */
export async function withPage(browser: Browser, name: string, body: (run: PageRun) => Promise<void>): Promise<void> {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('console', (m: ConsoleMessage) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('pageerror', (e: Error) => errors.push(e.message));
  try {
    await body({ page, errors });
  } catch (error) {
    mkdirSync(SCREENSHOTS, { recursive: true });
    const file = join(SCREENSHOTS, `${name.replace(/[^a-z0-9-]+/gi, '-')}.png`);
    await page.screenshot({ path: file, fullPage: true }).then(
      () => { console.error(`screenshot of the failed page: ${file}`); },
      (e: unknown) => { console.error(`no screenshot (${String(e)})`); },
    );
    throw error;
  } finally {
    await context.close();
  }
}
