// The demo's typed JSON API used from a page in Chromium: a valid note is added (validated and
// coerced by the handler's zod schema), a refused one comes back as problem+json naming the field.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { launchBrowser, withPage } from './helpers/browser.js';
import { startDemo } from './helpers/demo.js';

test('the demo\'s notes API from a page in Chromium', async (t) => {
  const demo = await startDemo(t);
  const browser = await launchBrowser(t);
  await withPage(browser, 'notes', async ({ page, errors }) => {
    await page.goto(demo.url + '/notes/');
    await page.waitForSelector('#notes li:text("Read /api/openapi.json")', { timeout: 10_000 });
    await page.fill('input[name=text]', '  buy milk  ');
    await page.fill('input[name=tags]', 'home, errands');
    await page.click('button:text("Add")');
    await page.waitForSelector('#result.ok', { timeout: 10_000 });
    const added = /^201: added note #(\d+)$/.exec(await page.textContent('#result') ?? '');
    assert.ok(added !== null, 'a 201 with the new id');
    await page.waitForSelector(`#notes li:text-is("#${added[1]} buy milk [home, errands]")`, { timeout: 10_000 });

    await page.fill('input[name=text]', '');
    await page.fill('input[name=tags]', 'x'.repeat(21));
    await page.click('button:text("Add")');
    await page.waitForSelector('#result.error', { timeout: 10_000 });
    const refused = await page.textContent('#result') ?? '';
    assert.match(refused, /^400 application\/problem\+json: /);
    assert.match(refused, /text: /, 'the empty text is named');
    assert.match(refused, /tags\.0: /, 'the long tag is named');
    // The browser logs a failed fetch (the 400) as a console error; nothing else may be there.
    assert.deepEqual(errors.filter((e) => !/status of 400/.test(e)), []);
  });
  await demo.stop();
});
