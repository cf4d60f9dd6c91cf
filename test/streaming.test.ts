// Streamed response bodies (S1–S4, S7, S8 of docs/contract.md; issue 3 parts 1–5, 8–10), over real sockets.
// Failures mid-stream and disconnects are in stream-failures.test.ts; sse() in sse.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import {
  HTTPError, HTTPRedirect, InternalRedirect, NotFound, expose, exposed,
  type Config, type Context,
} from '../src/index.js';
import { rawRequest, streamRequest } from '../src/testing.js';
import { get, startApp } from './helpers/server.js';
import { deferred, waitFor, within } from './helpers/async.js';
import { one, req } from './helpers/http.js';
import { TERMINATOR, startLogged } from './helpers/streaming.js';

const oneRequest = one;

const STREAM: Config = { 'response.stream': true };

function* ab(): Generator<string> {
  yield 'a';
  yield 'b';
}

// A synchronous generator yields within one tick, and node 24 and later gather the writes of a
// tick into one HTTP chunk ('ab'), where node 20 and 22 send one per write ('a', 'b'). The
// contract is about the bytes and their order, so that is what these tests assert.

// ---------------------------------------------------------------------------
// The stream switch, at every config level (part 1)

test('response.stream from the global config streams every handler: chunked, the yields in order', async (t) => {
  const server = await startApp({ index: exposed(() => ab()) }, {}, STREAM);
  t.after(() => server.close());
  const r = await rawRequest(server.port, req('/', { headers: { Connection: 'close' } }));
  const res = r.responses[0]!;
  assert.equal(res.status, 200);
  assert.equal(res.framing, 'chunked');
  assert.equal(res.headers['content-length'], undefined);
  assert.equal(res.body.toString(), 'ab');
  assert.ok(res.complete);
  assert.ok(r.text.endsWith(TERMINATOR), r.text);
});

test('response.stream from a path section streams that subtree only', async (t) => {
  const root = { feed: { index: exposed(() => ab()) }, plain: exposed(() => ab()) };
  const server = await startApp(root, { '/feed': STREAM });
  t.after(() => server.close());
  const streamed = await one(server.port, 'GET', '/feed/');
  assert.equal(streamed.framing, 'chunked');
  assert.equal(streamed.body.toString(), 'ab');
  const buffered = await one(server.port, 'GET', '/plain');
  assert.equal(buffered.framing, 'content-length');
  assert.equal(buffered.headers['content-length'], '2');
  assert.equal(buffered.body.toString(), 'ab');
});

test("response.stream from a class's _cp_config, @expose(config) and exposed(fn, config)", async (t) => {
  class Feed {
    static _cp_config: Config = STREAM;
    @expose()
    index(): Iterable<string> { return ab(); }
  }
  class Root {
    feed = new Feed();
    @expose(STREAM)
    decorated(): Iterable<string> { return ab(); }
    plain = exposed(() => ab(), STREAM);
    @expose()
    buffered(): Iterable<string> { return ab(); }
  }
  const server = await startApp(new Root());
  t.after(() => server.close());
  for (const path of ['/feed/', '/decorated', '/plain']) {
    const res = await one(server.port, 'GET', path);
    assert.equal(res.framing, 'chunked', path);
    assert.equal(res.body.toString(), 'ab', path);
    assert.ok(res.complete, path);
  }
  const buffered = await one(server.port, 'GET', '/buffered');
  assert.equal(buffered.framing, 'content-length');
});

test('response.stream = true set in the handler streams; false there buffers a configured stream', async (t) => {
  const root = {
    on: exposed(({ response }: Context) => { response.stream = true; return ab(); }),
    off: exposed(({ response }: Context) => { response.stream = false; return ab(); }, STREAM),
  };
  const server = await startApp(root);
  t.after(() => server.close());
  const on = await one(server.port, 'GET', '/on');
  assert.equal(on.framing, 'chunked');
  assert.equal(on.body.toString(), 'ab');
  const off = await one(server.port, 'GET', '/off');
  assert.equal(off.framing, 'content-length');
  assert.equal(off.body.toString(), 'ab');
});

