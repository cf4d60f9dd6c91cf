// Exceptions and error pages (docs/contract.md, "Exceptions"; issue 2 part 8; HOSTILE 17), over a real socket.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  DrupeError, HTTPError, InternalRedirect, NotFound, expose, exposed,
  type Config, type Context, type ErrorPageInfo,
} from '../src/index.js';
import { rawRequest } from '../src/testing.js';
import { tempDir } from './helpers/files.js';
import { get, startApp } from './helpers/server.js';

const THIS_FILE = fileURLToPath(import.meta.url);
const THIS_NAME = 'errors.test';

/** Stack frame lines as V8 prints them ("    at fn (file:line:col)"). */
const STACK_LINE = /^\s+at /m;

// ---------------------------------------------------------------------------
// HTTPError and NotFound

test('HTTPError(status, message) answers with that status and the message on the page', async (t) => {
  const server = await startApp({
    forbidden: exposed(() => { throw new HTTPError(403, 'Members only'); }),
    teapot: exposed(() => { throw new HTTPError(418, 'Short and stout'); }),
    unavailable: exposed(async () => { await Promise.resolve(); throw new HTTPError(503, 'Back soon'); }),
    bare: exposed(() => { throw new HTTPError(409); }),
  });
  t.after(() => server.close());

  for (const [path, status, message] of [['/forbidden', 403, 'Members only'], ['/teapot', 418, 'Short and stout'], ['/unavailable', 503, 'Back soon']] as const) {
    const res = await get(server.url + path);
    assert.equal(res.status, status, path);
    assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
    assert.ok(res.text.includes(message), `${path}: page shows the message: ${res.text}`);
    assert.ok(res.text.includes(String(status)), `${path}: page shows the status`);
  }
  // Without a message, the reason phrase stands in.
  const bare = await get(server.url + '/bare');
  assert.equal(bare.status, 409);
  assert.ok(bare.text.includes('Conflict'), bare.text);
});

test('HTTPError message is HTML-escaped in the page: <script> never appears raw', async (t) => {
  const evil = `<script>alert("x")</script> & 'quoted' <img src=x onerror=alert(1)>`;
  const server = await startApp({ index: exposed(() => { throw new HTTPError(400, evil); }) });
  t.after(() => server.close());
  const res = await get(server.url + '/');
  assert.equal(res.status, 400);
  assert.ok(!res.text.includes('<script>'), res.text);
  assert.ok(!res.text.includes('<img'), res.text);
  assert.ok(res.text.includes('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;quoted&#39; &lt;img src=x onerror=alert(1)&gt;'), res.text);
});

test('HTTPError keeps its message in production (it is written for the client)', async (t) => {
  const server = await startApp({ index: exposed(() => { throw new HTTPError(403, 'Members only'); }) }, {}, { environment: 'production', 'log.screen': false });
  t.after(() => server.close());
  const res = await get(server.url + '/');
  assert.equal(res.status, 403);
  assert.ok(res.text.includes('Members only'));
  assert.doesNotMatch(res.text, STACK_LINE);
});

