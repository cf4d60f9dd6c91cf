// The Live feed demo page (examples/demo/live.ts) in a real Chromium: the page's EventSource gets
// the shared clock's ticks; "Drop the connection" makes the server end that tab's stream, the
// browser reconnects by itself with Last-Event-ID, the server gets it and replays what was missed,
// and the ids run on with no gap. The reconnect is held (page.route) until the clock has ticked
// past the last id the page saw, so a server that ignored Last-Event-ID would leave a gap.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { launchBrowser, withPage } from './helpers/browser.js';
import { startDemo } from './helpers/demo.js';
import { deferred, within } from './helpers/async.js';

interface Hello {
  lastEventId: number | null;
  resumed: boolean;
  replayed: number;
}

interface Feed {
  ids: number[];
  hellos: Hello[];
}

const FEED = 'window.liveFeed';

/** Wait (bounded) until the page's feed satisfies `condition`, a JS expression over `f`. */
async function feedWhere(page: Page, condition: string): Promise<Feed> {
  await page.waitForFunction(`((f) => ${condition})(${FEED})`, undefined, { timeout: 15_000 });
  return page.evaluate<Feed>(FEED);
}

function assertConsecutive(ids: number[]): void {
  for (let i = 1; i < ids.length; i++) {
    assert.equal(ids[i], ids[i - 1]! + 1, `ids run on with no gap and no repeat: ${ids.join(',')}`);
  }
}

test('the Live feed page in Chromium', async (t) => {
  const demo = await startDemo(t);
  const browser = await launchBrowser(t);
  const lastTick = async (): Promise<number> => ((await (await fetch(`${demo.url}/live/now`)).json()) as { last: number }).last;

  await t.test('EventSource gets ticks; after a drop from the server it resumes with Last-Event-ID and no missing id', async (st) => {
    await withPage(browser, 'live-resume', async ({ page, errors }) => {
      // Holds the EventSource's reconnect (its second request) until the test lets it through.
      // (What the browser sends is checked at the server: an intercepted request's headers here
      // do not list Last-Event-ID, which Chromium adds later.)
      let requests = 0;
      const reconnectSeen = deferred();
      const letReconnect = deferred();
      await page.route('**/live/events?*', async (route) => {
        requests += 1;
        if (requests === 2) {
          reconnectSeen.resolve();
          await within(letReconnect.promise, 'the test to let the reconnect through', 15_000);
        }
        await route.continue();
      });

      st.after(() => letReconnect.resolve()); // never leave the route waiting when an assertion failed
      await page.goto(demo.url + '/live/');
      const before = await feedWhere(page, 'f.ids.length >= 2');
      assert.deepEqual(before.hellos, [{ lastEventId: null, resumed: false, replayed: 0 }], 'the first connection is a new viewer');
      assert.equal(await page.textContent('#state'), 'connected');

      await page.click('#drop');
      await within(reconnectSeen.promise, 'the EventSource to reconnect by itself', 15_000);
      // The stream has ended: this is the last id the browser received before the drop.
      const lastSeen = (await page.evaluate<Feed>(FEED)).ids.at(-1)!;
      assert.equal(await page.textContent('#state'), 'reconnecting…');
      // Let the shared clock run on while this viewer is away: those ticks come only from the replay.
      const deadline = Date.now() + 15_000;
      while ((await lastTick()) < lastSeen + 2) {
        if (Date.now() > deadline) throw new Error('timed out waiting for the clock to tick on');
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      letReconnect.resolve();

      const after = await feedWhere(page, `f.hellos.length === 2 && f.ids.at(-1) >= ${lastSeen + 3}`);
      const hello = after.hellos[1]!;
      assert.equal(hello.lastEventId, lastSeen, 'the browser reconnected with Last-Event-ID = the last id it received, and the server got it');
      assert.equal(hello.resumed, true);
      assert.ok(hello.replayed >= 2, `the server replayed the ticks the viewer missed (${hello.replayed})`);
      assertConsecutive(after.ids);
      assert.ok(after.ids.at(-1)! > lastSeen + 2, 'live ticks follow the replayed ones');
      assert.equal(await page.textContent('#state'), 'connected');
      assert.match(await page.textContent('#connections') ?? '', new RegExp(`sent Last-Event-ID ${lastSeen}; the server replayed`));
      assert.ok(await page.$$eval('#ticks .replayed', (chips) => chips.length) >= 2, 'the replayed ticks are marked on the page');
      assert.equal(requests, 2, 'one reconnect, made by the EventSource itself');
      assert.deepEqual(errors, []);
    });
  });

  await t.test('two viewers see the same clock', async () => {
    await withPage(browser, 'live-shared-a', async ({ page: a }) => {
      await withPage(browser, 'live-shared-b', async ({ page: b }) => {
        await a.goto(demo.url + '/live/');
        const fa = await feedWhere(a, 'f.ids.length >= 2');
        await b.goto(demo.url + '/live/');
        const fb = await feedWhere(b, 'f.ids.length >= 1');
        assert.ok(fb.ids[0]! >= fa.ids.at(-1)!, `the second viewer joins the running clock (${fb.ids[0]} after ${fa.ids.at(-1)}), not a clock of its own`);
        // Both get the next tick from the one clock.
        const next = fb.ids.at(-1)! + 1;
        await feedWhere(a, `f.ids.includes(${next})`);
        await feedWhere(b, `f.ids.includes(${next})`);
      });
    });
  });

  await t.test('bad input: a malformed viewer or Last-Event-ID is a 400, a drop for no open feed a 404, a GET drop a 405', async () => {
    assert.equal((await fetch(`${demo.url}/live/events?viewer=x`)).status, 400);
    assert.equal((await fetch(`${demo.url}/live/events?viewer=abcdefgh`, { headers: { 'Last-Event-ID': '12; drop' } })).status, 400);
    assert.equal((await fetch(`${demo.url}/live/drop?viewer=nobodyhere`, { method: 'POST' })).status, 404);
    assert.equal((await fetch(`${demo.url}/live/drop?viewer=nobodyhere`)).status, 405);
  });

  await t.test('the source link shows the page\'s own handlers', async () => {
    await withPage(browser, 'live-source', async ({ page }) => {
      await page.goto(demo.url + '/live/');
      await page.click('text=Source of this page\'s handler');
      const code = await page.textContent('pre code') ?? '';
      assert.match(code, /return sse\(/);
      assert.match(code, /request\.lastEventId/);
      await page.goto(demo.url + '/source/live.ts/feed');
      assert.match(await page.textContent('pre code') ?? '', /async function\* feed/);
    });
  });

  await t.test('on a phone-sized screen nothing scrolls sideways', async () => {
    await withPage(browser, 'live-phone', async ({ page }) => {
      await page.setViewportSize({ width: 360, height: 740 });
      await page.goto(demo.url + '/live/');
      await feedWhere(page, 'f.ids.length >= 1');
      const wide = await page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth');
      assert.ok(wide <= 0, `/live/ is ${wide}px wider than the screen`);
    });
  });
  await demo.stop();
});
