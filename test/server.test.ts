// The server (src/server.ts): serve(), keep-alive, HTTP/1.0, 100-continue,
// Date/Server headers, the request body bound, timeouts and graceful close —
// all asserted on raw bytes over real sockets on 127.0.0.1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { App, serve, quickstart, exposed, type Config, type Context } from '../src/index.js';
import { rawRequest, streamRequest, type RawResult } from '../src/testing.js';
import { deferred, waitFor, within } from './helpers/async.js';
import { feedUntilAborted } from './helpers/streaming.js';
import { req } from './helpers/http.js';
import { startApp, get } from './helpers/server.js';

/** A hang guard for waits that must end (never a timing assertion). */
const GUARD_MS = 10_000;

/**
 * A raw keep-alive connection: send one request, read its response, and then
 * stay connected, reporting when the server closes it.
 */
async function idleConnection(port: number, request: string): Promise<{ first: string; closed: Promise<void>; socket: net.Socket }> {
  const socket = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
  socket.unref();
  await once(socket, 'connect');
  let got = '';
  const closed = new Promise<void>((resolve) => {
    socket.on('end', resolve);
    socket.on('close', () => resolve());
    socket.on('error', () => resolve());
  });
  const first = new Promise<string>((resolve, reject) => {
    socket.on('data', (d: Buffer) => {
      got += d.toString('latin1');
      const head = got.indexOf('\r\n\r\n');
      if (head < 0) return;
      const m = /\r\ncontent-length: *(\d+)/i.exec(got.slice(0, head));
      if (m !== null && got.length >= head + 4 + Number(m[1])) resolve(got);
    });
    void closed.then(() => reject(new Error(`connection closed before a response: ${JSON.stringify(got)}`)));
  });
  socket.write(request);
  return { first: await within(first, 'the first response', GUARD_MS), closed, socket };
}

function assertClosed(res: RawResult): void {
  assert.equal(res.closedByServer, true, 'the server closes the connection');
  assert.equal(res.timedOut, false, 'within the hang guard');
}

// ---------------------------------------------------------------------------
// serve()

test('serve() with port 0 resolves to { url, port, close } once listening', async () => {
  const app = new App({ index: exposed(() => 'up') });
  const server = await serve(app, { host: '127.0.0.1', port: 0, config: { environment: 'test' } });
  try {
    assert.equal(typeof server.port, 'number');
    assert.ok(server.port > 0, 'a real port was picked');
    assert.equal(server.url, `http://127.0.0.1:${server.port}`);
    assert.equal(typeof server.close, 'function');
    // Listening already: the first request succeeds without waiting.
    const res = await rawRequest(server.port, req('/'));
    assert.equal(res.responses[0]?.status, 200);
    assert.equal(res.responses[0]?.body.toString(), 'up');
  } finally {
    await server.close();
  }
  // Closed: nothing listens on that port any more.
  await assert.rejects(rawRequest(server.port, req('/')), /ECONNREFUSED/);
});

test('server.socket_host / server.socket_port config keys pick the address when options omit them', async (t) => {
  const app = new App({ index: exposed(() => 'cfg') });
  const server = await serve(app, { config: { environment: 'test', 'server.socket_host': '127.0.0.1', 'server.socket_port': 0 } });
  t.after(() => server.close());
  assert.ok(server.port > 0);
  assert.equal(server.url, `http://127.0.0.1:${server.port}`);
  assert.equal((await get(server.url + '/')).text, 'cfg');
});

test('quickstart exists, serves the tree and prints its URL', async (t) => {
  assert.equal(typeof quickstart, 'function');
  const before = { int: process.listeners('SIGINT'), term: process.listeners('SIGTERM') };
  const printed: string[] = [];
  const write = process.stdout.write;
  process.stdout.write = ((chunk: string | Uint8Array) => {
    printed.push(String(chunk));
    return true;
  }) as typeof process.stdout.write;
  const server = await (async () => {
    try {
      return await quickstart({ index: exposed(() => 'quick') }, {}, { host: '127.0.0.1', port: 0, config: { environment: 'test' } });
    } finally {
      process.stdout.write = write;
    }
  })();
  t.after(async () => {
    // close() takes the server off the engine and undoes quickstart's engine.signals(): never send a signal here.
    await server.close();
    assert.deepEqual(process.listeners('SIGINT'), before.int, 'close() removed the SIGINT handler');
    assert.deepEqual(process.listeners('SIGTERM'), before.term, 'close() removed the SIGTERM handler');
  });
  assert.ok(printed.join('').includes(server.url), `printed the URL: ${JSON.stringify(printed)}`);
  assert.ok(process.listeners('SIGINT').length > before.int.length, 'stops gracefully on SIGINT');
  assert.ok(process.listeners('SIGTERM').length > before.term.length, 'stops gracefully on SIGTERM');
  const res = await rawRequest(server.port, req('/'));
  assert.equal(res.responses[0]?.body.toString(), 'quick');
});