test('an unknown path is a 404 naming the path, escaped', async (t) => {
  const server = await startApp({ index: exposed(() => 'home') });
  t.after(() => server.close());
  const res = await get(server.url + '/no/such/page');
  assert.equal(res.status, 404);
  assert.ok(res.text.includes('/no/such/page'), res.text);

  const raw = await rawRequest(server.port, 'GET /%3Cscript%3Ex/<b>y HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
  const r = raw.responses[0]!;
  assert.equal(r.status, 404);
  assert.ok(!r.body.toString().includes('<b>'), r.body.toString());
  assert.ok(r.body.toString().includes('&lt;b&gt;y'), r.body.toString());
});

test('throw new NotFound() in a handler names the request path; NotFound(path) names the given one', async (t) => {
  class Root {
    @expose()
    thing(_: Context): never { throw new NotFound(); }

    @expose()
    other(_: Context): never { throw new NotFound('/elsewhere'); }
  }
  const server = await startApp(new Root());
  t.after(() => server.close());

  const res = await get(server.url + '/thing');
  assert.equal(res.status, 404);
  assert.ok(res.text.includes('/thing'), `the page names the path: ${res.text}`);

  const other = await get(server.url + '/other');
  assert.equal(other.status, 404);
  assert.ok(other.text.includes('/elsewhere'), other.text);

  const nf = new NotFound('/p');
  assert.ok(nf instanceof HTTPError);
  assert.equal(nf.status, 404);
  assert.equal(nf.path, '/p');
});

test('HTTPError headers option: the headers go out with the error page', async (t) => {
  const server = await startApp({
    slow: exposed(() => { throw new HTTPError(429, 'Too many', { 'Retry-After': '120', 'X-Why': 'rate' }); }),
    split: exposed(() => { throw new HTTPError(400, 'bad', { 'X-Evil': 'a\r\nSet-Cookie: x=1' }); }),
  });
  t.after(() => server.close());
  const res = await get(server.url + '/slow');
  assert.equal(res.status, 429);
  assert.equal(res.headers.get('retry-after'), '120');
  assert.equal(res.headers.get('x-why'), 'rate');

  // A header value with CR/LF is refused (500), never written as two header lines.
  const raw = await rawRequest(server.port, 'GET /split HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
  const r = raw.responses[0]!;
  assert.equal(r.status, 500);
  assert.ok(!/^set-cookie:/im.test(r.head), r.head);
  assert.ok(!/^x-evil:/im.test(r.head), r.head);
});

test('headers set by the handler before an HTTPError do not leak content headers into the error page', async (t) => {
  const server = await startApp({
    index: exposed(({ response }) => {
      response.headers.set('Content-Type', 'application/json');
      response.headers.set('Content-Length', '9999');
      response.headers.set('X-Kept', 'yes');
      throw new HTTPError(404, 'gone');
    }),
  });
  t.after(() => server.close());
  const raw = await rawRequest(server.port, 'GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
  const r = raw.responses[0]!;
  assert.equal(r.status, 404);
  assert.match(r.headers['content-type'] ?? '', /^text\/html/);
  assert.equal(Number(r.headers['content-length']), r.body.length);
  assert.ok(r.complete);
});

test('the HTTPError constructor rejects statuses outside 400-599', () => {
  for (const bad of [200, 302, 399, 600, 1000, 404.5, Number.NaN, -404]) {
    assert.throws(() => new HTTPError(bad), (err: unknown) => {
      assert.ok(err instanceof DrupeError, String(err));
      assert.equal(err.code, 'DRUPE_ERR_HTTP_ERROR_STATUS');
      return true;
    }, String(bad));
  }
  assert.equal(new HTTPError(400).status, 400);
  assert.equal(new HTTPError(599).status, 599);
  assert.equal(new HTTPError().status, 500);
});

test('a handler that builds an HTTPError with a bad status gets a 500, and the server stays up', async (t) => {
  const server = await startApp({
    bad: exposed(() => { throw new HTTPError(200, 'not an error'); }),
    ok: exposed(() => 'fine'),
  });
  t.after(() => server.close());
  const res = await get(server.url + '/bad');
  assert.equal(res.status, 500);
  const ok = await get(server.url + '/ok');
  assert.equal(ok.status, 200);
  assert.equal(ok.text, 'fine');
});

// ---------------------------------------------------------------------------
// Error pages

test('error_page.<code> as a function receives status, message and traceback', async (t) => {
  const seen: ErrorPageInfo[] = [];
  const server = await startApp({
    missing: exposed(() => { throw new HTTPError(404, 'No <such> thing'); }),
    boom: exposed(() => { throw new Error('kaboom-in-handler'); }),
    denied: exposed(() => { throw new HTTPError(403, 'nope'); }),
  }, {
    '/': {
      'error_page.404': (info) => { seen.push(info); return `custom 404 page: ${info.status}`; },
      'error_page.500': (info) => { seen.push(info); return `custom 500 page: ${info.traceback === '' ? 'no tb' : 'tb'}`; },
    },
  }, { 'request.show_tracebacks': true });
  t.after(() => server.close());

  const res = await get(server.url + '/missing');
  assert.equal(res.status, 404);
  assert.equal(res.text, 'custom 404 page: 404');
  assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
  assert.equal(seen[0]!.status, 404);
  assert.equal(seen[0]!.message, 'No <such> thing', 'a page function gets the raw message and escapes its own');
  assert.equal(seen[0]!.traceback, '');

  const boom = await get(server.url + '/boom');
  assert.equal(boom.status, 500);
  assert.equal(boom.text, 'custom 500 page: tb');
  assert.equal(seen[1]!.status, 500);
  assert.ok(seen[1]!.message.includes('kaboom-in-handler'));
  assert.match(seen[1]!.traceback, STACK_LINE);
  assert.ok(seen[1]!.traceback.includes('kaboom-in-handler'));

  // A code without its own page still gets Drupe's.
  const denied = await get(server.url + '/denied');
  assert.equal(denied.status, 403);
  assert.ok(denied.text.includes('nope'));
  assert.ok(!denied.text.startsWith('custom'));
});

test('error_page.default as a function serves every error code without its own page', async (t) => {
  const server = await startApp({
    a: exposed(() => { throw new HTTPError(401, 'who?'); }),
    b: exposed(() => { throw new HTTPError(502, 'upstream'); }),
    c: exposed(() => { throw new HTTPError(404, 'specific'); }),
  }, {
    '/': {
      'error_page.default': ({ status, message }) => `default page ${status} ${message}`,
      'error_page.404': ({ status }) => `the 404 page ${status}`,
    },
  });
  t.after(() => server.close());
  assert.deepEqual([(await get(server.url + '/a')).text, (await get(server.url + '/b')).text, (await get(server.url + '/c')).text],
    ['default page 401 who?', 'default page 502 upstream', 'the 404 page 404']);
  // Dispatch's own 404 uses the configured page too.
  const nf = await get(server.url + '/nowhere');
  assert.equal(nf.status, 404);
  assert.equal(nf.text, 'the 404 page 404');
});

test('error pages follow the config tree: a path section overrides the page for its subtree', async (t) => {
  const server = await startApp({
    top: exposed(() => { throw new HTTPError(404, 'x'); }),
    admin: { page: exposed(() => { throw new HTTPError(404, 'y'); }) },
  }, {
    '/': { 'error_page.404': () => 'site page' },
    '/admin': { 'error_page.404': () => 'admin page' },
  });
  t.after(() => server.close());
  assert.equal((await get(server.url + '/top')).text, 'site page');
  assert.equal((await get(server.url + '/admin/page')).text, 'admin page');
});

test('error_page as a file path: its text is the page, placeholders filled in HTML-escaped', async (t) => {
  const dir = tempDir(t, 'drupe-errors-');
  const file = join(dir, '404.html');
  writeFileSync(file, '<html><body><h1>Oops {status}</h1><p>{message}</p><pre>{traceback}</pre><i>{reason}</i></body></html>');
  const fallback = join(dir, 'default.html');
  writeFileSync(fallback, 'default file page: {status} / {message}');
  const server = await startApp({
    missing: exposed(() => { throw new HTTPError(404, '<script>alert(1)</script> & "q"'); }),
    other: exposed(() => { throw new HTTPError(410, 'It is <gone>'); }),
  }, { '/': { 'error_page.404': file, 'error_page.default': fallback } });
  t.after(() => server.close());

  const res = await get(server.url + '/missing');
  assert.equal(res.status, 404);
  assert.equal(res.text, '<html><body><h1>Oops 404</h1><p>&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;q&quot;</p><pre></pre><i>Not Found</i></body></html>');
  assert.match(res.headers.get('content-type') ?? '', /^text\/html/);

  const other = await get(server.url + '/other');
  assert.equal(other.status, 410);
  assert.equal(other.text, 'default file page: 410 / It is &lt;gone&gt;');
});

test('an error page function that throws still gives a 500 with a fixed page; the server stays up', async (t) => {
  const server = await startApp({
    missing: exposed(() => { throw new HTTPError(404, 'x'); }),
    boom: exposed(() => { throw new Error('first failure'); }),
    ok: exposed(() => 'still here'),
  }, {
    '/': {
      'error_page.404': () => { throw new Error('the 404 page is broken'); },
      'error_page.500': () => { throw new Error('the 500 page is broken too'); },
    },
  }, { environment: 'production', 'log.screen': false });
  t.after(() => server.close());

  for (const path of ['/missing', '/boom']) {
    const raw = await rawRequest(server.port, `GET ${path} HTTP/1.1\r\nHost: a\r\n\r\nGET /ok HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n`);
    assert.equal(raw.responses.length, 2, raw.text);
    const [failed, ok] = raw.responses as [typeof raw.responses[0], typeof raw.responses[0]];
    assert.equal(failed.status, 500, path);
    assert.ok(failed.complete);
    assert.equal(Number(failed.headers['content-length']), failed.body.length);
    const body = failed.body.toString();
    assert.ok(body.includes('500'), body);
    assert.ok(!body.includes('broken'), `the page function's error stays out of the page: ${body}`);
    assert.ok(!body.includes('first failure'), body);
    assert.doesNotMatch(body, STACK_LINE);
    // The same connection still serves the next request.
    assert.equal(ok.status, 200);
    assert.equal(ok.body.toString(), 'still here');
  }
});

test('an error page file that cannot be read gives a 500, not a crash', async (t) => {
  const dir = tempDir(t, 'drupe-errors-');
  // A missing file is refused at start-up (below); one removed while serving still must not crash.
  const file = join(dir, 'removed-later.html');
  writeFileSync(file, 'page');
  const server = await startApp({
    missing: exposed(() => { throw new HTTPError(404, 'x'); }),
    ok: exposed(() => 'ok'),
  }, { '/': { 'error_page.404': file } }, { environment: 'production', 'log.screen': false });
  t.after(() => server.close());
  rmSync(file);
  const res = await get(server.url + '/missing');
  assert.equal(res.status, 500);
  assert.ok(!res.text.includes(dir), `no file path in the page: ${res.text}`);
  assert.equal((await get(server.url + '/ok')).status, 200);
});

// ---------------------------------------------------------------------------
// Tracebacks: development vs production (HOSTILE 17)

function crashingRoot(): object {
  return {
    index: exposed(function crashHandler() { throw new Error('secret-db-password-in-message'); }),
    lazy: exposed(function* lazyBody() { yield 'part'; throw new TypeError('generator-secret-failure'); }),
    async: exposed(async () => { await Promise.resolve(); throw new RangeError('async-secret-failure'); }),
    thrown: exposed(() => { throw 'a string, not an Error: secret-string'; }),
  };
}

test('development: a 500 shows the error message and its stack trace', async (t) => {
  const server = await startApp(crashingRoot(), {}, { environment: 'development', 'log.screen': false });
  t.after(() => server.close());
  const res = await get(server.url + '/');
  assert.equal(res.status, 500);
  assert.ok(res.text.includes('secret-db-password-in-message'), res.text);
  assert.match(res.text, STACK_LINE);
  assert.ok(res.text.includes(THIS_NAME), 'the stack names the handler file');

  const lazy = await get(server.url + '/lazy');
  assert.equal(lazy.status, 500);
  assert.ok(lazy.text.includes('generator-secret-failure'), lazy.text);
  assert.ok(!lazy.text.startsWith('part'), 'the buffered body was never sent');
});

for (const environment of ['production'] as const) {
  test(`${environment}: a 500 says nothing about the code — no message, no stack, no file path (HOSTILE 17)`, async (t) => {
    const server = await startApp(crashingRoot(), {}, { environment, 'log.screen': false });
    t.after(() => server.close());
    const secrets = ['secret-db-password-in-message', 'generator-secret-failure', 'async-secret-failure', 'secret-string'];
    for (const path of ['/', '/lazy', '/async', '/thrown']) {
      const raw = await rawRequest(server.port, `GET ${path} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n`);
      const r = raw.responses[0]!;
      assert.equal(r.status, 500, path);
      const all = raw.text; // head and body, byte for byte
      for (const s of secrets) assert.ok(!all.includes(s), `${path}: leaked ${s}: ${all}`);
      assert.doesNotMatch(all, STACK_LINE, path);
      assert.ok(!all.includes(THIS_NAME), `${path}: names the handler file`);
      assert.ok(!all.includes(THIS_FILE), path);
      assert.ok(!all.includes('file://'), path);
      assert.ok(!/Error\b/.test(r.body.toString().replaceAll('Internal Server Error', '')), `${path}: names the error class: ${r.body.toString()}`);
    }
  });
}

test('production: an error page function gets no message detail and an empty traceback', async (t) => {
  let info: ErrorPageInfo | undefined;
  const server = await startApp(crashingRoot(), {
    '/': { 'error_page.500': (i) => { info = i; return `page: ${i.message} ${i.traceback}`; } },
  }, { environment: 'production', 'log.screen': false });
  t.after(() => server.close());
  const res = await get(server.url + '/');
  assert.equal(res.status, 500);
  assert.ok(info !== undefined);
  assert.equal(info.traceback, '');
  assert.ok(!info.message.includes('secret'), info.message);
  assert.ok(!res.text.includes('secret'), res.text);
});

test('request.show_tracebacks overrides the environment either way, per path', async (t) => {
  const root = { dev: crashingRoot(), prod: crashingRoot() };
  const prod = await startApp(root, { '/dev': { 'request.show_tracebacks': true } }, { environment: 'production', 'log.screen': false });
  t.after(() => prod.close());
  const shown = await get(prod.url + '/dev/');
  assert.equal(shown.status, 500);
  assert.match(shown.text, STACK_LINE);
  const hidden = await get(prod.url + '/prod/');
  assert.equal(hidden.status, 500);
  assert.doesNotMatch(hidden.text, STACK_LINE);

  const dev = await startApp(crashingRoot(), { '/': { 'request.show_tracebacks': false } }, { environment: 'development', 'log.screen': false });
  t.after(() => dev.close());
  const off = await get(dev.url + '/');
  assert.equal(off.status, 500);
  assert.doesNotMatch(off.text, STACK_LINE);
  assert.ok(!off.text.includes('secret-db-password-in-message'));
});

// ---------------------------------------------------------------------------
// InternalRedirect

interface Seen { method: string; path: string; params: Record<string, unknown> }

function redirectRoot(seen: Seen[]): object {
  const record = exposed(({ request, params }: Context) => {
    seen.push({ method: request.method, path: request.path, params: { ...params } });
    return `target ${request.method} ${request.path}`;
  });
  return {
    target: record,
    str: exposed(() => { throw new InternalRedirect('/target', 'a=1&b=two&b=three'); }),
    obj: exposed(() => { throw new InternalRedirect('/target', { a: '1', b: ['two', 'three'], 'c d': 'e&f' }); }),
    inpath: exposed(() => { throw new InternalRedirect('/target?x=9'); }),
    form: exposed(() => { throw new InternalRedirect('/target', 'extra=1'); }),
    dirty: exposed(({ response }) => {
      response.status = 201;
      response.headers.set('X-From-First', 'yes');
      throw new InternalRedirect('/target');
    }),
    section: {
      page: exposed(() => { throw new InternalRedirect('sibling', { q: 'r' }); }),
      up: exposed(() => { throw new InternalRedirect('../target'); }),
      sibling: record,
    },
    loop: exposed(() => { throw new InternalRedirect('/loop'); }),
    ping: exposed(() => { throw new InternalRedirect('/pong'); }),
    pong: exposed(() => { throw new InternalRedirect('/ping'); }),
    chain: exposed(({ params }: Context) => {
      const n = Number(params.n ?? 0);
      throw new InternalRedirect('/chain', { n: String(n + 1) });
    }),
  };
}

test('InternalRedirect with a string query dispatches to the target with those params', async (t) => {
  const seen: Seen[] = [];
  const server = await startApp(redirectRoot(seen));
  t.after(() => server.close());
  const res = await get(server.url + '/str?ignored=1');
  assert.equal(res.status, 200);
  assert.equal(res.text, 'target GET /target');
  assert.equal(res.headers.get('location'), null, 'no client redirect');
  assert.deepEqual(seen, [{ method: 'GET', path: '/target', params: { a: '1', b: ['two', 'three'] } }]);
});

test('InternalRedirect with a params object (and a query inside the path)', async (t) => {
  const seen: Seen[] = [];
  const server = await startApp(redirectRoot(seen));
  t.after(() => server.close());
  assert.equal((await get(server.url + '/obj')).status, 200);
  assert.equal((await get(server.url + '/inpath')).status, 200);
  assert.deepEqual(seen, [
    { method: 'GET', path: '/target', params: { a: '1', b: ['two', 'three'], 'c d': 'e&f' } },
    { method: 'GET', path: '/target', params: { x: '9' } },
  ]);
});

test('InternalRedirect resolves a relative path against the current path', async (t) => {
  const seen: Seen[] = [];
  const server = await startApp(redirectRoot(seen));
  t.after(() => server.close());
  const a = await get(server.url + '/section/page');
  assert.equal(a.text, 'target GET /section/sibling');
  const b = await get(server.url + '/section/up');
  assert.equal(b.text, 'target GET /target');
  assert.deepEqual(seen.map((s) => [s.path, s.params]), [['/section/sibling', { q: 'r' }], ['/target', {}]]);
});

test("InternalRedirect: a POST becomes a GET whose params are the new query's alone (CherryPy's)", async (t) => {
  const seen: Seen[] = [];
  const server = await startApp(redirectRoot(seen));
  t.after(() => server.close());
  const res = await get(server.url + '/form?fromquery=q', {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: 'name=Ann&tags=a&tags=b',
  });
  assert.equal(res.status, 200);
  assert.equal(res.text, 'target GET /target');
  assert.equal(seen.length, 1);
  assert.equal(seen[0]!.method, 'GET');
  // The posted form and the old query string are dropped with the body.
  assert.deepEqual(seen[0]!.params, { extra: '1' });
});

test('InternalRedirect starts the response afresh: status and headers of the first handler are dropped', async (t) => {
  const seen: Seen[] = [];
  const server = await startApp(redirectRoot(seen));
  t.after(() => server.close());
  const res = await get(server.url + '/dirty');
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('x-from-first'), null);
  assert.equal(res.text, 'target GET /target');
});

test('an InternalRedirect loop is detected and answered with a 500; the server stays up', async (t) => {
  const seen: Seen[] = [];
  const server = await startApp(redirectRoot(seen), {}, { environment: 'production', 'log.screen': false });
  t.after(() => server.close());
  for (const path of ['/loop', '/ping', '/chain']) {
    const res = await get(server.url + path);
    assert.equal(res.status, 500, path);
    assert.doesNotMatch(res.text, STACK_LINE);
  }
  const ok = await get(server.url + '/target');
  assert.equal(ok.status, 200);
});

test('an InternalRedirect loop shows its route when tracebacks are on', async (t) => {
  const seen: Seen[] = [];
  const server = await startApp(redirectRoot(seen), {}, { 'request.show_tracebacks': true, 'log.screen': false } satisfies Config);
  t.after(() => server.close());
  const res = await get(server.url + '/ping');
  assert.equal(res.status, 500);
  assert.ok(res.text.includes('DRUPE_ERR_REDIRECT_LOOP') || res.text.includes('InternalRedirect loop'), res.text);
  assert.ok(res.text.includes('/pong'), res.text);
});

// ---------------------------------------------------------------------------
// Exceptions from other places than the handler's own body

test('exceptions thrown while a body is produced become the same answers (B2, S1)', async (t) => {
  const seen: Seen[] = [];
  const server = await startApp({
    ...redirectRoot(seen),
    lazy404: exposed(function* () { yield 'never sent'; throw new HTTPError(404, 'late <404>'); }),
    lazyRedirect: exposed(function* () { yield 'x'; throw new InternalRedirect('/target', 'from=gen'); }),
    stream403: exposed(async function* () { await Promise.resolve(); throw new HTTPError(403, 'before the first chunk'); }, { 'response.stream': true }),
    hooked: exposed(() => 'not reached'),
  }, { '/hooked': { 'hooks.before_handler': () => { throw new InternalRedirect('/target', 'from=hook'); } } });
  t.after(() => server.close());

  const a = await get(server.url + '/lazy404');
  assert.equal(a.status, 404);
  assert.ok(a.text.includes('late &lt;404&gt;') && !a.text.includes('never sent'), a.text);

  const b = await get(server.url + '/lazyRedirect');
  assert.equal(b.status, 200);
  assert.equal(b.text, 'target GET /target');

  const c = await rawRequest(server.port, 'GET /stream403 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
  const r = c.responses[0]!;
  assert.equal(r.status, 403);
  assert.equal(r.framing, 'content-length', 'an error before the first chunk is a normal buffered page');
  assert.ok(r.body.toString().includes('before the first chunk'));

  const d = await get(server.url + '/hooked');
  assert.equal(d.text, 'target GET /target');
  assert.deepEqual(seen.map((s) => s.params), [{ from: 'gen' }, { from: 'hook' }]);
});

test('HEAD on an error: the status and the page length, no body', async (t) => {
  const server = await startApp({ index: exposed(() => { throw new HTTPError(410, 'gone for good'); }) });
  t.after(() => server.close());
  const getRes = await rawRequest(server.port, 'GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
  const head = await rawRequest(server.port, 'HEAD / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
  const g = getRes.responses[0]!;
  const h = head.responses[0]!;
  assert.equal(h.status, 410);
  assert.equal(h.headers['content-length'], g.headers['content-length']);
  assert.ok(head.text.endsWith('\r\n\r\n'), 'no body after the head');
});
