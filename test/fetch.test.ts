// app.fetch (issue 16 part 4): the web-standard handler, under node's own Request, Response and
// ReadableStream, with the body contract mapped (docs/protocols.md, "Other runtimes: app.fetch").
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import { App, exposed, HTTPRedirect, serveFile, sse, type Config, type Context, type FetchInfo } from '../src/index.js';
import { hostOf } from '../src/app/app.js';
import { rawRequest, streamRequest } from '../src/testing.js';
import { aborted, deferred, waitFor, within } from './helpers/async.js';

/** An app answering app.fetch, logs to a temp file (read with `accessLines`). */
function fetchApp(t: { after(fn: () => unknown): void }, root: object, sections: Record<string, Config> = {}, config: Config = {}): { app: App; access: string } {
  const dir = mkdtempSync(join(tmpdir(), 'drupe-fetch-'));
  const access = join(dir, 'access.log');
  const app = new App(root, sections);
  app.configure({ environment: 'test', 'log.access_file': access, 'log.screen': false, ...config });
  t.after(async () => {
    await hostOf(app).closeLogs();
    rmSync(dir, { recursive: true, force: true });
  });
  return { app, access };
}

function accessLines(file: string): string[] {
  try {
    return readFileSync(file, 'utf8').split('\n').filter((l) => l !== '');
  } catch {
    return [];
  }
}

const URL_BASE = 'http://example.test:8080';
/** Every test is bounded as a whole: no await in it can hang the suite. */
const BOUNDED = { timeout: 30_000 };

/** Read a body chunk by chunk (bounded): its text, whether it ended cleanly, and how a read failed. */
async function readToEnd(res: Response): Promise<{ text: string; ended: boolean; failure: unknown }> {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  for (let i = 0; i < 1000; i++) {
    let step: { done: true; value?: undefined } | { done: false; value: Uint8Array };
    try {
      step = await within(reader.read(), 'a chunk');
    } catch (failure) {
      return { text, ended: false, failure };
    }
    if (step.done) return { text, ended: true, failure: undefined };
    text += decoder.decode(step.value, { stream: true });
  }
  throw new Error('the body did not end within 1000 chunks');
}

test('a buffered answer is a Response with its body and Content-Length, resolved once; the access line names the client', BOUNDED, async (t) => {
  const { app, access } = fetchApp(t, { hello: exposed(({ request }: Context) => `Hello ${request.remote.ip}:${request.remote.port} ${request.host} ${request.scheme}`) });
  const res = await app.fetch(new Request(`${URL_BASE}/hello`), { remoteAddress: '203.0.113.9', remotePort: 4242 });
  assert.equal(res.status, 200);
  const body = 'Hello 203.0.113.9:4242 example.test:8080 http';
  assert.equal(res.headers.get('content-length'), String(Buffer.byteLength(body)));
  assert.equal(res.headers.get('content-type'), 'text/html;charset=utf-8');
  assert.equal(await res.text(), body);
  await waitFor(() => accessLines(access).length === 1, 'the access line');
  assert.match(accessLines(access)[0]!, /^203\.0\.113\.9 - - \[.*\] "GET \/hello HTTP\/1\.1" 200 \d+ /);
});

test("Deno's info.remoteAddr and Bun's server.requestIP give request.remote; app.fetch is bound", BOUNDED, async (t) => {
  const { app } = fetchApp(t, { ip: exposed(({ request }: Context) => `${request.remote.ip} ${request.remote.port}`) });
  const bare = app.fetch;
  // FetchInfo is exported: a host that builds its own info names the type.
  const denoInfo: FetchInfo = { remoteAddr: { hostname: '198.51.100.1', port: 7 } };
  const deno = await bare(new Request(`${URL_BASE}/ip`), denoInfo);
  assert.equal(await deno.text(), '198.51.100.1 7');
  const server = { requestIP: (r: Request) => (r.url.endsWith('/ip') ? { address: '::1', port: 9 } : null) };
  const bun = await bare(new Request(`${URL_BASE}/ip`), server);
  assert.equal(await bun.text(), '::1 9');
  const none = await bare(new Request(`${URL_BASE}/ip`));
  assert.equal(await none.text(), ' 0');
});

test('HTTPS in the URL is request.scheme; a redirect names the request URL host', BOUNDED, async (t) => {
  const { app } = fetchApp(t, { old: exposed(() => { throw new HTTPRedirect('/new'); }) });
  const res = await app.fetch(new Request('https://shop.example:8443/old'));
  assert.equal(res.status, 303);
  assert.equal(res.headers.get('location'), 'https://shop.example:8443/new');
});

