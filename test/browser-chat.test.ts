// The demo's chat page in Chromium: a WebSocket endpoint of the tree, two tabs talking, a tab
// that closes leaving the room, and an oversize message closing the socket with 1009.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { launchBrowser, withPage } from './helpers/browser.js';
import { startDemo } from './helpers/demo.js';

test('the demo\'s chat in Chromium', async (t) => {
  const demo = await startDemo(t);
  const browser = await launchBrowser(t);

  await t.test('two tabs: a message reaches the other as text, and a closed tab leaves the room', async () => {
    await withPage(browser, 'chat-a', async ({ page: a, errors }) => {
      await a.goto(demo.url + '/chat/');
      await a.waitForSelector('#status:text("connected")', { timeout: 10_000 });
      const joined = await a.textContent('#messages li:last-child');
      const nameA = /^(guest \d+) joined$/.exec(joined ?? '')?.[1];
      assert.ok(nameA !== undefined, `tab A sees itself join: ${joined}`);
      await withPage(browser, 'chat-b', async ({ page: b }) => {
        await b.goto(demo.url + '/chat/');
        await b.waitForSelector('#status:text("connected")', { timeout: 10_000 });
        const nameB = /^(guest \d+) joined$/.exec(await b.textContent('#messages li:last-child') ?? '')?.[1];
        assert.ok(nameB !== undefined && nameB !== nameA);
        await a.waitForSelector(`#messages li:text-is("${nameB} joined")`, { timeout: 10_000 });
        await a.fill('input[name=text]', '<i>hello</i>');
        await a.click('button:text("Send")');
        const line = await b.waitForSelector(`#messages li:text-is("${nameA}: <i>hello</i>")`, { timeout: 10_000 });
        assert.equal(await line.$('i'), null, 'shown as text, not markup');
        await b.close();
        await a.waitForSelector(`#messages li:text-is("${nameB} left")`, { timeout: 10_000 });
      });
      assert.deepEqual(errors, []);
    });
  });

  await t.test('a message over websocket.max_message_size closes the socket with 1009', async () => {
    await withPage(browser, 'chat-oversize', async ({ page }) => {
      await page.goto(demo.url + '/chat/');
      await page.waitForSelector('#status:text("connected")', { timeout: 10_000 });
      await page.fill('input[name=text]', 'x'.repeat(400));
      await page.evaluate<void>(`document.querySelector('input[name=text]').removeAttribute('maxlength')`);
      await page.fill('input[name=text]', 'x'.repeat(5000));
      await page.click('button:text("Send")');
      await page.waitForSelector('#status:text("closed (1009)")', { timeout: 10_000 });
    });
  });
  await demo.stop();
});