// ---------------------------------------------------------------------------
// Connections

test('keep-alive: several requests, one after another, on one socket', async (t) => {
  let n = 0;
  const server = await startApp({ index: exposed(() => `hit ${++n}`) });
  t.after(() => server.close());
  const res = await rawRequest(server.port, [req('/'), req('/'), req('/')], { delayBetweenMs: 100, idleMs: 400 });
  assert.equal(res.responses.length, 3);
  assert.deepEqual(res.responses.map((r) => r.body.toString()), ['hit 1', 'hit 2', 'hit 3']);
  for (const r of res.responses) {
    assert.equal(r.status, 200);
    assert.equal(r.framing, 'content-length');
    assert.equal(r.complete, true);
    assert.notEqual(r.headers.connection?.toLowerCase(), 'close');
  }
  assert.equal(res.closedByServer, false, 'the connection stays open for more');
});

test('keep-alive survives a 404 and a POST whose body the handler never read', async (t) => {
  const server = await startApp({ index: exposed(() => 'ok') });
  t.after(() => server.close());
  const post = 'POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\n\r\nhello';
  const res = await rawRequest(server.port, [req('/missing'), post, req('/')], { delayBetweenMs: 100, idleMs: 400 });
  assert.deepEqual(res.responses.map((r) => r.status), [404, 200, 200]);
  assert.equal(res.closedByServer, false);
});

test('HTTP/1.0: the response closes the connection, never chunked', async (t) => {
  const server = await startApp({
    index: exposed(() => 'old client'),
    feed: exposed(function* () { yield 'a'; yield 'b'; }, { 'response.stream': true }),
  });
  t.after(() => server.close());

  const buffered = await rawRequest(server.port, req('/', { version: '1.0' }));
  assertClosed(buffered);
  assert.equal(buffered.responses.length, 1);
  const r = buffered.responses[0]!;
  assert.equal(r.status, 200);
  assert.match(r.httpVersion, /^1\.[01]$/);
  assert.equal(r.headers['transfer-encoding'], undefined);
  assert.equal(r.headers['content-length'], '10');
  assert.equal(r.body.toString(), 'old client');

  const streamed = await rawRequest(server.port, req('/feed', { version: '1.0' }));
  assertClosed(streamed);
  const s = streamed.responses[0]!;
  assert.equal(s.status, 200);
  assert.equal(s.headers['transfer-encoding'], undefined, 'no chunked framing for HTTP/1.0');
  assert.equal(s.framing, 'close');
  assert.equal(s.complete, true);
  assert.equal(s.body.toString(), 'ab');
  assert.ok(!streamed.text.includes('\r\n0\r\n\r\n'), 'no chunk terminator on the wire');
});

test('every response carries Date and Server headers', async (t) => {
  const server = await startApp({ index: exposed(() => 'x') });
  t.after(() => server.close());
  const res = await rawRequest(server.port, [req('/'), req('/nowhere')], { delayBetweenMs: 50 });
  assert.equal(res.responses.length, 2);
  for (const r of res.responses) {
    assert.ok(r.headers.date !== undefined, 'Date present');
    assert.ok(!Number.isNaN(Date.parse(r.headers.date)), `Date is an HTTP date: ${r.headers.date}`);
    assert.ok(r.headers.server !== undefined && r.headers.server.length > 0, 'Server present');
  }
});

// ---------------------------------------------------------------------------
// Expect: 100-continue

test('Expect: 100-continue: 100 Continue when the handler reads the body, then the final response with it', async (t) => {
  const server = await startApp({
    echo: exposed(async ({ request }: Context) => `got ${await request.text()}`),
  });
  t.after(() => server.close());
  const res = await streamRequest(server.port, {
    method: 'POST', path: '/echo', body: 'the body',
    headers: { Expect: '100-continue', 'Content-Type': 'text/plain' },
  });
  assert.equal(res.interim.length, 1);
  assert.equal(res.interim[0]!.status, 100);
  assert.equal(res.status, 200);
  assert.equal(await res.text(), 'got the body');
});