test('a streamed body is a ReadableStream pulled on demand: the producer never runs ahead of the reads', BOUNDED, async (t) => {
  let produced = 0;
  let finished = false;
  const { app } = fetchApp(t, {
    count: exposed(() => (async function* () {
      try {
        for (let i = 0; i < 50; i++) {
          produced++;
          yield `chunk ${i};`;
        }
      } finally {
        finished = true;
      }
    })()),
  }, { '/': { 'response.stream': true } });
  const res = await app.fetch(new Request(`${URL_BASE}/count`));
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-length'), null);
  assert.equal(res.headers.get('transfer-encoding'), null, 'no connection-level header reaches the runtime');
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  let reads = 0;
  for (;;) {
    // Let every pending callback run: a producer run ahead would show in `produced` now.
    await new Promise((resolve) => setImmediate(resolve));
    assert.ok(produced <= reads + 1, `produced ${produced} after ${reads} reads`);
    const { done, value } = await within(reader.read(), 'a chunk');
    if (done) break;
    reads++;
    text += decoder.decode(value, { stream: true });
  }
  assert.equal(text, Array.from({ length: 50 }, (_, i) => `chunk ${i};`).join(''));
  assert.equal(produced, 50);
  assert.equal(finished, true);
});

test('response.flushHeaders() resolves the Response before the first chunk exists (S1)', BOUNDED, async (t) => {
  const release = deferred();
  const { app } = fetchApp(t, {
    later: exposed(({ response }: Context) => {
      response.headers.set('Content-Type', 'text/plain');
      response.flushHeaders();
      return (async function* () {
        await release.promise;
        yield 'now';
      })();
    }),
  }, { '/': { 'response.stream': true } });
  const res = await within(app.fetch(new Request(`${URL_BASE}/later`)), 'the Response before any chunk');
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'text/plain');
  release.resolve();
  assert.equal(await within(res.text(), 'the body'), 'now');
});

test('lazy commit: an error before the first chunk is a real 500 page', BOUNDED, async (t) => {
  const { app } = fetchApp(t, {
    early: exposed(() => (async function* () {
      throw new Error('no data');
      yield 'never';
    })()),
  }, { '/': { 'response.stream': true } });
  const res = await app.fetch(new Request(`${URL_BASE}/early`));
  assert.equal(res.status, 500);
  assert.match(await res.text(), /500 Internal Server Error/);
});

test('a failure after commit errors the body stream (never a clean end), and the access line says error', BOUNDED, async (t) => {
  const { app, access } = fetchApp(t, {
    late: exposed(() => (async function* () {
      yield 'first;';
      yield 'second;';
      throw new Error('database went away');
    })()),
  }, { '/': { 'response.stream': true } });
  const res = await app.fetch(new Request(`${URL_BASE}/late`));
  assert.equal(res.status, 200);
  const { text, ended, failure } = await readToEnd(res);
  assert.equal(ended, false, 'the body must not end cleanly');
  assert.equal(text, 'first;second;');
  assert.ok(failure instanceof Error, 'reader.read() rejects');
  assert.equal(failure.name, 'TruncatedBodyError');
  await waitFor(() => accessLines(access).length === 1, 'the access line');
  assert.match(accessLines(access)[0]!, / outcome=error /);
  // text() of a cut body rejects too: a runtime copying it to a socket cuts the response.
  const again = await app.fetch(new Request(`${URL_BASE}/late`));
  await assert.rejects(again.text());
});

test("the request's signal aborting (client gone) aborts request.signal and runs the producer's finally", BOUNDED, async (t) => {
  const inHandler = deferred<AbortSignal>();
  const finallyRan = deferred();
  const { app, access } = fetchApp(t, {
    feed: exposed(({ request }: Context) => {
      inHandler.resolve(request.signal);
      return (async function* () {
        try {
          yield 'one;';
          await aborted(request.signal); // waits for the client to leave (S6: a generator's finally runs once its pending step settles)
        } finally {
          finallyRan.resolve();
        }
      })();
    }),
  }, { '/': { 'response.stream': true } });
  const client = new AbortController();
  const res = await app.fetch(new Request(`${URL_BASE}/feed`, { signal: client.signal }));
  const reader = res.body!.getReader();
  assert.equal(new TextDecoder().decode((await reader.read()).value), 'one;');
  const pending = reader.read().catch((err: unknown) => err);
  const signal = await inHandler.promise;
  assert.equal(signal.aborted, false);
  client.abort();
  await within(aborted(signal), 'request.signal to abort');
  assert.equal((signal.reason as { code?: string }).code, 'DRUPE_CLIENT_CLOSED');
  await within(finallyRan.promise, "the producer's finally");
  await waitFor(() => accessLines(access).length === 1, 'the access line');
  assert.match(accessLines(access)[0]!, / outcome=client-closed /);
  const left = await within(pending, 'the pending read to settle');
  assert.equal((left as { code?: string }).code, 'DRUPE_CLIENT_CLOSED', 'a read still pending fails: the body will not go on');
});

