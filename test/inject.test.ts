// app.inject and tree.inject (issue 18 part 5): requests through the whole pipeline with no
// socket — buffered, streamed chunk by chunk, truncated, HEAD, errors, tools, a session's
// cookie round trip — each checked against what the same app answers over a real socket.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { App, exposed, serve, sleep, sse, Tree, type Config, type Context, type InjectOptions, type InjectResult } from '../src/index.js';
import { deferred, within } from './helpers/async.js';
import { cookieOf } from './helpers/session-client.js';
import { start } from './helpers/server.js';

/** Every test is bounded as a whole: no await in it can hang the suite. */
const BOUNDED = { timeout: 30_000 };

/** An app configured as serve() would (quiet logs), answering inject. */
function quietApp(root: object, sections: Record<string, Config> = {}, config: Config = {}): App {
  const app = new App(root, sections);
  app.configure({ environment: 'test', 'log.screen': false, ...config });
  return app;
}

/**
 * Everything in an answer that a socket shows too: not Date, Connection, Keep-Alive or
 * Transfer-Encoding, which node's HTTP/1.1 server adds for the connection (an injected
 * answer has none; `streamed` says how its body came).
 */
function comparable(res: { status: number; headers: Readonly<Record<string, string | readonly string[] | undefined>>; body: string }): unknown {
  const { date: _date, connection: _connection, 'keep-alive': _keepAlive, 'transfer-encoding': _te, ...headers } = res.headers;
  return { status: res.status, headers, body: res.body };
}

/** The same request over a real socket, read by node's client (which joins repeated fields as inject does). */
function overSocket(url: string, options: { method?: string; headers?: Record<string, string> } = {}): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }> {
  return within(new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: options.method ?? 'GET', headers: options.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  }), `${url} over a socket`);
}

function streamedRoot(): object {
  return {
    hello: exposed(({ request }: Context) => `Hello ${request.remote.ip} ${request.host} ${request.scheme}`),
    items: exposed(function* () {
      yield 'one,';
      yield 'two,';
      yield 'three';
    }, { 'response.stream': true }),
    broken: exposed(function* () {
      yield 'first;';
      yield 'second;';
      throw new Error('the source failed');
    }, { 'response.stream': true }),
    fails: exposed(() => {
      throw new Error('the handler failed');
    }),
  };
}

test('a buffered answer: status, headers and body as over a socket, one chunk, completed', BOUNDED, async (t) => {
  const server = await start(t, streamedRoot(), {}, { 'log.screen': false });
  const res = await server.app.inject({ url: '/hello' });
  assert.equal(res.status, 200);
  assert.equal(res.statusMessage, 'OK');
  assert.equal(res.body, 'Hello 127.0.0.1 localhost http');
  assert.equal(res.headers['content-length'], String(res.body.length));
  assert.equal(res.headers['content-type'], 'text/html;charset=utf-8');
  assert.equal(res.chunks.length, 1);
  assert.equal(res.streamed, false);
  assert.equal(res.completed, true);
  assert.equal(res.truncated, false);
  // Over the socket the host is the server's address: the body differs there, the head does not.
  const socket = await overSocket(server.url + '/hello', { headers: { Host: 'localhost' } });
  assert.deepEqual(comparable(res), comparable(socket));
});

test('a streamed answer: each chunk as the generator produced it, completed, the same bytes as over a socket', BOUNDED, async (t) => {
  const server = await start(t, streamedRoot(), {}, { 'log.screen': false });
  const res = await server.app.inject({ url: '/items' });
  assert.equal(res.status, 200);
  assert.equal(res.streamed, true);
  assert.deepEqual(res.chunks.map(String), ['one,', 'two,', 'three']);
  assert.equal(res.body, 'one,two,three');
  assert.equal(res.headers['content-length'], undefined);
  assert.equal(res.completed, true);
  assert.deepEqual(comparable(res), comparable(await overSocket(server.url + '/items')));
});

test('a stream that fails after commit is truncated: the chunks before the failure, completed false', BOUNDED, async () => {
  const app = quietApp(streamedRoot());
  const res = await app.inject({ url: '/broken' });
  assert.equal(res.status, 200, 'the head went before the failure');
  assert.deepEqual(res.chunks.map(String), ['first;', 'second;']);
  assert.equal(res.completed, false);
  assert.equal(res.truncated, true);
});

