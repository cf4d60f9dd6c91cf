// What a CherryPy handler reads off its request, over a real socket: request.config (the
// route's merged config, read-only), request.base and request.url() (cherrypy.url()), and
// an InternalRedirect from a POST, which CherryPy re-dispatches as a GET that has dropped
// what was posted — its body unread still settled on the connection.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InternalRedirect, exposed, type Config, type Context } from '../src/index.js';
import { head, one, raw, rawReq } from './helpers/http.js';
import { start } from './helpers/server.js';

// ---------------------------------------------------------------------------
// request.config

test("request.config is the route's merged config: global, sections, _cp_config and the handler's own, frozen", async (t) => {
  const seen: Record<string, unknown>[] = [];
  const record = ({ request }: Context): string => {
    const c = request.config;
    // Typed as Readonly<Config>: the keys are known, and none can be assigned.
    const stream: boolean | undefined = c['response.stream'];
    // @ts-expect-error request.config is read-only
    const assign = (): void => { c['response.stream'] = true; };
    assert.throws(assign, TypeError, 'frozen at run time too');
    assert.ok(Object.isFrozen(c));
    seen.push({ stream, tracebacks: c['request.show_tracebacks'], max: c['server.max_request_body_size'], gzip: c['tools.gzip.on'], env: c.environment });
    return 'ok';
  };
  class Blog {
    static _cp_config: Config = { 'server.max_request_body_size': 1000 };
    index = exposed((ctx: Context) => record(ctx));
    fast = exposed((ctx: Context) => record(ctx), { 'response.stream': true });
  }
  const server = await start(t, { index: exposed((ctx: Context) => record(ctx)), blog: new Blog() }, { '/blog': { 'tools.gzip.on': true } }, { 'request.show_tracebacks': false });
  for (const path of ['/', '/blog/', '/blog/fast']) assert.equal((await fetch(server.url + path)).status, 200, path);
  assert.deepEqual(seen, [
    { stream: undefined, tracebacks: false, max: undefined, gzip: undefined, env: 'test' },
    { stream: undefined, tracebacks: false, max: 1000, gzip: true, env: 'test' },
    { stream: true, tracebacks: false, max: 1000, gzip: true, env: 'test' },
  ]);
});

// ---------------------------------------------------------------------------
// request.base, request.url()

interface Urls { base: string; here: string; abs: string; rel: string; up: string; query: string; params: string; twice: string; offsite: string }

function urlsOf({ request }: Context): Urls {
  return {
    base: request.base,
    here: request.url(),
    abs: request.url('/x/y'),
    rel: request.url('c'),
    up: request.url('../d'),
    query: request.url('', '?q=1'),
    params: request.url('/s', { a: ['1', '2'], 'b c': 'd&e' }),
    twice: request.url('/s?x=1', 'y=2'),
    offsite: request.url('//evil.example/z'),
  };
}

async function urls(port: number, target: string, headers: Record<string, string> = {}): Promise<Urls> {
  const res = await one(port, 'GET', target, { Host: 'shop.example:8080', ...headers });
  assert.equal(res.status, 200, res.body.toString());
  return JSON.parse(res.body.toString()) as Urls;
}

function urlRoot(): object {
  const handler = exposed((ctx: Context) => JSON.stringify(urlsOf(ctx)));
  return { a: { b: handler, index: handler }, index: handler };
}

test("request.base and request.url() build absolute URLs as cherrypy.url() does", async (t) => {
  const server = await start(t, urlRoot());
  const u = await urls(server.port, '/a/b?ignored=1');
  assert.deepEqual(u, {
    base: 'http://shop.example:8080',
    here: 'http://shop.example:8080/a/b',
    abs: 'http://shop.example:8080/x/y',
    rel: 'http://shop.example:8080/a/c',
    up: 'http://shop.example:8080/d',
    query: 'http://shop.example:8080/a/b?q=1',
    params: 'http://shop.example:8080/s?a=1&a=2&b%20c=d%26e',
    twice: 'http://shop.example:8080/s?x=1&y=2',
    offsite: 'http://shop.example:8080/evil.example/z',
  });
  const root = await urls(server.port, '/');
  assert.equal(root.here, 'http://shop.example:8080/');
  assert.equal(root.rel, 'http://shop.example:8080/c');
});

test('request.url() resolves a relative path against the path its handler is meant at: an index with its slash, another without', async (t) => {
  const server = await start(t, urlRoot(), { '/': { 'tools.trailing_slash.on': false } });
  // An index reached without its slash, and a page reached with a stray one, resolve as if written properly.
  const index = await urls(server.port, '/a');
  assert.equal(index.rel, 'http://shop.example:8080/a/c');
  assert.equal(index.here, 'http://shop.example:8080/a/');
  const page = await urls(server.port, '/a/b/');
  assert.equal(page.rel, 'http://shop.example:8080/a/c');
  assert.equal(page.here, 'http://shop.example:8080/a/b');
});

