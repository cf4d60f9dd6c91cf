// The demo's Downloads page (examples/demo/downloads.ts) in a real Chromium: a download cut and
// resumed with Range + If-Range is byte-identical, a second ask with If-None-Match is a 304, gzip
// applies to the file the page says it does, an upload's SHA-256 shown is the file's, and a file
// over the limit or of another type gets a clear message on the page.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { get, type IncomingHttpHeaders } from 'node:http';
import { gunzipSync } from 'node:zlib';
import type { Page } from 'playwright-core';
import { launchBrowser, withPage } from './helpers/browser.js';
import { startDemo } from './helpers/demo.js';
import { within } from './helpers/async.js';

const MiB = 1024 * 1024;
const WAIT = { timeout: 15_000 };
const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

/** A GET from this process, the body as it came over the wire (not decoded). */
function fetchRaw(url: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer }> {
  return within(new Promise((resolve, reject) => {
    get(url, { headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    }).on('error', reject);
  }), `GET ${url}`, 15_000);
}

/** What the page's table says of each file: data-* of its row. */
function rows(page: Page): Promise<Record<string, Record<string, string>>> {
  return page.evaluate<Record<string, Record<string, string>>>(`Object.fromEntries([...document.querySelectorAll('#files tbody tr')].map((r) => [r.dataset.file, { ...r.dataset }]))`);
}

/** Choose a file in the form, upload it, wait for the page's answer. */
async function upload(page: Page, name: string, mimeType: string, buffer: Buffer): Promise<string> {
  await page.evaluate<void>(`document.querySelector('#upload-result').textContent = ''`);
  await page.setInputFiles('#upload input[type=file]', { name, mimeType, buffer });
  await page.click('#upload button');
  await page.waitForFunction(`(() => { const t = document.querySelector('#upload-result').textContent; return t !== '' && !t.startsWith('Uploading'); })()`, null, WAIT);
  return (await page.textContent('#upload-result')) ?? '';
}

/** Chromium logs a 4xx answer to a request as a console error: those the test asked for are expected. */
const unexpected = (errors: readonly string[], status: number): string[] => errors.filter((e) => !e.includes(`status of ${status}`));