test("cancel() of the body is the client going away: request.signal aborts, the producer's finally runs", BOUNDED, async (t) => {
  let signal: AbortSignal | undefined;
  const finallyRan = deferred();
  let produced = 0;
  const { app, access } = fetchApp(t, {
    feed: exposed(({ request }: Context) => {
      signal = request.signal;
      return (async function* () {
        try {
          for (;;) {
            produced++;
            yield 'tick;';
          }
        } finally {
          finallyRan.resolve();
        }
      })();
    }),
  }, { '/': { 'response.stream': true } });
  const res = await app.fetch(new Request(`${URL_BASE}/feed`));
  const reader = res.body!.getReader();
  await reader.read();
  await reader.read();
  await reader.cancel();
  await within(finallyRan.promise, "the producer's finally");
  assert.equal(signal?.aborted, true);
  assert.ok(produced <= 4, `the endless producer stopped (${produced} chunks)`);
  await waitFor(() => accessLines(access).length === 1, 'the access line');
  assert.match(accessLines(access)[0]!, / outcome=client-closed /);
});

test('a client already gone before the answer: the promise rejects, the handler sees an aborted signal', BOUNDED, async (t) => {
  let sawAborted: boolean | undefined;
  const { app } = fetchApp(t, { x: exposed(({ request }: Context) => { sawAborted = request.signal.aborted; return 'late'; }) });
  const client = new AbortController();
  client.abort();
  await assert.rejects(app.fetch(new Request(`${URL_BASE}/x`, { signal: client.signal })));
  assert.equal(sawAborted, true);
});

test('HEAD never pulls the body: headers only, the producer untouched past its commit point', BOUNDED, async (t) => {
  let pulls = 0;
  const { app } = fetchApp(t, {
    feed: exposed(() => (async function* () {
      for (;;) {
        pulls++;
        yield 'data';
      }
    })()),
    page: exposed(() => 'a buffered page'),
  }, { '/': { 'response.stream': true } });
  const res = await app.fetch(new Request(`${URL_BASE}/feed`, { method: 'HEAD' }));
  assert.equal(res.status, 200);
  // No length to declare: an empty body stream, so a runtime does not say Content-Length: 0.
  assert.equal(res.headers.get('content-length'), null);
  assert.equal(await within(res.text(), 'the empty body'), '');
  assert.ok(pulls <= 1, `pulled ${pulls} times`);
  const page = await app.fetch(new Request(`${URL_BASE}/page`, { method: 'HEAD' }));
  assert.equal(page.body, null);
  assert.equal(page.headers.get('content-length'), String('a buffered page'.length));
});

test('tools.gzip: a streamed body compressed and flushed per chunk', BOUNDED, async (t) => {
  const { app } = fetchApp(t, {
    feed: exposed(() => (async function* () {
      for (let i = 0; i < 5; i++) yield `line ${i}\n`.repeat(20);
    })()),
  }, { '/': { 'response.stream': true, 'tools.gzip.on': true } });
  const res = await app.fetch(new Request(`${URL_BASE}/feed`, { headers: { 'Accept-Encoding': 'gzip' } }));
  assert.equal(res.headers.get('content-encoding'), 'gzip');
  const reader = res.body!.getReader();
  const parts: Uint8Array[] = [];
  for (let i = 0; i < 100; i++) {
    const { done, value } = await within(reader.read(), 'a chunk');
    if (done) break;
    parts.push(value);
  }
  assert.ok(parts.length >= 5, `one flushed piece per chunk at least (${parts.length})`);
  // The first piece alone inflates to the first chunk: it was flushed, not held.
  const first = gunzipSync(Buffer.concat(parts.slice(0, 1)), { finishFlush: 2 /* Z_SYNC_FLUSH */ }).toString();
  assert.equal(first, 'line 0\n'.repeat(20));
  const all = gunzipSync(Buffer.concat(parts)).toString();
  assert.equal(all, Array.from({ length: 5 }, (_, i) => `line ${i}\n`.repeat(20)).join(''));
});