test('an SSE stream that fails: its events, then the in-band error event, then the cut', BOUNDED, async () => {
  const app = quietApp({
    events: exposed(() => sse((function* () {
      yield { event: 'n', data: '1' };
      yield { event: 'n', data: '2' };
      throw new Error('the feed failed');
    })())),
  });
  const res = await app.inject({ url: '/events' });
  assert.equal(res.headers['content-type'], 'text/event-stream;charset=utf-8');
  assert.equal(res.truncated, true);
  assert.match(res.body, /^event: n\ndata: 1\n\nevent: n\ndata: 2\n\n/);
  assert.match(res.chunks.at(-1)!.toString(), /^event: stream-error\ndata: The stream failed\n\n$/);
});

test('HEAD: the GET\'s head with no body, for a buffered and a streamed answer', BOUNDED, async (t) => {
  const server = await start(t, streamedRoot(), {}, { 'log.screen': false });
  const buffered = await server.app.inject({ method: 'HEAD', url: '/hello' });
  assert.equal(buffered.status, 200);
  assert.equal(buffered.headers['content-length'], String('Hello 127.0.0.1 localhost http'.length));
  assert.equal(buffered.body, '');
  assert.deepEqual(buffered.chunks, []);
  const streamed = await server.app.inject({ method: 'head', url: '/items' });
  assert.equal(streamed.status, 200);
  assert.equal(streamed.body, '');
  assert.equal(streamed.completed, true);
  assert.deepEqual(comparable(streamed), comparable(await overSocket(server.url + '/items', { method: 'HEAD' })));
});

test('errors: 404 and a handler that throws (500, no traceback unless show_tracebacks), as over a socket', BOUNDED, async (t) => {
  const server = await start(t, streamedRoot(), {}, { 'log.screen': false, 'request.show_tracebacks': false });
  const missing = await server.app.inject({ url: '/nowhere' });
  assert.equal(missing.status, 404);
  assert.deepEqual(comparable(missing), comparable(await overSocket(server.url + '/nowhere')));
  const failed = await server.app.inject({ url: '/fails' });
  assert.equal(failed.status, 500);
  assert.doesNotMatch(failed.body, /the handler failed/);
  assert.deepEqual(comparable(failed), comparable(await overSocket(server.url + '/fails')));
});

test('request bodies: JSON from an object, a form from URLSearchParams, bytes as given; the body limit answers 413', BOUNDED, async () => {
  const app = quietApp({
    echo: exposed(async ({ request }: Context) => `${request.method} ${request.headers['content-type'] ?? '-'} ${JSON.stringify(await request.json())}`),
    form: exposed(({ params }: Context) => `${String(params.a)} ${String(params.b)}`),
    raw: exposed(async ({ request }: Context) => (await request.bytes()).toString('hex')),
  }, {}, { 'server.max_request_body_size': 64 });
  const json = await app.inject({ method: 'POST', url: '/echo', body: { name: 'x', n: [1, 2] } });
  assert.equal(json.body, 'POST application/json {"name":"x","n":[1,2]}');
  const form = await app.inject({ method: 'POST', url: '/form?a=1', body: new URLSearchParams({ b: 'two' }) });
  assert.equal(form.body, '1 two');
  const raw = await app.inject({ method: 'PUT', url: '/raw', body: new Uint8Array([0, 1, 254]), headers: { 'Content-Type': 'application/octet-stream' } });
  assert.equal(raw.body, '0001fe');
  const buffer = await app.inject({ method: 'PUT', url: '/raw', body: new Uint8Array([7, 8]).buffer });
  assert.equal(buffer.body, '0708');
  const chunked = await app.inject({ method: 'PUT', url: '/raw', body: 'ab', headers: { 'Transfer-Encoding': 'chunked' } });
  assert.equal(chunked.body, '6162', 'a chunked body is given decoded');
  const big = await app.inject({ method: 'POST', url: '/raw', body: 'x'.repeat(65) });
  assert.equal(big.status, 413);
  const bigChunked = await app.inject({ method: 'POST', url: '/raw', body: 'x'.repeat(65), headers: { 'Transfer-Encoding': 'chunked' } });
  assert.equal(bigChunked.status, 413);
});

test('headers given: repeated values joined as node joins them; an absolute URL sets Host and scheme; remoteAddress', BOUNDED, async () => {
  const app = quietApp({
    show: exposed(({ request }: Context) => `${request.headers.accept} | ${request.headers.cookie} | ${request.host} ${request.scheme} ${request.remote.ip}`),
  });
  const res = await app.inject({
    url: 'https://example.test:8443/show',
    headers: { Accept: ['text/plain', 'application/json'], Cookie: ['a=1', 'b=2'] },
    remoteAddress: '203.0.113.7',
  });
  assert.equal(res.body, 'text/plain, application/json | a=1; b=2 | example.test:8443 https 203.0.113.7');
});