// ---------------------------------------------------------------------------
// S1: lazy commit

test('S1: status and headers set inside the generator before its first yield are sent', async (t) => {
  const root = {
    sync: exposed(({ response }: Context) => (function* () {
      response.status = 201;
      response.headers.set('X-Made-By', 'generator');
      response.headers.set('Content-Type', 'text/plain;charset=utf-8');
      yield 'made';
    })(), STREAM),
    async: exposed(({ response }: Context) => (async function* () {
      await Promise.resolve();
      response.status = '202 Taken Into Account';
      response.headers.set('X-Made-By', 'async generator');
      yield 'later';
    })(), STREAM),
  };
  const server = await startApp(root);
  t.after(() => server.close());
  const sync = await one(server.port, 'GET', '/sync');
  assert.equal(sync.status, 201);
  assert.equal(sync.headers['x-made-by'], 'generator');
  assert.equal(sync.headers['content-type'], 'text/plain;charset=utf-8');
  assert.equal(sync.body.toString(), 'made');
  const asyncRes = await one(server.port, 'GET', '/async');
  assert.equal(asyncRes.status, 202);
  assert.equal(asyncRes.reason, 'Taken Into Account');
  assert.equal(asyncRes.headers['x-made-by'], 'async generator');
  assert.equal(asyncRes.body.toString(), 'later');
});

test('S1: HTTP exceptions thrown by a streamed handler or by its generator before the first yield answer as buffered', async (t) => {
  const notFound = (): never => { throw new NotFound(); };
  const redirect = (): never => { throw new HTTPRedirect('/elsewhere'); };
  const teapot = (): never => { throw new HTTPError(418, 'No coffee'); };
  const root = {
    // Buffered references.
    bufNotFound: exposed(notFound),
    bufRedirect: exposed(redirect),
    // Thrown by the streamed handler itself.
    hNotFound: exposed(notFound, STREAM),
    hRedirect: exposed(redirect, STREAM),
    hTeapot: exposed(async () => { await Promise.resolve(); teapot(); }, STREAM),
    // Thrown by the generator before its first yield, sync and async.
    gNotFound: exposed(() => (function* () { notFound(); yield 'never'; })(), STREAM),
    gRedirect: exposed(() => (async function* () { await Promise.resolve(); redirect(); yield 'never'; })(), STREAM),
    gTeapot: exposed(() => (async function* () { teapot(); yield 'never'; })(), STREAM),
    gInternal: exposed(({ response }: Context) => (function* () {
      response.headers.set('X-Dropped', 'yes');
      throw new InternalRedirect('/target', 'from=gen');
      yield 'never';
    })(), STREAM),
    hInternal: exposed(({ response }: Context) => {
      response.headers.set('X-Dropped', 'yes');
      throw new InternalRedirect('/target', { from: 'handler' });
    }, STREAM),
    target: exposed(({ params }: Context) => `target from=${String(params.from)}`),
  };
  const server = await startApp(root);
  t.after(() => server.close());
  const one = (path: string) => oneRequest(server.port, 'GET', path);

  const bufNotFound = await one('/bufNotFound');
  for (const path of ['/hNotFound', '/gNotFound']) {
    const res = await one(path);
    assert.equal(res.status, 404, path);
    assert.equal(res.framing, 'content-length', path);
    assert.equal(res.headers['transfer-encoding'], undefined, path);
    assert.equal(res.headers['x-accel-buffering'], undefined, path);
    assert.equal(res.headers['content-type'], bufNotFound.headers['content-type'], path);
    assert.equal(res.body.toString(), bufNotFound.body.toString().replace('/bufNotFound', path), path);
  }
  const bufRedirect = await one('/bufRedirect');
  assert.equal(bufRedirect.status, 303);
  for (const path of ['/hRedirect', '/gRedirect']) {
    const res = await one(path);
    assert.equal(res.status, 303, path);
    assert.equal(res.headers.location, `http://127.0.0.1:${server.port}/elsewhere`, path);
    assert.equal(res.framing, 'content-length', path);
    assert.equal(res.body.toString(), bufRedirect.body.toString(), path);
  }
  for (const path of ['/hTeapot', '/gTeapot']) {
    const res = await one(path);
    assert.equal(res.status, 418, path);
    assert.equal(res.framing, 'content-length', path);
    assert.ok(res.body.toString().includes('No coffee'), path);
  }
  const internal = await one('/gInternal');
  assert.equal(internal.status, 200);
  assert.equal(internal.body.toString(), 'target from=gen');
  assert.equal(internal.headers['x-dropped'], undefined);
  const hInternal = await one('/hInternal');
  assert.equal(hInternal.status, 200);
  assert.equal(hInternal.body.toString(), 'target from=handler');
  assert.equal(hInternal.headers['x-dropped'], undefined);
});