test('sse(): an event stream read event by event', BOUNDED, async (t) => {
  const { app } = fetchApp(t, { events: exposed(() => sse(['hello', { event: 'tick', data: 'two' }])) });
  const res = await app.fetch(new Request(`${URL_BASE}/events`));
  assert.equal(res.headers.get('content-type'), 'text/event-stream;charset=utf-8');
  const text = await within(res.text(), 'the event stream');
  assert.match(text, /data: hello\n\n/);
  assert.match(text, /event: tick\ndata: two\n\n/);
});

test("sse() failing after it started: its in-band error event is read, then the body errors", BOUNDED, async (t) => {
  const { app } = fetchApp(t, {
    events: exposed(() => sse((async function* () {
      yield 'first';
      throw new Error('feed lost');
    })())),
  });
  const res = await app.fetch(new Request(`${URL_BASE}/events`));
  const { text, ended, failure } = await readToEnd(res);
  assert.equal(ended, false, 'the body must not end cleanly');
  assert.match(text, /data: first\n\n/);
  assert.match(text, /event: stream-error\ndata: The stream failed\n\n$/);
  assert.ok(failure instanceof Error);
  assert.equal(failure.name, 'TruncatedBodyError');
});

test('serveFile: a Range gives 206 with Content-Range; If-None-Match gives 304 with no body', BOUNDED, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'drupe-fetch-file-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const content = 'abcdefghijklmnopqrstuvwxyz'.repeat(4000);
  writeFileSync(join(dir, 'a.txt'), content);
  const { app } = fetchApp(t, { file: exposed(() => serveFile(join(dir, 'a.txt'))) });
  const whole = await app.fetch(new Request(`${URL_BASE}/file`));
  assert.equal(whole.status, 200);
  assert.equal(whole.headers.get('content-length'), String(content.length));
  assert.equal(await whole.text(), content);
  const part = await app.fetch(new Request(`${URL_BASE}/file`, { headers: { Range: 'bytes=10-19' } }));
  assert.equal(part.status, 206);
  assert.equal(part.headers.get('content-range'), `bytes 10-19/${content.length}`);
  assert.equal(await part.text(), content.slice(10, 20));
  const etag = whole.headers.get('etag');
  assert.ok(etag !== null);
  const same = await app.fetch(new Request(`${URL_BASE}/file`, { headers: { 'If-None-Match': etag } }));
  assert.equal(same.status, 304);
  assert.equal(same.body, null);
});

test('a POST body: request.json(), and a urlencoded form into params', BOUNDED, async (t) => {
  const { app } = fetchApp(t, {
    api: exposed(async ({ request }: Context) => JSON.stringify(await request.json())),
    form: exposed(({ params }: Context) => `${String(params.a)}+${String(params.b)}`),
  });
  const json = await app.fetch(new Request(`${URL_BASE}/api`, { method: 'POST', body: JSON.stringify({ x: [1, 2] }), headers: { 'Content-Type': 'application/json' } }));
  assert.equal(await json.text(), '{"x":[1,2]}');
  const form = await app.fetch(new Request(`${URL_BASE}/form?b=q`, { method: 'POST', body: new URLSearchParams({ a: 'one two' }) }));
  assert.equal(await form.text(), 'one two+q');
  // A body of unknown length (a stream), read on demand like a chunked one.
  const streamed = new ReadableStream<Uint8Array>({
    start(c) {
      c.enqueue(new TextEncoder().encode('{"y":'));
      c.enqueue(new TextEncoder().encode('true}'));
      c.close();
    },
  });
  const chunked = await app.fetch(new Request(`${URL_BASE}/api`, { method: 'POST', body: streamed, duplex: 'half' } as RequestInit));
  assert.equal(await chunked.text(), '{"y":true}');
});