test('Expect: 100-continue on raw bytes: the 100 comes first, the body is sent only then', async (t) => {
  const server = await startApp({
    echo: exposed(async ({ request }: Context) => `got ${await request.text()}`),
  });
  t.after(() => server.close());
  const socket = net.connect({ port: server.port, host: '127.0.0.1' });
  socket.unref();
  t.after(() => socket.destroy());
  await once(socket, 'connect');
  let got = '';
  const waitFor = (re: RegExp): Promise<void> => within(new Promise<void>((resolve) => {
    const check = (): void => { if (re.test(got)) { socket.off('data', onData); resolve(); } };
    const onData = (d: Buffer): void => { got += d.toString('latin1'); check(); };
    socket.on('data', onData);
    check();
  }), String(re), GUARD_MS);
  socket.write('POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n');
  await waitFor(/^HTTP\/1\.1 100 Continue\r\n\r\n/);
  assert.ok(!/HTTP\/1\.1 200/.test(got), 'no final response before the body');
  socket.write('data');
  await waitFor(/got data$/);
  assert.match(got, /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 OK\r\n/);
});

test('Expect: 100-continue and a handler that never reads the body: no 100, the answer closes the connection', async (t) => {
  const server = await startApp({ index: exposed(() => 'not interested') });
  t.after(() => server.close());
  const res = await rawRequest(server.port, 'POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 10\r\nExpect: 100-continue\r\n\r\n');
  assert.ok(!res.text.includes('100 Continue'));
  assert.equal(res.responses.length, 1);
  assert.equal(res.responses[0]!.status, 200);
  assert.equal(res.responses[0]!.headers.connection?.toLowerCase(), 'close');
  assertClosed(res);
});

// ---------------------------------------------------------------------------
// server.max_request_body_size

const LIMIT: Config = { 'server.max_request_body_size': 100 };

function chunked(total: number, size = 50): string {
  let out = '';
  for (let sent = 0; sent < total; sent += size) out += `${size.toString(16)}\r\n${'x'.repeat(size)}\r\n`;
  return out + '0\r\n\r\n';
}

function assert413(res: RawResult): void {
  assert.equal(res.responses.length, 1, `one response: ${JSON.stringify(res.text.slice(0, 300))}`);
  const r = res.responses[0]!;
  assert.equal(r.status, 413);
  assert.equal(r.headers.connection?.toLowerCase(), 'close');
  assertClosed(res);
}

test('max_request_body_size: a declared Content-Length over the limit is a 413 before the handler runs', async (t) => {
  let ran = 0;
  const server = await startApp({ index: exposed(async ({ request }: Context) => { ran++; return String((await request.bytes()).length); }) }, {}, LIMIT);
  t.after(() => server.close());
  // Only the head: the server must not wait for a body it will refuse.
  const res = await rawRequest(server.port, 'POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 101\r\n\r\n');
  assert413(res);
  // With the body too.
  const withBody = await rawRequest(server.port, `POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 500\r\n\r\n${'x'.repeat(500)}`);
  assert413(withBody);
  assert.equal(ran, 0, 'the handler never ran');
  // At the limit it is fine.
  const ok = await rawRequest(server.port, `POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n${'x'.repeat(100)}`);
  assert.equal(ok.responses[0]?.status, 200);
  assert.equal(ok.responses[0]?.body.toString(), '100');
});

test('max_request_body_size: a chunked body over the limit that the handler reads is a 413', async (t) => {
  let ran = 0;
  const server = await startApp({ index: exposed(async ({ request }: Context) => { ran++; return String((await request.bytes()).length); }) }, {}, LIMIT);
  t.after(() => server.close());
  const res = await rawRequest(server.port, `POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n${chunked(300)}`);
  assert413(res);
  assert.equal(ran, 1);
  const ok = await rawRequest(server.port, `POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n${chunked(100)}`);
  assert.equal(ok.responses[0]?.status, 200);
  assert.equal(ok.responses[0]?.body.toString(), '100');
});

test('max_request_body_size: a chunked body over the limit that the handler does NOT read is a 413', async (t) => {
  const server = await startApp({ index: exposed(() => 'ignored the body') }, {}, LIMIT);
  t.after(() => server.close());
  const res = await rawRequest(server.port, `POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n${chunked(300)}`);
  assert413(res);
  // Under the limit the unread body is drained and the connection reused.
  const ok = await rawRequest(server.port, [`POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n${chunked(50)}`, req('/')], { delayBetweenMs: 100 });
  assert.deepEqual(ok.responses.map((r) => r.status), [200, 200]);
});