test('request.base follows tools.proxy: the scheme and host a trusted proxy reports', async (t) => {
  const server = await start(t, urlRoot(), { '/': { 'tools.proxy.on': true, 'tools.proxy.trusted': ['127.0.0.1', '::1'] } });
  const u = await urls(server.port, '/a/b', { 'X-Forwarded-Proto': 'https', 'X-Forwarded-Host': 'www.example.org' });
  assert.equal(u.base, 'https://www.example.org');
  assert.equal(u.rel, 'https://www.example.org/a/c');
});

// ---------------------------------------------------------------------------
// InternalRedirect from a POST

/** CherryPy's test_core petshop: the redirect trades what was posted for the new query. */
class Petshop {
  seen: Array<{ method: string; params: Record<string, unknown>; hasBody: boolean; text: string }> = [];
  petshop = exposed(({ params }: Context) => {
    const user = params.user_id;
    if (user === 'terrier') throw new InternalRedirect('/image/getImagesByUser', 'user_id=fish');
    throw new InternalRedirect('/image/getImagesByUser', { user_id: String(user) });
  });
  /** Redirects without reading its (non-form) body. */
  unread = exposed(() => { throw new InternalRedirect('/image/getImagesByUser', 'user_id=slug'); }, { 'request.process_request_body': false });
  image = {
    getImagesByUser: exposed(async ({ request, params }: Context) => {
      this.seen.push({ method: request.method, params: { ...params }, hasBody: request.hasBody, text: await request.text() });
      return `0 images for ${String(params.user_id)}`;
    }),
  };
}

test("an InternalRedirect from a POST is a GET with the new query's params alone: the body and its params are dropped", async (t) => {
  const shop = new Petshop();
  const server = await start(t, shop);
  const form = { 'Content-Type': 'application/x-www-form-urlencoded' };
  const a = await one(server.port, 'POST', '/petshop', form, { body: 'user_id=terrier' });
  assert.equal(a.body.toString(), '0 images for fish');
  const b = await one(server.port, 'POST', '/petshop', form, { body: 'user_id=poodle' });
  assert.equal(b.body.toString(), '0 images for poodle', 'the first handler sees what was posted');
  const c = await one(server.port, 'GET', '/petshop?user_id=terrier');
  assert.equal(c.body.toString(), '0 images for fish');
  assert.deepEqual(shop.seen, [
    { method: 'GET', params: { user_id: 'fish' }, hasBody: false, text: '' },
    { method: 'GET', params: { user_id: 'poodle' }, hasBody: false, text: '' },
    { method: 'GET', params: { user_id: 'fish' }, hasBody: false, text: '' },
  ]);
});

test('a POST body nobody read before an InternalRedirect is still drained: the connection serves the next request', async (t) => {
  const shop = new Petshop();
  const server = await start(t, shop);
  const json = { 'Content-Type': 'application/json' };
  // A chunked body (drained before the answer) and one of declared length, then a GET, on one connection.
  const r = await raw(server.port, [
    head('POST', '/unread', { ...json, 'Transfer-Encoding': 'chunked' }, true) + '5\r\n{"a":\r\n2\r\n1}\r\n0\r\n\r\n',
    rawReq(server.port, 'POST', '/unread', { headers: json, body: '{"b":2}', keepAlive: true }),
    head('GET', '/image/getImagesByUser?user_id=last'),
  ]);
  assert.deepEqual(r.responses.map((res) => [res.status, res.body.toString()]), [
    [200, '0 images for slug'], [200, '0 images for slug'], [200, '0 images for last'],
  ]);
  assert.deepEqual(shop.seen.map((s) => [s.params, s.hasBody, s.text]), [
    [{ user_id: 'slug' }, false, ''], [{ user_id: 'slug' }, false, ''], [{ user_id: 'last' }, false, ''],
  ]);
});

test('a POST that waits for 100 Continue and is redirected unread gets no 100; the answer closes the connection', async (t) => {
  const shop = new Petshop();
  const server = await start(t, shop);
  const res = await one(server.port, 'POST', '/unread', { 'Content-Type': 'application/json', 'Content-Length': '7', Expect: '100-continue' }, { keepAlive: true });
  assert.equal(res.status, 200);
  assert.equal(res.body.toString(), '0 images for slug');
  assert.equal(res.headers.connection, 'close');
  assert.ok(res.raw.closedByServer);
  assert.ok(!res.raw.text.includes('100 Continue'));
});