test('a multipart body (FormData) fills params and uploads, read through the same bounded stream', BOUNDED, async (t) => {
  const { app } = fetchApp(t, {
    upload: exposed(async ({ params }: Context) => {
      const file = params.doc as unknown as { filename: string; size: number };
      return `${String(params.title)} ${file.filename} ${file.size}`;
    }),
  });
  const form = new FormData();
  form.append('title', 'report');
  form.append('doc', new Blob(['z'.repeat(5000)], { type: 'text/plain' }), 'r.txt');
  const res = await app.fetch(new Request(`${URL_BASE}/upload`, { method: 'POST', body: form }));
  assert.equal(await res.text(), 'report r.txt 5000');
});

test('a request body that fails mid-way (the client left during the upload) rejects the read; nothing hangs', BOUNDED, async (t) => {
  let readError: unknown;
  const { app, access } = fetchApp(t, {
    api: exposed(async ({ request }: Context) => {
      try {
        return String((await request.bytes()).length);
      } catch (err) {
        readError = err;
        throw err;
      }
    }),
  });
  let sent = 0;
  const failing = new ReadableStream<Uint8Array>({
    pull(c) {
      if (sent++ === 0) c.enqueue(new Uint8Array(100));
      else c.error(new Error('connection reset'));
    },
  }, { highWaterMark: 0 });
  const answer = app.fetch(new Request(`${URL_BASE}/api`, { method: 'POST', body: failing, duplex: 'half' } as RequestInit));
  await within(answer.then(() => undefined, () => undefined), 'the exchange to settle');
  assert.equal((readError as { name?: string } | undefined)?.name, 'ClientGoneError');
  await waitFor(() => accessLines(access).length === 1, 'the access line');
});

test('an oversize body is a 413, declared or not, and is not read past the limit', BOUNDED, async (t) => {
  const { app } = fetchApp(t, { api: exposed(async ({ request }: Context) => String((await request.bytes()).length)) }, { '/': { 'server.max_request_body_size': 1000 } });
  const declared = await app.fetch(new Request(`${URL_BASE}/api`, { method: 'POST', body: 'x'.repeat(2000), headers: { 'Content-Length': '2000' } }));
  assert.equal(declared.status, 413);
  let pulled = 0;
  const endless = new ReadableStream<Uint8Array>({
    pull(c) {
      pulled++;
      c.enqueue(new Uint8Array(400));
    },
  }, { highWaterMark: 0 });
  const res = await within(app.fetch(new Request(`${URL_BASE}/api`, { method: 'POST', body: endless, duplex: 'half' } as RequestInit)), 'the 413');
  assert.equal(res.status, 413);
  assert.ok(pulled < 10, `read ${pulled} chunks of an endless body`);
  const fits = await app.fetch(new Request(`${URL_BASE}/api`, { method: 'POST', body: 'y'.repeat(999) }));
  assert.equal(await fits.text(), '999');
});

test('a 404 is the error page; a 204 has no body, and no connection-level header', BOUNDED, async (t) => {
  const { app } = fetchApp(t, {
    empty: exposed(({ response }: Context) => {
      response.status = 204;
      response.headers.set('Connection', 'close');
      response.headers.set('Keep-Alive', 'timeout=5');
      return '';
    }),
  });
  const missing = await app.fetch(new Request(`${URL_BASE}/nowhere`));
  assert.equal(missing.status, 404);
  assert.match(await missing.text(), /404 Not Found/);
  const empty = await app.fetch(new Request(`${URL_BASE}/empty`));
  assert.equal(empty.status, 204);
  assert.equal(empty.body, null);
  assert.equal(empty.headers.get('connection'), null, "connection-level headers are the runtime's");
  assert.equal(empty.headers.get('keep-alive'), null);
});

/**
 * A minimal web-standard host over node:http, as a runtime serves a fetch handler: the request
 * becomes a web Request (its signal aborts when the client leaves), the Response's body is copied
 * to the socket as it is read, and a body that errors cuts the connection.
 */