test('max_request_body_size: a body of exactly the limit, sent in pieces, is accepted', async (t) => {
  const server = await startApp({ index: exposed(async ({ request }: Context) => String((await request.bytes()).length)) }, {}, LIMIT);
  t.after(() => server.close());
  const pieces = ['POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n', ...Array.from({ length: 4 }, () => 'x'.repeat(25))];
  const res = await rawRequest(server.port, pieces, { delayBetweenMs: 20 });
  assert.equal(res.responses[0]?.status, 200);
  assert.equal(res.responses[0]?.body.toString(), '100');
});

// ---------------------------------------------------------------------------
// Timeouts

const TIMEOUTS: Config = { 'server.headers_timeout': 1, 'server.request_timeout': 2 };

function assertTimedOut(res: RawResult): void {
  assertClosed(res);
  // Either a 408 or a bare close; never a success.
  for (const r of res.responses) assert.equal(r.status, 408, `only a 408 may be sent: ${JSON.stringify(res.text.slice(0, 200))}`);
}

test('server.headers_timeout: slow headers get a 408 and a close', async (t) => {
  let ran = 0;
  const server = await startApp({ index: exposed(() => { ran++; return 'x'; }) }, {}, TIMEOUTS);
  t.after(() => server.close());
  // Half a head, then nothing.
  const res = await rawRequest(server.port, 'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n', { timeoutMs: GUARD_MS, idleMs: GUARD_MS });
  assertTimedOut(res);
  assert.equal(res.responses.length, 1, 'a 408 before the close');
  assert.equal(res.responses[0]!.headers.connection?.toLowerCase(), 'close');
  assert.equal(ran, 0);
});

test('server.headers_timeout: a header line trickled byte by byte is still cut', async (t) => {
  const server = await startApp({ index: exposed(() => 'x') }, {}, TIMEOUTS);
  t.after(() => server.close());
  // A byte every 200 ms keeps the socket busy but never finishes the head.
  const drip = Array.from('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ' + 'a'.repeat(100));
  const res = await rawRequest(server.port, drip, { delayBetweenMs: 200, timeoutMs: GUARD_MS, idleMs: GUARD_MS });
  assertTimedOut(res);
});

test('server.headers_timeout: a client that connects and sends nothing is closed', async (t) => {
  const server = await startApp({ index: exposed(() => 'x') }, {}, TIMEOUTS);
  t.after(() => server.close());
  const res = await rawRequest(server.port, Buffer.alloc(0), { timeoutMs: GUARD_MS, idleMs: GUARD_MS });
  assertTimedOut(res);
});

test('server.request_timeout: a slow body gets a 408 and a close', async (t) => {
  let ran = 0;
  const server = await startApp({
    index: exposed(async ({ request }: Context) => { ran++; return String((await request.bytes()).length); }),
  }, {}, TIMEOUTS);
  t.after(() => server.close());
  // The head is complete, the body never is.
  const res = await rawRequest(server.port, 'POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\nonly a little', { timeoutMs: GUARD_MS, idleMs: GUARD_MS });
  assertTimedOut(res);
  assert.equal(res.responses.length, 1);
  assert.equal(ran, 1, 'the handler was waiting for the body');
});

test('server.keep_alive_timeout: an idle keep-alive connection is closed', async (t) => {
  const server = await startApp({ index: exposed(() => 'x') }, {}, { 'server.keep_alive_timeout': 0.5 });
  t.after(() => server.close());
  const conn = await idleConnection(server.port, req('/'));
  assert.match(conn.first, /^HTTP\/1\.1 200 /);
  await within(conn.closed, 'the keep-alive timeout', GUARD_MS);
});

// ---------------------------------------------------------------------------
// close()