test('tools run in process as over a socket: gzip and a response header tool', BOUNDED, async (t) => {
  const sections = { '/': { 'tools.gzip.on': true, 'tools.response_headers.on': true, 'tools.response_headers.headers': { 'X-Test': 'yes' } } };
  const server = await start(t, { big: exposed(() => 'abc'.repeat(1000)) }, sections as Record<string, Config>, { 'log.screen': false });
  const res = await server.app.inject({ url: '/big', headers: { 'Accept-Encoding': 'gzip' } });
  assert.equal(res.status, 200);
  assert.equal(res.headers['content-encoding'], 'gzip');
  assert.equal(res.headers['x-test'], 'yes');
  assert.equal(gunzipSync(res.bytes).toString(), 'abc'.repeat(1000));
  const socket = await fetch(server.url + '/big', { headers: { 'Accept-Encoding': 'gzip' } });
  assert.equal(socket.headers.get('content-encoding'), 'gzip');
  assert.equal(socket.headers.get('x-test'), 'yes');
  assert.equal(await socket.text(), 'abc'.repeat(1000));
});

test('a session: the Set-Cookie of one injected request sent back as Cookie carries the session on', BOUNDED, async () => {
  const app = quietApp({
    count: exposed(({ request }: Context) => {
      const n = ((request.session.get('n') as number | undefined) ?? 0) + 1;
      request.session.set('n', n);
      return String(n);
    }),
  }, { '/': { 'tools.sessions.on': true } });
  const first = await app.inject({ url: '/count' });
  assert.equal(first.body, '1');
  const setCookie = first.headers['set-cookie'];
  assert.ok(Array.isArray(setCookie) && setCookie.length > 0, 'the session cookie was set');
  const id = cookieOf(setCookie, 'session_id');
  assert.ok(id !== undefined);
  const second = await app.inject({ url: '/count', headers: { Cookie: `session_id=${id}` } });
  assert.equal(second.body, '2');
  const stranger = await app.inject({ url: '/count' });
  assert.equal(stranger.body, '1', 'without the cookie, a new session');
});

test('the signal aborting mid-stream is the client leaving: truncated, and the generator is closed', BOUNDED, async () => {
  const closed = deferred();
  const second = deferred();
  const app = quietApp({
    ticks: exposed(async function* () {
      try {
        yield 'tick 1;';
        second.resolve();
        for (let i = 2; i < 1000; i++) {
          await sleep(10);
          yield `tick ${i};`;
        }
      } finally {
        closed.resolve();
      }
    }, { 'response.stream': true }),
  });
  const controller = new AbortController();
  const pending = app.inject({ url: '/ticks', signal: controller.signal });
  await within(second.promise, 'the first chunk');
  controller.abort();
  const res = await within(pending, 'the injected answer');
  assert.equal(res.truncated, true);
  assert.equal(res.chunks[0]?.toString(), 'tick 1;');
  assert.ok(res.chunks.length < 999);
  await within(closed.promise, 'the generator closed');
});

test('a signal aborted before commit rejects with its reason, as fetch does', BOUNDED, async () => {
  const started = deferred();
  const app = quietApp({ slow: exposed(async () => { started.resolve(); await sleep(50); return 'late'; }) });
  const controller = new AbortController();
  const pending = app.inject({ url: '/slow', signal: controller.signal });
  await within(started.promise, 'the handler');
  controller.abort(new Error('gave up'));
  await assert.rejects(within(pending, 'the rejection'), /gave up/);
  await assert.rejects(app.inject({ url: '/slow', signal: AbortSignal.abort(new Error('never sent')) }), /never sent/);
});

test('the fetch-like form: a path, URL or Request in, a web Response out, its stream read chunk by chunk', BOUNDED, async () => {
  const app = quietApp(streamedRoot());
  const hello = await app.inject('/hello');
  assert.ok(hello instanceof Response);
  assert.equal(await hello.text(), 'Hello 127.0.0.1 localhost http');
  const fromUrl = await app.inject(new URL('https://example.test/hello'));
  assert.equal(await fromUrl.text(), 'Hello 127.0.0.1 example.test https');
  const posted = await app.inject(new Request('http://localhost/nowhere', { method: 'POST', body: 'x' }));
  assert.equal(posted.status, 404);
  await posted.arrayBuffer();
  const stream = await app.inject('/items', { headers: { 'X-Any': '1' } });
  const reader = stream.body!.getReader();
  const chunks: string[] = [];
  for (let i = 0; i < 10; i++) {
    const step = await within(reader.read(), 'a chunk');
    if (step.done) break;
    chunks.push(Buffer.from(step.value).toString());
  }
  assert.deepEqual(chunks, ['one,', 'two,', 'three']);
  const broken = await app.inject('/broken');
  await assert.rejects(broken.text(), 'a truncated stream errors its body');
});