test('S1: an empty generator ends with an empty, complete body', async (t) => {
  const root = {
    sync: exposed(() => (function* () { /* nothing */ })(), STREAM),
    async: exposed(() => (async function* () { await Promise.resolve(); })(), STREAM),
    blank: exposed(() => (function* () { yield ''; yield new Uint8Array(0); })(), STREAM),
  };
  const server = await startApp(root);
  t.after(() => server.close());
  for (const path of ['/sync', '/async', '/blank']) {
    const r = await rawRequest(server.port, req(path) + req('/sync', { headers: { Connection: 'close' } }));
    assert.equal(r.responses.length, 2, `${path}: the connection stays usable`);
    const res = r.responses[0]!;
    assert.equal(res.status, 200, path);
    assert.ok(res.complete, path);
    assert.equal(res.body.length, 0, path);
  }
});

test('S1: response.flushHeaders() commits before the first chunk', async (t) => {
  const gate = deferred();
  let sawHeadFirst = false;
  const root = {
    index: exposed(({ response }: Context) => {
      response.headers.set('X-Early', '1');
      response.flushHeaders();
      return (async function* () {
        await gate.promise;
        yield 'after the head';
      })();
    }),
    // flushHeaders() from inside the generator, before its first yield.
    inside: exposed(({ response }: Context) => (async function* () {
      response.status = 207;
      response.flushHeaders();
      await gate.promise;
      yield 'inside';
    })(), STREAM),
  };
  const server = await startApp(root);
  t.after(() => server.close());

  const res = await within(streamRequest(server.port, { path: '/' }), 'the head before any chunk');
  sawHeadFirst = true;
  assert.equal(res.status, 200);
  assert.equal(res.headers['x-early'], '1');
  assert.equal(res.framing, 'chunked');
  assert.equal(res.headers['x-accel-buffering'], 'no');
  const inside = await within(streamRequest(server.port, { path: '/inside' }), 'the head from inside the generator');
  assert.equal(inside.status, 207);
  gate.resolve();
  assert.ok(sawHeadFirst);
  const done = await res.done();
  assert.ok(done.complete);
  assert.equal(done.body.toString(), 'after the head');
  assert.equal(await inside.text(), 'inside');
});

test("S1: response.stream_commit 'immediately' sends the head before the first chunk; an error before it is then a truncation", async (t) => {
  const gate = deferred();
  const root = {
    slow: exposed(() => (async function* () {
      await gate.promise;
      yield 'chunk';
    })()),
    fails: exposed(() => (async function* () {
      await Promise.resolve();
      throw new NotFound();
      yield 'never';
    })()),
    other: exposed(() => (async function* () { throw new NotFound(); yield 'never'; })(), { 'response.stream_commit': 'first-chunk' }),
  };
  const server = await startApp(root, { '/': { 'response.stream': true, 'response.stream_commit': 'immediately' } });
  t.after(() => server.close());

  const res = await within(streamRequest(server.port, { path: '/slow' }), 'the head while the generator waits');
  assert.equal(res.status, 200);
  assert.equal(res.framing, 'chunked');
  gate.resolve();
  const done = await res.done();
  assert.ok(done.complete);
  assert.equal(done.body.toString(), 'chunk');

  const r = await rawRequest(server.port, req('/fails') + req('/slow'));
  assert.equal(r.responses.length, 1, 'the connection is not reused');
  assert.equal(r.responses[0]!.status, 200);
  assert.equal(r.responses[0]!.complete, false);
  assert.ok(!r.text.includes('0\r\n\r\n'), r.text);
  assert.ok(r.closedByServer);

  // A deeper level chooses the default policy back: the buffered outcome again.
  const other = await one(server.port, 'GET', '/other');
  assert.equal(other.status, 404);
});