async function bridge(t: { after(fn: () => unknown): void }, app: App): Promise<number> {
  const server = createServer((req, res) => {
    const client = new AbortController();
    res.on('close', () => { if (!res.writableFinished) client.abort(); });
    const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
    const request = new Request(`http://${req.headers.host ?? 'localhost'}${req.url ?? '/'}`, {
      method: req.method ?? 'GET',
      headers: Object.entries(req.headers).flatMap(([k, v]) => (v === undefined ? [] : (Array.isArray(v) ? v : [v]).map((x): [string, string] => [k, x]))),
      signal: client.signal,
      ...(hasBody ? { body: Readable.toWeb(req) as ReadableStream<Uint8Array>, duplex: 'half' } : {}),
    } as RequestInit);
    app.fetch(request, { remoteAddress: req.socket.remoteAddress, remotePort: req.socket.remotePort }).then(async (response) => {
      res.writeHead(response.status, [...response.headers].flat());
      if (response.body === null) return void res.end();
      res.flushHeaders();
      const reader = response.body.getReader();
      let flushed: Promise<unknown> = Promise.resolve();
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          flushed = new Promise((resolve) => res.write(value, resolve));
          if (res.writableNeedDrain) await new Promise((resolve) => res.once('drain', resolve));
        }
        res.end();
      } catch {
        // What was read goes out first, then the connection is cut (no terminator).
        await flushed;
        res.destroy();
      }
    }, () => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve); }));
  return (server.address() as AddressInfo).port;
}

test('over a real socket through a web-standard host: streamed, buffered, a failure after commit cut visibly, a POST', BOUNDED, async (t) => {
  const { app, access } = fetchApp(t, {
    stream: exposed(() => (async function* () { yield 'a;'; yield 'b;'; })()),
    fail: exposed(() => (async function* () { yield 'a;'; throw new Error('boom'); })()),
    page: exposed(() => 'buffered'),
    echo: exposed(async ({ request }: Context) => `got ${(await request.text()).length}`),
  }, { '/stream': { 'response.stream': true }, '/fail': { 'response.stream': true } });
  const port = await bridge(t, app);
  const streamed = await rawRequest(port, 'GET /stream HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n');
  assert.equal(streamed.responses[0]!.framing, 'chunked');
  assert.equal(streamed.responses[0]!.complete, true);
  assert.equal(streamed.responses[0]!.body.toString(), 'a;b;');
  const page = await rawRequest(port, 'GET /page HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n');
  assert.equal(page.responses[0]!.framing, 'content-length');
  assert.equal(page.responses[0]!.body.toString(), 'buffered');
  const cut = await rawRequest(port, 'GET /fail HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n');
  assert.equal(cut.responses[0]!.status, 200);
  assert.equal(cut.responses[0]!.complete, false, 'no chunked terminator after a failure');
  assert.equal(cut.responses[0]!.body.toString(), 'a;');
  const post = await rawRequest(port, 'POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n0\r\n\r\n');
  assert.equal(post.responses[0]!.body.toString(), 'got 5');
  await waitFor(() => accessLines(access).length === 4, 'four access lines');
  assert.match(accessLines(access)[0]!, /^127\.0\.0\.1 - - /);
});

test('over a real socket: a client that disconnects mid-stream aborts request.signal through the host, the producer finalizes', BOUNDED, async (t) => {
  const finallyRan = deferred();
  let signal: AbortSignal | undefined;
  const { app, access } = fetchApp(t, {
    feed: exposed(({ request }: Context) => {
      signal = request.signal;
      return (async function* () {
        try {
          for (let i = 0; i < 10_000; i++) {
            yield `event ${i}\n`;
            await new Promise((resolve) => setTimeout(resolve, 1));
          }
        } finally {
          finallyRan.resolve();
        }
      })();
    }),
  }, { '/': { 'response.stream': true } });
  const port = await bridge(t, app);
  const client = await streamRequest(port, { path: '/feed', disconnectAfterChunks: 2 });
  assert.equal(client.status, 200);
  const result = await client.done();
  assert.equal(result.complete, false);
  await within(finallyRan.promise, "the producer's finally");
  assert.equal(signal?.aborted, true);
  await waitFor(() => accessLines(access).length === 1, 'the access line');
  assert.match(accessLines(access)[0]!, / outcome=client-closed /);
});

test('Expect: 100-continue, two Set-Cookie headers and a custom reason phrase', BOUNDED, async () => {
  const app = new App({
    post: exposed(async ({ request, response }: Context) => {
      response.status = '201 Made It' as unknown as number;
      response.setCookie('a', '1');
      response.setCookie('b', '2');
      return `read ${(await request.text()).length}`;
    }),
  });
  app.configure({ environment: 'test' });
  const res = await app.fetch(new Request(`${URL_BASE}/post`, { method: 'POST', body: 'abc', headers: { Expect: '100-continue' } }));
  assert.equal(res.status, 201);
  assert.equal(res.statusText, 'Made It');
  assert.deepEqual(res.headers.getSetCookie().map((c) => c.split(';')[0]), ['a=1', 'b=2']);
  assert.equal(await res.text(), 'read 3');
});