test('close(): stops accepting, closes idle keep-alive connections at once, lets an in-flight request finish with Connection: close', async () => {
  const started = deferred();
  const release = deferred();
  const events: string[] = [];
  const app = new App({
    index: exposed(() => 'idle'),
    slow: exposed(async () => {
      started.resolve();
      await release.promise;
      return 'finished';
    }),
  });
  const server = await serve(app, { host: '127.0.0.1', port: 0, config: { environment: 'test' } });
  const port = server.port;
  let closed = false;
  try {
    const idle = await idleConnection(port, req('/'));
    assert.match(idle.first, /^HTTP\/1\.1 200 /);
    void idle.closed.then(() => events.push('idle closed'));

    const inflight = rawRequest(port, req('/slow'), { timeoutMs: GUARD_MS, idleMs: GUARD_MS });
    await within(started.promise, 'the slow handler to start', GUARD_MS);

    const closing = server.close().then(() => { closed = true; events.push('close() resolved'); });
    await within(idle.closed, 'the idle connection to close', GUARD_MS);
    assert.deepEqual(events, ['idle closed'], 'idle connection closed while a request is still in flight');

    // No new connections.
    await assert.rejects(rawRequest(port, req('/')), /ECONNREFUSED/);
    assert.equal(closed, false, 'close() waits for the in-flight request');

    events.push('release');
    release.resolve();
    const res = await inflight;
    events.push('in-flight answered');
    assert.equal(res.responses.length, 1);
    const r = res.responses[0]!;
    assert.equal(r.status, 200);
    assert.equal(r.body.toString(), 'finished');
    assert.equal(r.complete, true);
    assert.equal(r.headers.connection?.toLowerCase(), 'close');
    assert.equal(res.closedByServer, true);
    await within(closing, 'close() to resolve', GUARD_MS);
    // close() resolved only after the in-flight request was let go (the client may see its answer before or after).
    assert.deepEqual(events.slice(0, 2), ['idle closed', 'release']);
    assert.ok(events.includes('close() resolved'));
  } finally {
    if (!closed) await server.close();
  }
});

test('close(): streams see request.signal abort with DRUPE_SERVER_CLOSING and are cut at server.shutdown_timeout', async () => {
  const reasons: unknown[] = [];
  const firstChunk = deferred();
  let finalized = false;
  const app = new App({
    feed: exposed(async function* ({ request }: Context) {
      request.signal.addEventListener('abort', () => reasons.push(request.signal.reason));
      try {
        yield 'first\n';
        firstChunk.resolve();
        // A stubborn stream: it ignores the signal and goes on.
        for (let i = 0; i < 10_000; i++) {
          await new Promise((resolve) => setTimeout(resolve, 20));
          yield `tick ${i}\n`;
        }
      } finally {
        finalized = true;
      }
    }, { 'response.stream': true }),
  });
  const server = await serve(app, { host: '127.0.0.1', port: 0, config: { environment: 'test', 'server.shutdown_timeout': 0.5 } });
  let closed = false;
  try {
    const res = await streamRequest(server.port, { path: '/feed', timeoutMs: GUARD_MS });
    assert.equal(res.status, 200);
    assert.equal(res.framing, 'chunked');
    await within(firstChunk.promise, 'the first chunk', GUARD_MS);

    const closing = server.close().then(() => { closed = true; });
    const result = await res.done();
    assert.equal(result.complete, false, 'the stream was cut, without its terminating chunk');
    assert.equal(result.aborted, true);
    assert.ok(result.body.toString().startsWith('first\n'));

    await within(closing, 'close() to resolve after the deadline', GUARD_MS);
    assert.equal(reasons.length, 1);
    const reason = reasons[0] as { code?: string; name?: string };
    assert.equal(reason.code, 'DRUPE_SERVER_CLOSING');
    await waitFor(() => finalized, 'the generator to be finalized', GUARD_MS);
  } finally {
    if (!closed) await server.close();
  }
});

test('close(): a stream that honours request.signal ends cleanly before the deadline', async () => {
  const app = new App({
    feed: feedUntilAborted(),
  });
  // A long deadline: the test would hit the guard if the stream were cut there rather than ending itself.
  const server = await serve(app, { host: '127.0.0.1', port: 0, config: { environment: 'test', 'server.shutdown_timeout': 60 } });
  let closed = false;
  try {
    const res = await streamRequest(server.port, { path: '/feed', timeoutMs: GUARD_MS });
    const it = res.chunks()[Symbol.asyncIterator]();
    const first = await it.next();
    assert.equal(first.done, false);
    const closing = server.close().then(() => { closed = true; });
    const result = await res.done();
    assert.equal(result.complete, true);
    assert.equal(result.body.toString(), 'start\nbye\n');
    await within(closing, 'close() to resolve', GUARD_MS);
  } finally {
    if (!closed) await server.close();
  }
});