test('S1: response.stream_commit N sends the head of a slow producer before its first chunk; a fast error still answers as buffered', async (t) => {
  const gate = deferred();
  const root = {
    slow: exposed(() => (async function* () {
      await gate.promise;
      yield 'late';
    })(), { 'response.stream': true, 'response.stream_commit': 30 }),
    fast: exposed(() => (async function* () {
      await Promise.resolve();
      throw new HTTPError(403, 'Nope');
      yield 'never';
    })(), { 'response.stream': true, 'response.stream_commit': 60_000 }),
    quick: exposed(({ response }: Context) => (async function* () {
      await Promise.resolve();
      response.headers.set('X-Before', 'first');
      yield 'quick';
    })(), { 'response.stream': true, 'response.stream_commit': 60_000 }),
  };
  const server = await startApp(root);
  t.after(() => server.close());

  const res = await within(streamRequest(server.port, { path: '/slow' }), 'the head after N ms without a chunk');
  assert.equal(res.status, 200);
  gate.resolve();
  const done = await res.done();
  assert.ok(done.complete);
  assert.equal(done.body.toString(), 'late');

  const fast = await one(server.port, 'GET', '/fast');
  assert.equal(fast.status, 403);
  assert.equal(fast.framing, 'content-length');

  const quick = await one(server.port, 'GET', '/quick');
  assert.equal(quick.headers['x-before'], 'first');
  assert.equal(quick.body.toString(), 'quick');
});

// ---------------------------------------------------------------------------
// S2: loud after commit

test('S2: setting a header or the status after the first yield throws HeadersSentError there and truncates the stream', async (t) => {
  const caught: string[] = [];
  const afterCommit = (change: (ctx: Context) => void) => exposed((ctx: Context) => (function* () {
    yield 'first';
    try {
      change(ctx);
    } catch (err) {
      caught.push((err as Error).name);
      throw err;
    }
    yield 'never';
  })(), STREAM);
  const root = {
    header: afterCommit(({ response }) => response.headers.set('X-Late', '1')),
    status: afterCommit(({ response }) => { response.status = 500; }),
    deleted: afterCommit(({ response }) => response.headers.delete('content-type')),
  };
  const logged = await startLogged(t, root);
  for (const path of ['/header', '/status', '/deleted']) {
    const r = await rawRequest(logged.server.port, req(path));
    assert.ok(r.closedByServer, `${path}: the server cut the keep-alive connection`);
    const res = r.responses[0]!;
    assert.equal(res.status, 200, path);
    assert.equal(res.complete, false, path);
    assert.deepEqual(res.chunks.map(String), ['first'], path);
    assert.ok(!r.text.includes('0\r\n\r\n'), path);
    assert.equal(res.headers['x-late'], undefined);
  }
  assert.deepEqual(caught, ['HeadersSentError', 'HeadersSentError', 'HeadersSentError']);
  const { access, error } = await logged.logs();
  assert.equal((error.match(/HeadersSentError/g) ?? []).length >= 3, true, error);
  assert.equal(access.trim().split('\n').filter((l) => l.includes('outcome=error')).length, 3, access);
});

// ---------------------------------------------------------------------------
// S3: framing

