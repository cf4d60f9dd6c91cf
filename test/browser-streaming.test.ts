// The Streamed HTML demo page (examples/demo/streaming.ts) in a real Chromium: the first rows are in
// the DOM while the response is provably still open (its slow rows wait for a release this test
// sends), and the buffered twin shows nothing until its last row exists.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { launchBrowser, withPage } from './helpers/browser.js';
import { startDemo } from './helpers/demo.js';

interface Rows {
  readyState: string;
  rows: string[];
  footer: boolean;
  firstPaint: string;
  lastRow: string;
}

// Runs in the page (a string: the suite compiles without the DOM library).
const ROWS = `(() => ({
  readyState: document.readyState,
  rows: [...document.querySelectorAll('#rows [data-row]')].map((li) => li.dataset.row),
  footer: document.querySelector('footer') !== null,
  firstPaint: document.getElementById('first-paint')?.textContent ?? '',
  lastRow: document.getElementById('last-row')?.textContent ?? '',
}))()`;

const ALL_ROWS = ['1', '2', '3', '4', '5', '6', '7', '8', '9'];

test('the Streamed HTML page in Chromium', async (t) => {
  const demo = await startDemo(t);
  const browser = await launchBrowser(t);

  const held = async (hold: string): Promise<boolean> => {
    const res = await fetch(`${demo.url}/streaming/held?hold=${hold}`);
    return ((await res.json()) as { waiting: boolean }).waiting;
  };
  const release = async (hold: string): Promise<void> => {
    const res = await fetch(`${demo.url}/streaming/release?hold=${hold}`, { method: 'POST' });
    assert.equal(res.status, 200, await res.text());
  };
  /** Poll the server until the page's generator is parked at its hold (bounded). */
  const untilHeld = async (hold: string): Promise<void> => {
    const deadline = Date.now() + 10_000;
    while (!(await held(hold))) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for the page held as ${hold} to park`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };

  await t.test('streamed: the first rows are in the DOM while the response is still open, the slow rows follow', async () => {
    await withPage(browser, 'streaming-streamed', async ({ page, errors }) => {
      const hold = `streamed-${process.pid}`;
      // 'commit': resolves at the response's headers, long before this response can end.
      const res = await page.goto(`${demo.url}/streaming/?hold=${hold}`, { waitUntil: 'commit', timeout: 15_000 });
      assert.equal(res?.status(), 200);
      assert.equal(res?.headers()['content-length'], undefined, 'no declared length: the body is streamed');
      await page.waitForSelector('#rows [data-row="3"]', { state: 'attached', timeout: 15_000 });
      // The server's generator is parked until the release below: the response cannot have ended.
      await untilHeld(hold);
      const open = await page.evaluate<Rows>(ROWS);
      assert.deepEqual(open.rows, ['1', '2', '3'], 'the first rows are shown, the slow ones not yet produced');
      assert.equal(open.readyState, 'loading', 'the document is still being received');
      assert.equal(open.footer, false, 'the end of the page has not arrived');
      assert.equal(await held(hold), true, 'the response was still open while those rows were in the DOM');

      await release(hold);
      await page.waitForLoadState('domcontentloaded', { timeout: 15_000 });
      const done = await page.evaluate<Rows>(ROWS);
      assert.deepEqual(done.rows, ALL_ROWS, 'every slow row arrived after the release');
      assert.equal(done.footer, true);
      assert.match(done.lastRow, /^\d+ ms$/, 'the page shows when its last row arrived');
      // The browser's first-contentful-paint, shown by the page's own script.
      await page.waitForFunction(`/^\\d+ ms$/.test(document.getElementById('first-paint').textContent)`, undefined, { timeout: 15_000 });
      assert.deepEqual(errors, []);
    });
  });

  await t.test('buffered: nothing reaches the browser while the slow rows are pending, then the whole page with a Content-Length', async () => {
    await withPage(browser, 'streaming-buffered', async ({ page, errors }) => {
      const hold = `buffered-${process.pid}`;
      let responded = false;
      page.on('response', (r) => { if (r.url().includes('/streaming/buffered')) responded = true; });
      const navigation = page.goto(`${demo.url}/streaming/buffered?hold=${hold}`, { timeout: 15_000 });
      // The generator has produced the head and the first rows and waits: a buffered page keeps
      // them, so not even the status line has reached the browser.
      await untilHeld(hold);
      assert.equal(responded, false, 'no response reached the browser while the slow rows were pending');
      await release(hold);
      const res = await navigation;
      assert.equal(res?.status(), 200);
      assert.match(res?.headers()['content-length'] ?? '', /^\d+$/, 'one body of declared length');
      const done = await page.evaluate<Rows>(ROWS);
      assert.deepEqual(done.rows, ALL_ROWS);
      assert.equal(done.readyState, 'complete');
      assert.match(done.lastRow, /^\d+ ms$/);
      await page.waitForFunction(`/^\\d+ ms$/.test(document.getElementById('first-paint').textContent)`, undefined, { timeout: 15_000 });
      assert.deepEqual(errors, []);
    });
  });

  await t.test('a bad or busy hold name is a plain 4xx page (checked before the first chunk)', async () => {
    await withPage(browser, 'streaming-bad-hold', async ({ page }) => {
      const bad = await page.goto(`${demo.url}/streaming/?hold=${encodeURIComponent('<x>')}`);
      assert.equal(bad?.status(), 400);
      assert.match(await page.textContent('main') ?? '', /hold is 1 to 40 letters/);
      const missing = await fetch(`${demo.url}/streaming/release?hold=nobody`, { method: 'POST' });
      assert.equal(missing.status, 404);
      const wrong = await fetch(`${demo.url}/streaming/release?hold=nobody`);
      assert.equal(wrong.status, 405);
    });
  });

  await t.test('the source link shows the page\'s own generator and handlers', async () => {
    await withPage(browser, 'streaming-source', async ({ page }) => {
      await page.goto(demo.url + '/streaming/buffered');
      await page.click('text=Source of this page\'s handler');
      const code = await page.textContent('pre code') ?? '';
      assert.match(code, /async function\* rowsPage/);
      assert.match(code, /@expose\(\{ 'response\.stream': true \}\)/);
      assert.match(code, /async \*buffered/);
    });
  });

  await t.test('on a phone-sized screen nothing scrolls sideways', async () => {
    await withPage(browser, 'streaming-phone', async ({ page }) => {
      await page.setViewportSize({ width: 360, height: 740 });
      for (const path of ['/streaming/', '/streaming/buffered']) {
        await page.goto(demo.url + path, { timeout: 15_000 });
        const wide = await page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth');
        assert.ok(wide <= 0, `${path} is ${wide}px wider than the screen`);
      }
    });
  });
  await demo.stop();
});
