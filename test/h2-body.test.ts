// The body contract on HTTP/2 (issue 16 part 2): what an h2 client saw go wrong with
// `app.listener` mounted on node:http2 — silent truncation, resets nobody noticed,
// `:authority` ignored, HTTP/1.1 in the access line, connection headers — each
// asserted frame by frame with drupe/testing's h2 client. HOSTILE 45, 46.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import net from 'node:net';
import { gunzipSync } from 'node:zlib';
import { HTTPError, HTTPRedirect, RequestAbortedError, exposed, type Config, type Context } from '../src/index.js';
import { h2Connect, h2Request } from '../src/testing.js';
import { startH2 } from './helpers/h2.js';
import { startLogged } from './helpers/streaming.js';
import { lateReaders } from './helpers/late-body.js';
import { aborted, deferred, tick, waitFor, within } from './helpers/async.js';

const STREAM: Config = { 'response.stream': true };
const { NGHTTP2_INTERNAL_ERROR, NGHTTP2_CANCEL } = http2.constants;

/** node's warnings while `fn` runs (node warns when an h2 response is given a Connection field or a reason phrase). */
async function warningsDuring(fn: () => Promise<void>): Promise<string[]> {
  const seen: string[] = [];
  const onWarning = (w: Error): void => { seen.push(`${w.name}: ${w.message}`); };
  process.on('warning', onWarning);
  try {
    await fn();
    await tick(10); // warnings are emitted on the next tick
  } finally {
    process.off('warning', onWarning);
  }
  return seen;
}

test('S5 on h2: a stream that fails after commit ends with RST_STREAM(INTERNAL_ERROR), never END_STREAM; the connection serves on', async (t) => {
  let finallyRan = 0;
  const root = {
    sync: exposed(function* () {
      try {
        yield 'first';
        throw new Error('sync generator broke');
      } finally {
        finallyRan++;
      }
    }, STREAM),
    async: exposed(async function* () {
      try {
        yield 'first';
        await tick();
        throw new Error('async generator broke');
      } finally {
        finallyRan++;
      }
    }, STREAM),
    gzip: exposed(async function* () {
      yield 'first';
      await tick();
      throw new Error('gzip generator broke');
    }, { ...STREAM, 'tools.gzip.on': true }),
    next: exposed(() => 'next'),
  };
  const h2 = await startH2(t, root);
  const connection = await h2Connect(h2.port);
  t.after(() => connection.disconnect());
  for (const path of ['/sync', '/async']) {
    const res = await h2Request(connection, { path });
    assert.equal(res.status, 200, path);
    const done = await res.done();
    assert.equal(done.complete, false, path);
    assert.deepEqual(done.end, { kind: 'RST_STREAM', code: NGHTTP2_INTERNAL_ERROR, name: 'NGHTTP2_INTERNAL_ERROR' }, path);
    assert.equal(done.body.toString(), 'first', `${path}: what was sent before the failure arrives`);
    // One stream is cut, not the connection: the next request on it is answered.
    const next = await h2Request(connection, { path: '/next' });
    assert.equal(await next.text(), 'next', path);
  }
  assert.equal(finallyRan, 2);
  const gz = await h2Request(connection, { path: '/gzip', headers: { 'accept-encoding': 'gzip' } });
  assert.equal(gz.headers['content-encoding'], 'gzip');
  const done = await gz.done();
  assert.equal(done.end.kind, 'RST_STREAM', 'a cut gzip body is a reset stream, not a clean end');
  assert.equal(done.end.kind === 'RST_STREAM' && done.end.code, NGHTTP2_INTERNAL_ERROR);
  assert.throws(() => gunzipSync(done.body), 'the gzip member has no trailer');
  const { access, error } = await h2.logs();
  assert.match(access, /"GET \/sync HTTP\/2\.0" 200 5 .* outcome=error/);
  assert.match(access, /"GET \/async HTTP\/2\.0" 200 5 .* outcome=error/);
  assert.doesNotMatch(access, /truncation=invisible/, 'an h2 cut is always visible');
  assert.match(error, /Stream of GET \/sync failed after 5 bytes; response truncated/);
});