test('S3: each yield of an async producer arrives as its own HTTP chunk, as soon as it exists', async (t) => {
  const gates = [deferred(), deferred(), deferred()];
  const root = {
    index: exposed(() => (async function* () {
      for (const [i, g] of gates.entries()) {
        yield `part ${i};`;
        await g.promise;
      }
    })(), STREAM),
  };
  const server = await startApp(root);
  t.after(() => server.close());
  const res = await streamRequest(server.port, { path: '/' });
  const seen: string[] = [];
  let i = 0;
  for await (const chunk of res.chunks()) {
    seen.push(chunk.data.toString());
    // Release the next part only once this one arrived: no coalescing, no waiting for more.
    gates[i++]?.resolve();
  }
  assert.deepEqual(seen, ['part 0;', 'part 1;', 'part 2;']);
  const done = await res.done();
  assert.ok(done.complete);
});

test('S3: HTTP/1.0 gets a close-delimited body: no Transfer-Encoding, no length, connection closed at the end', async (t) => {
  const root = { index: exposed(() => (async function* () { yield 'one,'; await Promise.resolve(); yield 'two'; })(), STREAM) };
  const server = await startApp(root);
  t.after(() => server.close());
  const r = await rawRequest(server.port, req('/', { version: '1.0' }));
  assert.ok(r.closedByServer);
  assert.equal(r.reset, false);
  const res = r.responses[0]!;
  assert.equal(res.status, 200);
  assert.equal(res.headers['transfer-encoding'], undefined);
  assert.equal(res.headers['content-length'], undefined);
  assert.equal(res.framing, 'close');
  assert.ok(res.complete);
  assert.equal(res.body.toString(), 'one,two');
  assert.ok(!r.text.includes('\r\n0\r\n'), 'no chunk framing in the body');
});

test('S3: a declared Content-Length is honoured (no chunking) and the connection stays reusable', async (t) => {
  const root = {
    index: exposed(({ response }: Context) => {
      response.headers.set('Content-Length', '10');
      return (async function* () { yield 'hello'; await Promise.resolve(); yield 'world'; })();
    }, STREAM),
    next: exposed(() => 'next'),
  };
  const server = await startApp(root);
  t.after(() => server.close());
  const r = await rawRequest(server.port, req('/') + req('/next', { headers: { Connection: 'close' } }));
  assert.equal(r.responses.length, 2);
  const res = r.responses[0]!;
  assert.equal(res.headers['content-length'], '10');
  assert.equal(res.headers['transfer-encoding'], undefined);
  assert.equal(res.framing, 'content-length');
  assert.ok(res.complete);
  assert.equal(res.body.toString(), 'helloworld');
  assert.equal(r.responses[1]!.body.toString(), 'next');
});

test('S3: a declared Content-Length is enforced: too many bytes or too few → destroyed, never reused', async (t) => {
  const withLength = (length: number, parts: string[]) => exposed(({ response }: Context) => {
    response.headers.set('Content-Length', String(length));
    return (async function* () { for (const p of parts) { yield p; await Promise.resolve(); } })();
  }, STREAM);
  const root = {
    overExact: withLength(5, ['hello', 'world']),
    overSplit: withLength(5, ['hel', 'lowor']),
    under: withLength(10, ['hello']),
    next: exposed(() => 'next'),
  };
  const logged = await startLogged(t, root);
  const port = logged.server.port;

  const overExact = await rawRequest(port, req('/overExact') + req('/next'));
  assert.ok(overExact.closedByServer);
  assert.equal(overExact.responses.length, 1, 'not reused');
  assert.equal(overExact.responses[0]!.body.toString(), 'hello', 'at most the declared length');
  assert.ok(!overExact.text.includes('world'));

  const overSplit = await rawRequest(port, req('/overSplit') + req('/next'));
  assert.ok(overSplit.closedByServer);
  assert.equal(overSplit.responses.length, 1);
  assert.equal(overSplit.responses[0]!.body.toString(), 'hel');
  assert.equal(overSplit.responses[0]!.complete, false);

  const under = await rawRequest(port, req('/under') + req('/next'));
  assert.ok(under.closedByServer);
  assert.equal(under.responses.length, 1);
  assert.equal(under.responses[0]!.body.toString(), 'hello');
  assert.equal(under.responses[0]!.complete, false, 'destroyed short');

  const { error, access } = await logged.logs();
  assert.equal((error.match(/more than its declared Content-Length/g) ?? []).length, 2, error);
  assert.equal((error.match(/ended after 5 of its declared 10 bytes/g) ?? []).length, 1, error);
  assert.equal(access.split('\n').filter((l) => l.includes('outcome=error')).length, 3, access);
});

