// The demo's Disconnect page (examples/demo/disconnect.ts) in a real Chromium: a long stream's
// producer shows as running on the state page (fed by sse()), and as stopped, with
// request.signal's reason, once the tab reading it is closed or the fetch reading it is aborted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { launchBrowser, withPage } from './helpers/browser.js';
import { startDemo } from './helpers/demo.js';

const WAIT = { timeout: 15_000 };
const STOPPED_BY_DISCONNECT = /^request\.signal aborted: DRUPE_CLIENT_CLOSED \(finally ran \d+\.\d ms after the abort\)$/;

interface Row { state: string; count: number; reader: string; reason: string }

/** The state page's row for producer `id`. */
function row(page: Page, id: string): Promise<Row> {
  return page.evaluate<Row>(`(() => {
    const tr = document.querySelector('#producers tr[data-id="${id}"]');
    return { state: tr.dataset.state, count: Number(tr.dataset.count), reader: tr.children[1].textContent, reason: tr.querySelector('.reason').textContent };
  })()`);
}

/** The state page, its event stream connected. */
async function statePage(page: Page, url: string): Promise<void> {
  await page.goto(url + '/disconnect/');
  await page.waitForFunction(`document.querySelector('#feed').textContent.startsWith('Live')`, null, WAIT);
}

test('the Disconnect page in Chromium', async (t) => {
  const demo = await startDemo(t);
  const browser = await launchBrowser(t);
  let tabProducer: { id: string; count: number } | undefined;

  try {
    await t.test('closing the streaming tab: the state page shows its producer running, then stopped by request.signal', async () => {
      await withPage(browser, 'disconnect-tab', async ({ page, errors }) => {
        await statePage(page, demo.url);
        const tab = await page.context().newPage();
        await tab.goto(demo.url + '/disconnect/stream', { waitUntil: 'commit' });
        await tab.waitForFunction(`document.querySelectorAll('ol.rows li').length >= 2`, null, WAIT);
        const id = await tab.getAttribute('#producer', 'data-id');
        assert.ok(id !== null);
        assert.equal(await tab.evaluate<string>('document.readyState'), 'loading', 'the stream is still being written');
        await page.waitForSelector(`#producers tr[data-id="${id}"][data-state="running"]`, WAIT);
        const running = await row(page, id);
        assert.equal(running.reader, 'a browser tab');
        assert.equal(running.reason, '');
        const seen = await tab.evaluate<number>(`document.querySelectorAll('ol.rows li').length`);

        await tab.close();
        await page.waitForSelector(`#producers tr[data-id="${id}"][data-state="stopped"]`, WAIT);
        const stopped = await row(page, id);
        assert.match(stopped.reason, STOPPED_BY_DISCONNECT, 'stopped in its finally, by the disconnect');
        assert.ok(stopped.count >= seen, `it had made at least the ${seen} rows the tab showed (${stopped.count})`);
        assert.ok(stopped.count < 2400, 'it did not run to its end');
        tabProducer = { id, count: stopped.count };
        assert.deepEqual(errors, []);
      });
    });

    await t.test('aborting a fetch reader: its producer shows as stopped too, and the closed tab\'s producer never counted again', async () => {
      await withPage(browser, 'disconnect-reader', async ({ page, errors }) => {
        await statePage(page, demo.url);
        await page.click('#start');
        await page.waitForFunction(`(document.querySelector('#reader').dataset.last ?? '').startsWith('row ')`, null, WAIT);
        const id = await page.getAttribute('#reader', 'data-id');
        assert.ok(id !== null);
        await page.waitForSelector(`#producers tr[data-id="${id}"][data-state="running"]`, WAIT);
        assert.equal((await row(page, id)).reader, 'a fetch reader');

        await page.click('#abort');
        await page.waitForSelector(`#producers tr[data-id="${id}"][data-state="stopped"]`, WAIT);
        const stopped = await row(page, id);
        assert.match(stopped.reason, STOPPED_BY_DISCONNECT);
        assert.ok(stopped.count < 2400);
        assert.equal(await page.getAttribute('#reader', 'data-aborted'), 'AbortError', 'the page\'s reader saw its own abort');

        // Many snapshots went out since the tab closed (every row of this reader): the tab's producer is still where it stopped.
        assert.ok(tabProducer !== undefined, 'the first subtest ran');
        const tab = await row(page, tabProducer.id);
        assert.equal(tab.state, 'stopped');
        assert.equal(tab.count, tabProducer.count, 'a stopped producer does not count on');
        assert.deepEqual(errors, []);
      });
    });

    await t.test('on a phone-sized screen nothing scrolls sideways, with producers listed', async () => {
      await withPage(browser, 'disconnect-phone', async ({ page }) => {
        await page.setViewportSize({ width: 360, height: 740 });
        await statePage(page, demo.url);
        await page.waitForSelector('#producers tr[data-state="stopped"]', WAIT);
        const wide = await page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth');
        assert.ok(wide <= 0, `the page is ${wide}px wider than the screen`);
      });
    });
  } finally {
    await demo.stop();
  }
});