for (const how of ['RST_STREAM(CANCEL)', 'a dropped connection'] as const) {
  test(`S6 / HOSTILE 45 on h2: ${how} aborts request.signal, runs the generator's finally and writes the access line (outcome=client-closed)`, async (t) => {
    const finished = deferred();
    const reasons: unknown[] = [];
    const root = {
      feed: exposed(async function* ({ request }: Context) {
        request.signal.addEventListener('abort', () => reasons.push(request.signal.reason));
        try {
          yield 'start\n';
          await aborted(request.signal); // a producer waiting on something else: only the signal wakes it
          yield 'never read\n';
        } finally {
          finished.resolve();
        }
      }, STREAM),
    };
    const h2 = await startH2(t, root);
    const res = await h2Request(h2.port, { path: '/feed' });
    const it = res.chunks()[Symbol.asyncIterator]();
    const first = await within(it.next(), 'the first DATA');
    assert.equal(first.value?.data.toString(), 'start\n');
    if (how === 'a dropped connection') res.disconnect();
    else res.reset(NGHTTP2_CANCEL);
    await within(finished.promise, "the generator's finally");
    assert.equal(reasons.length, 1);
    assert.ok(reasons[0] instanceof RequestAbortedError);
    assert.equal(reasons[0].code, 'DRUPE_CLIENT_CLOSED');
    const { access } = await h2.logs();
    assert.match(access, /"GET \/feed HTTP\/2\.0" 200 6 .* outcome=client-closed/);
  });
}

test('HOSTILE 45 on h2: a client that resets its streams mid-body, again and again, has every producer finalized and the server answering', async (t) => {
  let started = 0;
  let finalized = 0;
  const root = {
    feed: exposed(async function* () {
      started++;
      try {
        for (let i = 0; i < 1000; i++) {
          yield 'x'.repeat(1024);
          await tick();
        }
      } finally {
        finalized++;
      }
    }, STREAM),
    index: exposed(() => 'still here'),
  };
  const h2 = await startH2(t, root);
  const connection = await h2Connect(h2.port);
  t.after(() => connection.disconnect());
  for (let i = 0; i < 20; i++) {
    const res = await h2Request(connection, { path: '/feed' });
    await within(res.chunks()[Symbol.asyncIterator]().next(), 'the first DATA');
    res.reset();
  }
  await waitFor(() => finalized === 20, 'every producer finalized');
  assert.equal(started, 20);
  const res = await h2Request(connection, { path: '/' });
  assert.equal(await res.text(), 'still here');
  const { access } = await h2.logs();
  assert.equal(access.match(/outcome=client-closed/g)?.length, 20);
});

test('h2: redirects and request.host use :authority (as the client addressed the server)', async (t) => {
  const root = {
    go: exposed(() => { throw new HTTPRedirect('/there'); }),
    host: exposed(({ request }: Context) => `${request.host} ${request.base} ${request.url('/x')}`),
  };
  const h2 = await startH2(t, root);
  const plain = await h2Request(h2.port, { path: '/go' });
  assert.equal(plain.status, 303);
  assert.equal(plain.headers.location, `http://127.0.0.1:${h2.port}/there`);
  await plain.done();
  const named = await h2Request(h2.port, { path: '/go', headers: { ':authority': 'example.test:8443' } });
  assert.equal(named.headers.location, 'http://example.test:8443/there');
  await named.done();
  const host = await h2Request(h2.port, { path: '/host', headers: { ':authority': 'example.test:8443' } });
  assert.equal(await host.text(), 'example.test:8443 http://example.test:8443 http://example.test:8443/x');
  // A malformed :authority is refused as a malformed Host is (HOSTILE 34).
  const bad = await h2Request(h2.port, { path: '/host', headers: { ':authority': 'a b' } }).catch((err: Error) => err);
  if (!(bad instanceof Error)) {
    assert.equal(bad.status, 400, 'a malformed :authority is a 400 (node may also refuse it itself)');
    await bad.done();
  }
});

test('h2: request.protocol and the access line say HTTP/2.0', async (t) => {
  const root = { index: exposed(({ request }: Context) => request.protocol) };
  const h2 = await startH2(t, root);
  const res = await h2Request(h2.port, { path: '/' });
  assert.equal(res.status, 200);
  assert.equal(await res.text(), 'HTTP/2.0');
  const { access } = await h2.logs();
  assert.match(access, /"GET \/ HTTP\/2\.0" 200 8 /);
});

test('h2: an unread request body on a streamed response sets no Connection field (node warns on h2) and the stream completes', async (t) => {
  const root = {
    stream: exposed(function* () { yield 'a'; yield 'b'; }, STREAM),
    buffered: exposed(() => 'ok'),
  };
  const h2 = await startH2(t, root);
  const warnings = await warningsDuring(async () => {
    for (const path of ['/stream', '/buffered']) {
      for (const headers of [{ 'content-length': '5' }, {}] as Array<Record<string, string>>) {
        const res = await h2Request(h2.port, { method: 'POST', path, headers, body: 'hello' });
        assert.equal(res.status, 200, path);
        assert.equal(res.headers.connection, undefined, path);
        const done = await res.done();
        assert.equal(done.end.kind, 'END_STREAM', path);
        assert.equal(done.body.toString(), path === '/stream' ? 'ab' : 'ok');
      }
    }
  });
  assert.deepEqual(warnings, []);
});