test('the Downloads page in Chromium', async (t) => {
  const demo = await startDemo(t);
  const browser = await launchBrowser(t);
  const base = demo.url + '/downloads/';

  try {
    await t.test('a download cut part-way resumes with Range and If-Range to a byte-identical file', async () => {
      await withPage(browser, 'downloads-resume', async ({ page, errors }) => {
        await page.goto(base);
        const listed = await rows(page);
        const whole = await fetchRaw(base + 'file/random.bin');
        assert.equal(whole.status, 200);
        assert.equal(whole.body.length, 4 * MiB);
        assert.equal(listed['random.bin']?.sha256, sha256(whole.body), 'the table\'s SHA-256 is the file\'s');

        await page.click('#resume');
        await page.waitForSelector('#resume-result', WAIT);
        const result = await page.evaluate<Record<string, string>>(`({ ...document.querySelector('#resume-result').dataset })`);
        assert.equal(result.status, '200,206', 'the first read was the whole file (cut), the second a range');
        const first = Number(result.first);
        assert.equal(first, MiB, 'the first read was cut after its first MiB');
        assert.match(await page.textContent('#resume-log li.rest') ?? '', new RegExp(`^206 bytes ${first}-${4 * MiB - 1}/${4 * MiB}: ${4 * MiB - first} more bytes`), 'only the missing bytes came back');
        assert.equal(Number(result.size), 4 * MiB);
        assert.equal(result.sha256, sha256(whole.body), 'the joined parts are the file, byte for byte');
        assert.equal(await page.getAttribute('#resume-result', 'class'), 'ok');

        // If-Range is honoured: with a tag that is not the file's, the answer is the whole file (200), not a range of something else.
        const stale = await page.evaluate<number[]>(`fetch('file/random.bin', { cache: 'no-store', headers: { Range: 'bytes=100-', 'If-Range': '"not-the-tag"' } }).then(async (r) => [r.status, (await r.arrayBuffer()).byteLength])`);
        assert.deepEqual(stale, [200, 4 * MiB]);
        assert.deepEqual(errors, []);
      });
    });

    await t.test('asked again with If-None-Match each file is a 304, and gzip applies where the page says', async () => {
      await withPage(browser, 'downloads-wire', async ({ page, errors }) => {
        await page.goto(base);
        const note = await page.textContent('.note') ?? '';
        assert.match(note, /readings\.csv is text: tools\.gzip/, 'the page says the CSV is compressed');
        assert.match(note, /random\.bin is random bytes/, 'and why the other is not');
        await page.click('#wire');
        await page.waitForFunction(`document.querySelectorAll('#files tbody tr[data-again]').length === 2`, null, WAIT);
        const seen = await rows(page);
        const csv = seen['readings.csv']!;
        const bin = seen['random.bin']!;
        assert.equal(csv.compressed, 'gzip');
        assert.equal(bin.compressed, 'none');
        for (const [name, row] of Object.entries(seen)) {
          assert.equal(row.encoding, row.compressed, `${name}: the Content-Encoding the browser got is the one the page states`);
          assert.equal(row.again, '304', `${name}: a second ask with its ETag is a 304`);
        }
        assert.ok(Number(csv.wire) < Number(csv.decoded) / 2, `the CSV crossed the wire compressed (${csv.wire} of ${csv.decoded} bytes)`);
        assert.equal(Number(bin.wire), 4 * MiB, 'random.bin went as it is');
        assert.equal(Number(bin.decoded), 4 * MiB);

        // The same seen from outside the browser: the gzip body is the file the table describes, and
        // random.bin keeps its byte ranges (a compressed response drops Accept-Ranges).
        const gz = await fetchRaw(base + 'file/readings.csv', { 'Accept-Encoding': 'gzip' });
        assert.equal(gz.headers['content-encoding'], 'gzip');
        assert.equal(sha256(gunzipSync(gz.body)), csv.sha256);
        const raw = await fetchRaw(base + 'file/random.bin', { 'Accept-Encoding': 'gzip' });
        assert.equal(raw.headers['content-encoding'], undefined);
        assert.equal(raw.headers['accept-ranges'], 'bytes');
        assert.deepEqual(errors, []);
      });
    });

    await t.test('an upload shows its size and SHA-256, the file\'s, with the progress bar full; nothing is kept', async () => {
      await withPage(browser, 'downloads-upload', async ({ page, errors }) => {
        await page.goto(base);
        const file = randomBytes(3 * MiB);
        await upload(page, 'photo.jpg', 'image/jpeg', file);
        assert.equal(await page.getAttribute('#upload-result', 'class'), 'ok');
        assert.equal(await page.textContent('#upload-sha256'), sha256(file), 'the checksum shown is the file\'s');
        assert.equal(await page.getAttribute('#upload-size', 'data-bytes'), String(file.length));
        assert.equal(await page.textContent('#upload-name'), 'photo.jpg (image/jpeg)');
        const bar = await page.evaluate<number[]>(`[document.querySelector('#progress').value, document.querySelector('#progress').max]`);
        assert.ok(bar[1]! > file.length, 'the bar measured the whole multipart body');
        assert.equal(bar[0], bar[1], 'the progress bar reached its end');
        const before = await page.textContent('#data-dir');
        assert.match(before ?? '', /downloads\/random\.bin, downloads\/readings\.csv/);
        assert.equal(await page.textContent('#upload-kept'), before, 'the upload left nothing in the data directory');
        assert.deepEqual(errors, []);
      });
    });

    await t.test('a file over the size limit gets a clear message on the page, and no checksum', async () => {
      await withPage(browser, 'downloads-too-large', async ({ page, errors }) => {
        await page.goto(base);
        const message = await upload(page, 'big.bin', 'application/octet-stream', randomBytes(5 * MiB));
        assert.equal(message, 'Too large (413): files up to 4.00 MiB are taken. The server said: The file is over the 4 MiB limit: it was read and dropped, nothing was kept');
        assert.equal(await page.getAttribute('#upload-result', 'class'), 'error');
        assert.equal(await page.$('#upload-sha256'), null);
        // Exactly one byte over is refused too; exactly the limit is taken.
        assert.match(await upload(page, 'edge.bin', 'application/octet-stream', Buffer.alloc(4 * MiB + 1)), /^Too large \(413\)/);
        const limit = Buffer.alloc(4 * MiB, 1);
        await upload(page, 'limit.bin', 'application/octet-stream', limit);
        assert.equal(await page.textContent('#upload-sha256'), sha256(limit));
        assert.deepEqual(unexpected(errors, 413), []);
      });
    });

    await t.test('a file of another type, or a body that is no form, gets a clear message', async () => {
      await withPage(browser, 'downloads-wrong-type', async ({ page, errors }) => {
        await page.goto(base);
        const message = await upload(page, 'page.html', 'text/html', Buffer.from('<h1>hi</h1>'));
        assert.equal(message, 'Not accepted (415): The server said: text/html files are not accepted: send text, CSV, PDF, PNG, JPEG, zip or plain binary');
        assert.equal(await page.getAttribute('#upload-result', 'class'), 'error');
        const json = await page.evaluate<[number, string]>(`fetch('upload', { method: 'POST', headers: { 'Content-Type': 'application/json', Accept: 'application/json' }, body: '{}' }).then(async (r) => [r.status, (await r.json()).detail])`);
        assert.deepEqual(json, [415, 'Send the file as multipart/form-data (the form on /downloads/ does)']);
        assert.deepEqual(unexpected(errors, 415), []);
      });
    });

    await t.test('on a phone-sized screen nothing scrolls sideways, even with the results shown', async () => {
      await withPage(browser, 'downloads-phone', async ({ page }) => {
        await page.setViewportSize({ width: 360, height: 740 });
        await page.goto(base);
        await page.click('#resume');
        await page.waitForSelector('#resume-result', WAIT);
        await upload(page, 'notes.txt', 'text/plain', Buffer.from('hello\n'));
        const wide = await page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth');
        assert.ok(wide <= 0, `the page is ${wide}px wider than the screen`);
      });
    });
  } finally {
    await demo.stop();
  }
});
