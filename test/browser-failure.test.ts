// The Failure made visible demo page (examples/demo/failure.ts) in a real Chromium: a stream that
// fails after its first chunks is reported as an error by fetch's reader (a 200 whose body is cut,
// never a short body that looks complete), and the same failure buffered is a real 500 page.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { launchBrowser, withPage } from './helpers/browser.js';
import { startDemo } from './helpers/demo.js';

interface Outcome {
  outcome: string | undefined;
  message: string;
  status: string;
  chunks: number;
  text: string;
}

const STREAM = `(() => ({
  outcome: document.getElementById('stream-outcome').dataset.outcome,
  message: document.getElementById('stream-outcome').textContent,
  status: document.getElementById('stream-status').textContent,
  chunks: Number(document.getElementById('stream-chunks').textContent),
  text: document.getElementById('stream-text').textContent,
}))()`;

const BUFFERED = `(() => ({
  outcome: document.getElementById('buffered-outcome').dataset.outcome,
  message: document.getElementById('buffered-outcome').textContent,
  status: document.getElementById('buffered-status').textContent,
  chunks: 0,
  text: '',
}))()`;

// What Chromium logs for the failures this page provokes on purpose; anything else is a bug.
const EXPECTED_ERRORS = [/net::ERR_INCOMPLETE_CHUNKED_ENCODING/, /status of 500/];

test('the Failure made visible page in Chromium', async (t) => {
  const demo = await startDemo(t);
  const browser = await launchBrowser(t);

  await t.test('the page loads with no console error', async () => {
    await withPage(browser, 'failure-page', async ({ page, errors }) => {
      const res = await page.goto(demo.url + '/failure/');
      assert.equal(res?.status(), 200);
      assert.equal(await page.textContent('h1'), 'Failure made visible');
      assert.deepEqual(errors, []);
    });
  });

  await t.test('the failing stream: a 200, some chunks, then fetch\'s reader rejects (not a clean end)', async () => {
    await withPage(browser, 'failure-stream', async ({ page, errors }) => {
      await page.goto(demo.url + '/failure/');
      await page.click('#run-stream');
      await page.waitForSelector('#stream-outcome[data-outcome]', { timeout: 15_000 });
      const got = await page.evaluate<Outcome>(STREAM);
      assert.equal(got.outcome, 'error', `the reader reported an error, not the end of a complete body: ${got.message}`);
      assert.match(got.message, /^reader\.read\(\) rejected after \d+ chunks?: TypeError/);
      assert.match(got.status, /^200 OK, no Content-Length$/, 'the headers were committed: the status cannot say it failed');
      assert.ok(got.chunks >= 1, 'chunks arrived before the error');
      assert.ok(got.text.startsWith('line 1 of 5\nline 2 of 5\nline 3 of 5\n'), `everything produced before the failure arrived: ${JSON.stringify(got.text)}`);
      assert.doesNotMatch(got.text, /line 4/);
      const unexpected = errors.filter((e) => !EXPECTED_ERRORS.some((re) => re.test(e)));
      assert.deepEqual(unexpected, []);
    });
  });

  await t.test('the buffered failure: a complete 500 response, and a real 500 page when opened', async () => {
    await withPage(browser, 'failure-buffered', async ({ page, errors }) => {
      await page.goto(demo.url + '/failure/');
      await page.click('#run-buffered');
      await page.waitForSelector('#buffered-outcome[data-outcome]', { timeout: 15_000 });
      const got = await page.evaluate<Outcome>(BUFFERED);
      assert.match(got.status, /^500 Internal Server Error, Content-Length \d+$/);
      assert.equal(got.outcome, 'complete', `the 500 page is read to its end: ${got.message}`);
      assert.match(got.message, /"500: the data source failed/);

      const res = await page.goto(demo.url + '/failure/buffered');
      assert.equal(res?.status(), 500);
      assert.equal(await page.textContent('h1'), '500');
      assert.match(await page.textContent('main') ?? '', /the data source failed while producing line 4 of 5/);
      assert.equal(await page.evaluate<boolean>("[...document.styleSheets].some((s) => s.href?.endsWith('/static/drupe.css'))"), true, 'a styled page of the site');
      const unexpected = errors.filter((e) => !EXPECTED_ERRORS.some((re) => re.test(e)));
      assert.deepEqual(unexpected, []);
    });
  });

  await t.test('the source link shows the page\'s own handlers', async () => {
    await withPage(browser, 'failure-source', async ({ page }) => {
      await page.goto(demo.url + '/failure/');
      await page.click('text=Source of this page\'s handler');
      const code = await page.textContent('pre code') ?? '';
      assert.match(code, /@expose\(\{ 'response\.stream': true \}\)\s+stream\(/);
      assert.match(code, /buffered\(\{ request \}: Context\)/);
      await page.goto(demo.url + '/source/failure.ts/report');
      assert.match(await page.textContent('pre code') ?? '', /throw new Error/);
    });
  });

  await t.test('on a phone-sized screen nothing scrolls sideways', async () => {
    await withPage(browser, 'failure-phone', async ({ page }) => {
      await page.setViewportSize({ width: 360, height: 740 });
      await page.goto(demo.url + '/failure/');
      await page.click('#run-stream');
      await page.click('#run-buffered');
      await page.waitForSelector('#stream-outcome[data-outcome]', { timeout: 15_000 });
      await page.waitForSelector('#buffered-outcome[data-outcome]', { timeout: 15_000 });
      const wide = await page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth');
      assert.ok(wide <= 0, `/failure/ is ${wide}px wider than the screen`);
    });
  });
  await demo.stop();
});