test('HOSTILE 46: no connection-specific field is ever sent on h2, whatever a handler or tool sets', async (t) => {
  const CONNECTION_FIELDS = { Connection: 'close', 'Keep-Alive': 'timeout=5', 'Transfer-Encoding': 'chunked', Upgrade: 'websocket', 'Proxy-Connection': 'keep-alive' };
  const setAll = ({ response }: Context): void => {
    for (const [name, value] of Object.entries(CONNECTION_FIELDS)) response.headers.set(name, value);
    response.headers.set('X-Kept', 'yes');
  };
  const root = {
    buffered: exposed((ctx: Context) => { setAll(ctx); return 'buffered'; }),
    streamed: exposed(function* (ctx: Context) { setAll(ctx); yield 'stre'; yield 'amed'; }, STREAM),
    refused: exposed(() => { throw new HTTPError(400, 'no', { Connection: 'close', 'Keep-Alive': 'timeout=1' }); }),
    tooBig: exposed(async ({ request }: Context) => (await request.bytes()).length),
    hooked: exposed(() => 'hooked'),
  };
  const h2 = await startH2(t, root, {
    '/tooBig': { 'server.max_request_body_size': 4 },
    '/hooked': { 'hooks.before_finalize': [({ response }: Context) => { response.headers.set('Connection', 'keep-alive'); response.headers.set('Upgrade', 'h2c'); }] } as Config,
  });
  const warnings = await warningsDuring(async () => {
    const cases: Array<[string, number, string | undefined, { method?: string; body?: string }?]> = [
      ['/buffered', 200, 'buffered'],
      ['/streamed', 200, 'streamed'],
      ['/refused', 400, undefined],
      ['/tooBig', 413, undefined, { method: 'POST', body: 'too long a body' }],
      ['/hooked', 200, 'hooked'],
    ];
    for (const [path, status, body, extra] of cases) {
      const res = await h2Request(h2.port, { path, ...extra });
      assert.equal(res.status, status, path);
      for (const name of ['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection']) {
        assert.equal(res.headers[name], undefined, `${path}: ${name}`);
      }
      if (path === '/buffered' || path === '/streamed') assert.equal(res.headers['x-kept'], 'yes', path);
      const done = await res.done();
      assert.equal(done.end.kind, 'END_STREAM', path);
      if (body !== undefined) assert.equal(done.body.toString(), body, path);
    }
  });
  assert.deepEqual(warnings, [], 'node had nothing to drop or warn about');
});

test('h2: a request body needs no Content-Length (DATA frames carry it): forms, JSON and the size limit work as on HTTP/1.1', async (t) => {
  const root = {
    form: exposed(({ params }: Context) => `name=${String(params.name)}`),
    data: exposed(async ({ request }: Context) => JSON.stringify(await request.json())),
    none: exposed(({ request }: Context) => String(request.hasBody)),
  };
  const h2 = await startH2(t, root, { '/data': { 'server.max_request_body_size': 16 } });
  const form = await h2Request(h2.port, { method: 'POST', path: '/form', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'name=Ann' });
  assert.equal(await form.text(), 'name=Ann');
  const data = await h2Request(h2.port, { method: 'POST', path: '/data', headers: { 'content-type': 'application/json' }, body: '{"a":1}' });
  assert.equal(await data.text(), '{"a":1}');
  const big = await h2Request(h2.port, { method: 'POST', path: '/data', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ a: 'x'.repeat(100) }) });
  assert.equal(big.status, 413);
  await big.done();
  const none = await h2Request(h2.port, { path: '/none' });
  assert.equal(await none.text(), 'false', 'a GET whose HEADERS ended the stream has no body');
});

