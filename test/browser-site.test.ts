// The demo site (npm start) in a real Chromium: the home page, its stylesheet, the source links,
// the blog's tree dispatch, the guestbook's round trip and the error pages.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { launchBrowser, withPage } from './helpers/browser.js';
import { startDemo } from './helpers/demo.js';

test('the demo site in Chromium', async (t) => {
  const demo = await startDemo(t);
  const browser = await launchBrowser(t);

  await t.test('the home page renders with its stylesheet, links every demo and logs no console error', async () => {
    await withPage(browser, 'home', async ({ page, errors }) => {
      const res = await page.goto(demo.url + '/');
      assert.equal(res?.status(), 200);
      assert.equal(await page.title(), 'Drupe · Drupe');
      // Page functions are strings: they run in the browser, and the suite compiles without the DOM library.
      const css = await page.evaluate<{ loaded: boolean; main: string }>(`(() => {
        const sheet = [...document.styleSheets].find((s) => s.href?.endsWith('/static/drupe.css'));
        return { loaded: sheet !== undefined && sheet.cssRules.length > 0, main: getComputedStyle(document.querySelector('main')).maxWidth };
      })()`);
      assert.ok(css.loaded, 'the stylesheet loaded');
      assert.equal(css.main, `${46 * 16}px`, 'the stylesheet applies (main is a 46rem column)');
      const links = await page.$$eval('.demos a', (as) => as.map((a) => a.getAttribute('href')));
      for (const href of ['/streaming/', '/live/', '/failure/', '/downloads/', '/disconnect/', '/blog/', '/guestbook/', '/account/']) {
        assert.ok(links.includes(href), `the home page links ${href}`);
      }
      assert.deepEqual(errors, []);
    });
  });

  await t.test('on a phone-sized screen nothing scrolls sideways', async () => {
    await withPage(browser, 'home-phone', async ({ page }) => {
      await page.setViewportSize({ width: 360, height: 740 });
      for (const path of ['/', '/guestbook/', '/source/site.ts/blog']) {
        await page.goto(demo.url + path);
        const wide = await page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth');
        assert.ok(wide <= 0, `${path} is ${wide}px wider than the screen`);
      }
    });
  });

  await t.test('a page\'s source link shows the handler\'s own code, read from the example\'s file', async () => {
    await withPage(browser, 'source', async ({ page, errors }) => {
      await page.goto(demo.url + '/blog/');
      await page.click('text=Source of this page\'s handler');
      assert.equal(new URL(page.url()).pathname, '/source/site.ts/blog');
      const code = await page.textContent('pre code');
      assert.match(code ?? '', /class Blog \{/);
      assert.match(code ?? '', /default\(\{ args \}: Context\)/);
      assert.doesNotMatch(code ?? '', /class Guestbook/, 'only the region is shown');
      const missing = await page.goto(demo.url + '/source/..%2Fpackage.json');
      assert.equal(missing?.status(), 404, 'only the demo\'s own .ts files are shown');
      assert.deepEqual(errors.filter((e) => !e.includes('404')), []);
    });
  });

  await t.test('the blog: /blog/2024/05 reaches `default` with the rest of the path as args', async () => {
    await withPage(browser, 'blog', async ({ page }) => {
      await page.goto(demo.url + '/blog/');
      await page.click('text=May 2024');
      assert.equal(await page.textContent('h1'), 'Archive 2024/05');
      assert.match(await page.textContent('main') ?? '', /\["2024","05"\]/);
      const res = await page.goto(demo.url + '/blog/nope');
      assert.equal(res?.status(), 404);
      assert.match(await page.textContent('main') ?? '', /No archive for nope/);
    });
  });

  await t.test('the guestbook: sign, redirected back, the message shown escaped', async () => {
    await withPage(browser, 'guestbook', async ({ page, errors }) => {
      await page.goto(demo.url + '/guestbook/');
      const message = `<b>bold?</b> ${Date.now()}`;
      await page.fill('input[name=message]', message);
      const [nav] = await Promise.all([page.waitForNavigation(), page.click('button:text("Sign")')]);
      assert.equal(nav?.status(), 200);
      assert.equal(new URL(page.url()).pathname, '/guestbook/', 'redirected after the POST');
      const entries = await page.$$eval('#entries li', (lis) => lis.map((li) => ({ text: li.textContent, bold: li.querySelector('b') !== null })));
      assert.deepEqual(entries.at(-1), { text: message, bold: false }, 'shown as text, not as markup');
      await page.reload();
      assert.equal((await page.$$('#entries li')).length, entries.length, 'reloading does not post again');
      assert.deepEqual(errors, []);
    });
  });

  await t.test('sessions: a counter per visitor, a login that keeps it, a logout that ends it, a signed cookie that remembers the name', async () => {
    await withPage(browser, 'account', async ({ page, errors }) => {
      await page.goto(demo.url + '/account/');
      assert.equal(await page.textContent('#visits'), '1');
      await page.reload();
      assert.equal(await page.textContent('#visits'), '2', 'the session cookie came back');
      const before = (await page.context().cookies()).find((c) => c.name === 'session_id')?.value;
      await page.fill('input[name=user]', 'demo');
      await page.fill('input[name=password]', 'demo');
      await Promise.all([page.waitForNavigation(), page.click('button:text("Log in")')]);
      assert.match(await page.textContent('main') ?? '', /Logged in as demo/);
      assert.equal(await page.textContent('#visits'), '3', 'the visits came along into the new session');
      const after = (await page.context().cookies()).find((c) => c.name === 'session_id')?.value;
      assert.ok(before !== undefined && after !== undefined && before !== after, 'logging in gave the session a new id');
      await Promise.all([page.waitForNavigation(), page.click('button:text("Log out")')]);
      assert.match(await page.textContent('main') ?? '', /Not logged in/);
      assert.equal(await page.textContent('#visits'), '1', 'a new session');
      assert.equal(await page.inputValue('input[name=user]'), 'demo', 'the signed cookie remembers the name');
      assert.deepEqual(errors, []);
    });
  });

  await t.test('an error raised by a handler is a styled page with its status', async () => {
    await withPage(browser, 'error', async ({ page }) => {
      const res = await page.goto(demo.url + '/secret');
      assert.equal(res?.status(), 403);
      assert.equal(await page.textContent('h1'), '403');
      assert.match(await page.textContent('main') ?? '', /This page is <b>private<\/b>\./, 'the message is shown as text');
      assert.equal(await page.evaluate<boolean>("[...document.styleSheets].some((s) => s.href?.endsWith('/static/drupe.css'))"), true);
    });
  });
  await demo.stop();
});