test('inject is bound; bad options reject with a reason', BOUNDED, async () => {
  const { inject } = quietApp(streamedRoot());
  assert.equal((await inject({ url: '/hello' })).status, 200);
  await assert.rejects(inject({ url: '/hello', method: 'GE T' }), /not a method name/);
  await assert.rejects(inject({ url: '/hello', headers: { 'Bad Name': 'x' } }), /Header name must be a valid HTTP token/);
  await assert.rejects(inject({ url: '/hello', headers: { 'X-Bad': 'a\r\nb' } }), /Invalid character in header content/);
  await assert.rejects(inject({ url: 'not a url' }), /Invalid URL/);
  // Framing that disagrees with the body in hand: no socket could carry it as written.
  await assert.rejects(inject({ method: 'POST', url: '/hello', body: 'hello', headers: { 'Content-Length': 2 } }), /Content-Length "2" is not the body's 5 bytes/);
  await assert.rejects(inject({ method: 'POST', url: '/hello', headers: { 'Content-Length': '5' } }), /is not the body's 0 bytes/);
  await assert.rejects(inject({ method: 'POST', url: '/hello', body: 'x', headers: { 'Content-Length': '1', 'Transfer-Encoding': 'chunked' } }), /both Content-Length and Transfer-Encoding/);
  await assert.rejects(inject({ method: 'POST', url: '/hello', body: 'x', headers: { 'Transfer-Encoding': 'gzip' } }), /is not 'chunked'/);
  await assert.rejects(inject({} as InjectOptions), /give \{ url \}/);
  // A malformed target the pipeline reads itself: the 400 a socket's client would get.
  assert.equal((await inject({ url: '/%zz/..' })).status, 400);
});

test('a Tree: the mount that takes the path answers with its script name; no mount, a plain 404', BOUNDED, async (t) => {
  const tree = new Tree()
    .mount(new App({ index: exposed(() => 'root') }), '')
    .mount({ where: exposed(({ request }: Context) => `${request.scriptName} ${request.path} ${request.url()}`) }, '/blog');
  tree.configure({ environment: 'test', 'log.screen': false });
  const blog = await tree.inject({ url: '/blog/where' });
  assert.equal(blog.body, '/blog /where http://localhost/blog/where');
  assert.equal((await tree.inject({ url: '/' })).body, 'root');
  assert.equal((await (await tree.inject('/blog/where')).text()), '/blog /where http://localhost/blog/where');
  const only = new Tree().mount({ x: exposed(() => 'x') }, '/only');
  only.configure({ environment: 'test', 'log.screen': false });
  const none = await only.inject({ url: '/elsewhere' });
  assert.equal(none.status, 404);
  assert.equal(none.body, 'Not Found\n');
  await assert.rejects(new Tree().inject({ url: '/' }), /no app mounted/);
  // The same tree over a socket answers the same.
  const server = await serve(tree, { host: '127.0.0.1', port: 0, config: { environment: 'test', 'log.screen': false } });
  t.after(() => server.close());
  const socket = await overSocket(`${server.url}/blog/where`, { headers: { Host: 'localhost' } });
  assert.deepEqual(comparable(await tree.inject({ url: '/blog/where' })), comparable(socket));
});

test('the result is typed: InjectResult for the options form, Response for the fetch-like one', BOUNDED, async () => {
  const app = quietApp({ data: exposed(() => JSON.stringify({ ok: true })) });
  const res: InjectResult = await app.inject({ url: '/data' });
  assert.deepEqual(res.json<{ ok: boolean }>(), { ok: true });
  // The common fields are strings, set-cookie a list: no narrowing needed to use them.
  const type: string | undefined = res.headers['content-type'];
  const cookies: readonly string[] | undefined = res.headers['set-cookie'];
  assert.equal(type?.startsWith('text/html'), true);
  assert.equal(cookies, undefined);
  const web: Response = await app.inject('/data');
  assert.deepEqual(await web.json(), { ok: true });
});

test('a WebSocket endpoint injected answers 426: there is no socket to upgrade', BOUNDED, async () => {
  const app = quietApp({ live: exposed.websocket(() => undefined) });
  const res = await app.inject({ url: '/live', headers: { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==' } });
  assert.equal(res.status, 426);
  assert.equal(res.headers.upgrade, 'websocket');
});