// ---------------------------------------------------------------------------
// S4: backpressure and fairness

test('S4: a 64 MiB lazy stream to a client that stops reading produces a bounded amount meanwhile, then completes', async (t) => {
  const CHUNK = 64 * 1024;
  const TOTAL = 64 * 1024 * 1024;
  let produced = 0;
  const root = {
    index: exposed(() => (function* () {
      const chunk = Buffer.alloc(CHUNK, 0x61);
      while (produced < TOTAL / CHUNK) {
        produced++;
        yield chunk;
      }
    })(), STREAM),
  };
  const server = await startApp(root);
  t.after(() => server.close());

  const res = await streamRequest(server.port, { path: '/', paused: true, timeoutMs: 30_000 });
  // Stop reading for about two seconds (a pause, not a measurement).
  await new Promise((resolve) => setTimeout(resolve, 2000));
  const whilePaused = produced * CHUNK;
  assert.ok(whilePaused < 16 * 1024 * 1024, `produced ${whilePaused} bytes for a client that reads nothing`);
  assert.ok(produced < TOTAL / CHUNK);
  res.resume();
  const done = await res.done();
  assert.ok(done.complete);
  assert.equal(done.body.length, TOTAL);
  assert.equal(produced, TOTAL / CHUNK);
});

test('S4: a synchronous generator that never awaits does not starve another connection', async (t) => {
  let finalized = false;
  let pulls = 0;
  const root = {
    endless: exposed(() => (function* () {
      const chunk = Buffer.alloc(16 * 1024, 0x62);
      try {
        for (;;) {
          pulls++;
          yield chunk;
        }
      } finally {
        finalized = true;
      }
    })(), STREAM),
    hello: exposed(() => 'hello'),
  };
  const server = await startApp(root);
  t.after(() => server.close());

  const first = await streamRequest(server.port, { path: '/endless', timeoutMs: 10_000 });
  let received = 0;
  const reading = (async () => {
    for await (const c of first.chunks()) received += c.data.length;
  })();
  await waitFor(() => received > 1024 * 1024, 'the endless stream to flow');
  const second = await within(get(`${server.url}/hello`), 'the second request while the first streams');
  assert.equal(second.status, 200);
  assert.equal(second.text, 'hello');
  const before = received;
  await waitFor(() => received > before, 'the first stream to keep flowing');
  assert.equal(finalized, false);
  first.disconnect();
  await reading;
  await waitFor(() => finalized, "the generator's finally after the disconnect");
  const pullsAtEnd = pulls;
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(pulls, pullsAtEnd, 'no pull after the disconnect');
});

// ---------------------------------------------------------------------------
// S7: HEAD