test('h2: a client that resets its stream in the middle of its body is gone — bytes(), json() and stream() reject, a form or declared body never reaches its handler', async (t) => {
  const outcomes: Record<string, string> = {};
  const ran: string[] = [];
  const read = (name: string, how: (ctx: Context) => Promise<unknown>) => exposed(async (ctx: Context) => {
    try {
      await how(ctx);
      outcomes[name] = 'read as if whole';
    } catch (err) {
      outcomes[name] = (err as Error).name;
      throw err;
    }
    return 'unreachable';
  });
  const root = {
    bytes: read('bytes', ({ request }) => request.bytes()),
    json: read('json', ({ request }) => request.json()),
    stream: read('stream', async ({ request }) => { for await (const _ of request.stream()) { /* read it all */ } }),
    form: exposed(({ params }: Context) => { ran.push(`form ${String(params.name)}`); return 'ok'; }),
    declared: exposed(({ body }) => { ran.push(`declared ${JSON.stringify(body)}`); return 'ok'; }, {
      body: { '~standard': { version: 1, vendor: 'test', validate: (value: unknown) => ({ value }) } },
    }),
    index: exposed(() => 'still here'),
  };
  const h2 = await startH2(t, root);
  const session = http2.connect(`http://127.0.0.1:${h2.port}`);
  session.on('error', () => undefined);
  t.after(() => session.destroy());
  // Each part is a whole value in itself ('[1,2,3]' parses, 'name=Ann' is a form): only END_STREAM says the body is over.
  const sends: [string, string, string][] = [
    ['/bytes', 'text/plain', 'the first half'],
    ['/json', 'application/json', '[1,2,3]'],
    ['/stream', 'application/octet-stream', 'some bytes'],
    ['/form', 'application/x-www-form-urlencoded', 'name=Ann'],
    ['/declared', 'application/json', '{"a":1}'],
  ];
  for (const [path, type, part] of sends) {
    const req = session.request({ ':method': 'POST', ':path': path, 'content-type': type });
    req.on('error', () => undefined);
    req.write(part);
    req.close(NGHTTP2_CANCEL);
  }
  await waitFor(() => Object.keys(outcomes).length === 3, 'the three readers to settle');
  assert.deepEqual(outcomes, { bytes: 'ClientGoneError', json: 'ClientGoneError', stream: 'ClientGoneError' });
  const res = await h2Request(h2.port, { path: '/' });
  assert.equal(await res.text(), 'still here');
  const { access } = await h2.logs();
  for (const [path] of sends) assert.match(access, new RegExp(`"POST ${path} HTTP/2\\.0" .* outcome=client-closed`), path);
  assert.deepEqual(ran, [], 'no handler ran on a body cut short');
});

test('h2: a body read only after its stream was reset settles at once: bytes() and stream() reject with ClientGoneError', async (t) => {
  const late = lateReaders();
  const h2 = await startH2(t, late.root);
  const session = http2.connect(`http://127.0.0.1:${h2.port}`);
  session.on('error', () => undefined);
  t.after(() => session.destroy());
  for (const path of ['/bytes', '/stream']) {
    const req = session.request({ ':method': 'POST', ':path': path, 'content-type': 'text/plain' });
    req.on('error', () => undefined);
    req.write('only a little');
    req.close(NGHTTP2_CANCEL);
  }
  await waitFor(() => Object.keys(late.outcomes).length === 2, 'both late readers to settle');
  assert.deepEqual(late.outcomes, { bytes: 'ClientGoneError', stream: 'ClientGoneError' });
});

test('S6 on h2: a reset before anything was committed (the handler still working) aborts request.signal too', async (t) => {
  const woke = deferred<unknown>();
  const started = deferred();
  const root = {
    slow: exposed(async ({ request }: Context) => {
      started.resolve();
      await aborted(request.signal);
      woke.resolve(request.signal.reason);
      return 'nobody reads this';
    }),
  };
  const h2 = await startH2(t, root);
  const connection = await h2Connect(h2.port);
  t.after(() => connection.disconnect());
  const controller = new AbortController();
  const pending = h2Request(connection, { path: '/slow', signal: controller.signal }).catch((err: Error) => err);
  await within(started.promise, 'the handler to start');
  controller.abort();
  const reason = await within(woke.promise, 'request.signal to abort');
  assert.ok(reason instanceof RequestAbortedError);
  assert.equal(reason.code, 'DRUPE_CLIENT_CLOSED');
  assert.ok((await pending) instanceof Error, 'no response headers came');
  const { access } = await h2.logs();
  assert.match(access, /"GET \/slow HTTP\/2\.0" .* outcome=client-closed/);
});

test('the same on HTTP/1.1: a client that leaves while the handler works is logged outcome=client-closed', async (t) => {
  const started = deferred();
  const root = {
    slow: exposed(async ({ request }: Context) => {
      started.resolve();
      await aborted(request.signal);
      return 'nobody reads this';
    }),
  };
  const logged = await startLogged(t, root);
  const socket = net.connect(logged.server.port, '127.0.0.1', () => socket.write('GET /slow HTTP/1.1\r\nHost: t\r\n\r\n'));
  socket.on('error', () => undefined);
  await within(started.promise, 'the handler to start');
  socket.destroy();
  await waitFor(() => logged.server.app !== undefined && socket.destroyed, 'the socket closed');
  const { access } = await logged.logs();
  assert.match(access, /"GET \/slow HTTP\/1\.1" - - .* outcome=client-closed/);
});