test('S7: HEAD on a streamed handler commits with no body, no invented Content-Length, and pulls only to its commit point', async (t) => {
  let pulls = 0;
  let started = 0;
  const producer = (): Generator<string> => (function* () {
    started++;
    for (;;) {
      pulls++;
      yield 'x';
    }
  })();
  const asyncProducer = (): AsyncGenerator<string> => (async function* () {
    started++;
    for (;;) {
      pulls++;
      yield 'x';
      await Promise.resolve();
    }
  })();
  let readablePulls = 0;
  const root = {
    sync: exposed(() => producer(), STREAM),
    async: exposed(() => asyncProducer(), STREAM),
    immediately: exposed(() => producer(), { 'response.stream': true, 'response.stream_commit': 'immediately' }),
    timed: exposed(() => asyncProducer(), { 'response.stream': true, 'response.stream_commit': 10 }),
    readable: exposed(() => new Readable({ read() { readablePulls++; this.push('x'); } }), STREAM),
    next: exposed(() => 'next'),
  };
  const server = await startApp(root);
  t.after(() => server.close());
  for (const path of ['/sync', '/async', '/immediately', '/timed', '/readable']) {
    const pullsBefore = pulls;
    const r = await rawRequest(server.port, req(path, { method: 'HEAD' }) + req('/next', { headers: { Connection: 'close' } }), { methods: ['HEAD', 'GET'] });
    assert.equal(r.responses.length, 2, `${path}: the connection is reused after the HEAD`);
    const head = r.responses[0]!;
    assert.equal(head.status, 200, path);
    assert.equal(head.headers['content-length'], undefined, path);
    assert.equal(head.headers['transfer-encoding'], undefined, path);
    assert.equal(head.body.length, 0, path);
    assert.equal(r.responses[1]!.body.toString(), 'next', path);
    // Issue 14: HEAD runs the producer to its commit point (the first chunk) so its headers are GET's;
    // under 'immediately' that point is before any chunk.
    if (path !== '/readable') assert.equal(pulls - pullsBefore, path === '/immediately' ? 0 : 1, `${path}: pulled once, to its commit point`);
  }
  assert.equal(started, 3, "every generator but the 'immediately' one started, once");
  assert.ok(readablePulls >= 1, 'the Readable was read to its first chunk');
});

test('S7: HEAD closes the iterator after pulling it once, to its commit point', async (t) => {
  let pulls = 0;
  let returned = 0;
  const iterable = (): Iterable<string> => ({
    [Symbol.iterator]: () => ({
      next: () => { pulls++; return { done: false, value: 'x' }; },
      return: () => { returned++; return { done: true, value: undefined }; },
    }),
  });
  const server = await startApp({ index: exposed(() => iterable(), STREAM) });
  t.after(() => server.close());
  const r = await rawRequest(server.port, req('/', { method: 'HEAD', headers: { Connection: 'close' } }));
  assert.equal(r.responses[0]!.status, 200);
  await waitFor(() => returned === 1, 'return() on the iterator');
  assert.equal(pulls, 1);
});

// ---------------------------------------------------------------------------
// S8: proxies

test('S8: streamed responses carry X-Accel-Buffering: no unless the handler set it; buffered ones do not', async (t) => {
  const root = {
    streamed: exposed(() => ab(), STREAM),
    kept: exposed(({ response }: Context) => { response.headers.set('X-Accel-Buffering', 'yes'); return ab(); }, STREAM),
    buffered: exposed(() => ab()),
    text: exposed(() => 'plain'),
  };
  const server = await startApp(root);
  t.after(() => server.close());
  const one = (path: string) => oneRequest(server.port, 'GET', path);
  assert.equal((await one('/streamed')).headers['x-accel-buffering'], 'no');
  const kept = await one('/kept');
  assert.equal(kept.headers['x-accel-buffering'], 'yes');
  assert.equal(kept.rawHeaders.filter(([n]) => n.toLowerCase() === 'x-accel-buffering').length, 1);
  assert.equal((await one('/buffered')).headers['x-accel-buffering'], undefined);
  assert.equal((await one('/text')).headers['x-accel-buffering'], undefined);
});

// ---------------------------------------------------------------------------
// Every body type streams (part 10)

test('every body type streams: iterables, generators, async ones, Node Readable, web ReadableStream', async (t) => {
  const root = {
    array: exposed(() => ['a', 'b', 'c']),
    set: exposed(() => new Set(['a', 'b', 'c'])),
    iterable: exposed(() => ({ *[Symbol.iterator]() { yield 'a'; yield 'b'; yield 'c'; } })),
    generator: exposed(function* () { yield 'a'; yield 'b'; yield 'c'; }),
    asyncIterable: exposed(() => ({ async *[Symbol.asyncIterator]() { yield 'a'; yield 'b'; yield 'c'; } })),
    asyncGenerator: exposed(async function* () { yield 'a'; await Promise.resolve(); yield 'b'; yield 'c'; }),
    readable: exposed(() => Readable.from(['a', 'b', 'c'])),
    readableBytes: exposed(() => Readable.from([Buffer.from('a'), Buffer.from('b'), Buffer.from('c')])),
    webStream: exposed(() => new ReadableStream<string | Uint8Array>({
      start(controller) {
        controller.enqueue('a');
        controller.enqueue(new TextEncoder().encode('b'));
        controller.enqueue('c');
        controller.close();
      },
    })),
    bytes: exposed(function* () { yield new Uint8Array([0x61]); yield Buffer.from('b'); yield new Uint8Array(Buffer.from('xcx').subarray(1, 2)); }),
  };
  const server = await startApp(root, {}, STREAM);
  t.after(() => server.close());
  for (const path of Object.keys(root)) {
    const r = await rawRequest(server.port, req(`/${path}`, { headers: { Connection: 'close' } }));
    const res = r.responses[0]!;
    assert.equal(res.status, 200, path);
    assert.equal(res.framing, 'chunked', path);
    assert.ok(res.complete, path);
    assert.equal(res.body.toString(), 'abc', path);
    assert.equal(res.headers['x-accel-buffering'], 'no', path);
  }
});

test('string chunks are encoded by the response charset; bytes pass as they are', async (t) => {
  const root = {
    latin1: exposed(({ response }: Context) => {
      response.headers.set('Content-Type', 'text/plain;charset=iso-8859-1');
      return (function* () { yield 'é'; yield Buffer.from([0xc3, 0xa9]); })();
    }),
    utf8: exposed(function* () { yield 'é'; }),
  };
  const server = await startApp(root, {}, STREAM);
  t.after(() => server.close());
  const latin1 = await one(server.port, 'GET', '/latin1');
  assert.equal(latin1.framing, 'chunked');
  // 'é' in Latin-1, then the two bytes as they were: whether in one HTTP chunk or two is node's.
  assert.deepEqual([...latin1.body], [0xe9, 0xc3, 0xa9]);
  const utf8 = await one(server.port, 'GET', '/utf8');
  assert.deepEqual([...utf8.body], [0xc3, 0xa9]);
});

test('a chunk that is neither a string nor bytes is a mid-stream type error naming the value (truncation)', async (t) => {
  const seen: unknown[] = [];
  const root = {
    number: exposed(function* () { yield 'ok'; yield 42 as unknown as string; }),
    object: exposed(async function* () { yield 'ok'; yield { answer: 42 } as unknown as string; }),
  };
  const logged = await startLogged(t, root, { '/': { 'response.on_stream_error': (err) => { seen.push(err); return undefined; } } }, STREAM);
  for (const path of ['/number', '/object']) {
    const r = await rawRequest(logged.server.port, req(path));
    const res = r.responses[0]!;
    assert.equal(res.status, 200, path);
    assert.equal(res.complete, false, path);
    assert.deepEqual(res.chunks.map(String), ['ok'], path);
    assert.ok(!r.text.includes('0\r\n\r\n'), path);
    assert.ok(r.closedByServer, path);
  }
  const { error } = await logged.logs();
  assert.match(error, /DRUPE_ERR_BODY_TYPE|must be a string or bytes/);
  assert.match(error, /a number \(42\)/);
  assert.match(error, /a plain object/);
  // The error itself, as the per-response hook sees it: coded, and saying what was yielded.
  assert.equal(seen.length, 2);
  for (const err of seen) {
    assert.ok(err instanceof TypeError, 'a mid-stream TypeError');
    assert.equal((err as { code?: string }).code, 'DRUPE_ERR_BODY_TYPE');
    assert.match((err as Error).message, /must be a string or bytes, got a (number \(42\)|plain object)/);
  }
});
