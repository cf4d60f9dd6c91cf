// The small header tools (issue 4 part 8) over real sockets:
// response_headers, expires, allow, proxy, auth_basic, cors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { App, HTTPRedirect, MethodDispatcher, exposed, type CheckPassword, type Config, type Context } from '../src/index.js';
import { rawRequest, type ParsedResponse } from '../src/testing.js';
import { startApp } from './helpers/server.js';
import { req } from './helpers/http.js';

async function ask(port: number, path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<ParsedResponse> {
  const r = await rawRequest(port, req(path, { method, headers: { Connection: 'close', ...headers } }));
  assert.equal(r.responses.length, 1, r.text);
  return r.responses[0]!;
}

const basic = (user: string, password: string): string => 'Basic ' + Buffer.from(`${user}:${password}`, 'utf8').toString('base64');

// ---------------------------------------------------------------------------
// response_headers

test('response_headers: fixed headers on a subtree, the handler may override them, error pages carry them', async (t) => {
  const root = {
    site: {
      page: exposed(() => 'page'),
      own: exposed(({ response }: Context) => { response.headers.set('X-Frame-Options', 'SAMEORIGIN'); return 'own'; }),
    },
    other: exposed(() => 'other'),
  };
  const server = await startApp(root, {
    '/site': { 'tools.response_headers.on': true, 'tools.response_headers.headers': { 'X-Frame-Options': 'DENY', 'X-Content-Type-Options': 'nosniff' } },
  });
  t.after(() => server.close());
  const page = await ask(server.port, '/site/page');
  assert.equal(page.headers['x-frame-options'], 'DENY');
  assert.equal(page.headers['x-content-type-options'], 'nosniff');
  assert.equal((await ask(server.port, '/site/own')).headers['x-frame-options'], 'SAMEORIGIN');
  const missing = await ask(server.port, '/site/nope');
  assert.equal(missing.status, 404);
  assert.equal(missing.headers['x-frame-options'], 'DENY');
  assert.equal((await ask(server.port, '/other')).headers['x-frame-options'], undefined);
  assert.throws(() => new App(root, { '/': { 'tools.response_headers.headers': ['X-A: 1'] } }), /expected an object/);
});

// ---------------------------------------------------------------------------
// expires

test('expires: secs gives max-age and a future Expires; 0 gives no-cache; the handler wins unless force', async (t) => {
  const root = {
    cached: exposed(() => 'cached'),
    never: exposed(() => 'never'),
    own: exposed(({ response }: Context) => { response.headers.set('Cache-Control', 'private'); return 'own'; }),
    forced: exposed(({ response }: Context) => { response.headers.set('Cache-Control', 'private'); return 'forced'; }),
  };
  const server = await startApp(root, {
    '/': { 'tools.expires.on': true, 'tools.expires.secs': 3600 },
    '/never': { 'tools.expires.secs': 0 },
    '/forced': { 'tools.expires.force': true },
  });
  t.after(() => server.close());
  const cached = await ask(server.port, '/cached');
  assert.equal(cached.headers['cache-control'], 'max-age=3600');
  const expiresAt = Date.parse(cached.headers.expires!);
  assert.ok(expiresAt > Date.now() + 3000 * 1000 && expiresAt <= Date.now() + 3601 * 1000, cached.headers.expires);
  const never = await ask(server.port, '/never');
  assert.equal(never.headers['cache-control'], 'no-cache, must-revalidate');
  assert.equal(never.headers.pragma, 'no-cache');
  assert.ok(Date.parse(never.headers.expires!) < Date.now());
  const own = await ask(server.port, '/own');
  assert.equal(own.headers['cache-control'], 'private');
  assert.equal(own.headers.expires, undefined);
  assert.equal((await ask(server.port, '/forced')).headers['cache-control'], 'max-age=3600');
  // A negative secs never reaches a request: the App refuses it.
  assert.throws(() => new App(root, { '/negative': { 'tools.expires.secs': -5 } }), { code: 'DRUPE_ERR_CONFIG_VALUE', message: /'tools\.expires\.secs' in section '\/negative'.*-5/ });
});

// ---------------------------------------------------------------------------
// allow

test('allow: other methods are a 405 with Allow (HEAD comes with GET) and the handler never runs', async (t) => {
  let calls = 0;
  const page = exposed(() => { calls++; return 'ok'; });
  const root = { ro: { index: page }, rw: { index: page }, post: { index: page } };
  const server = await startApp(root, {
    '/ro': { 'tools.allow.on': true },
    '/rw': { 'tools.allow.on': true, 'tools.allow.methods': ['get', 'POST'] },
    '/post': { 'tools.allow.on': true, 'tools.allow.methods': ['POST'] },
  });
  t.after(() => server.close());
  assert.equal((await ask(server.port, '/ro/')).status, 200);
  assert.equal((await ask(server.port, '/ro/', {}, 'HEAD')).status, 200);
  const post = await ask(server.port, '/ro/', { 'Content-Length': '0' }, 'POST');
  assert.equal(post.status, 405);
  assert.equal(post.headers.allow, 'GET, HEAD');
  calls = 0;
  const del = await ask(server.port, '/rw/', {}, 'DELETE');
  assert.equal(del.status, 405);
  assert.equal(del.headers.allow, 'GET, POST, HEAD');
  assert.equal((await ask(server.port, '/rw/', { 'Content-Length': '0' }, 'POST')).status, 200);
  const getPost = await ask(server.port, '/post/');
  assert.equal(getPost.status, 405);
  assert.equal(getPost.headers.allow, 'POST');
  assert.equal(calls, 1, 'only the allowed POST reached the handler');
});

// ---------------------------------------------------------------------------
// proxy

function proxyRoot(): object {
  return {
    who: exposed(({ request }: Context) => `${request.remote.ip} ${request.scheme} ${request.host}`),
    go: exposed(() => { throw new HTTPRedirect('/target'); }),
    dir: { index: exposed(() => 'dir') },
  };
}

test('proxy: X-Forwarded-* are ignored unless the peer is a trusted proxy (none by default)', async (t) => {
  const server = await startApp(proxyRoot(), { '/': { 'tools.proxy.on': true } });
  t.after(() => server.close());
  const forged = { 'X-Forwarded-For': '203.0.113.7', 'X-Forwarded-Host': 'evil.example', 'X-Forwarded-Proto': 'https' };
  assert.equal((await ask(server.port, '/who', forged)).body.toString(), '127.0.0.1 http 127.0.0.1');
  assert.equal((await ask(server.port, '/go', forged)).headers.location, 'http://127.0.0.1/target');
});

test('proxy: from a trusted peer, the client address, scheme and host are the forwarded ones — redirects included', async (t) => {
  const server = await startApp(proxyRoot(), { '/': { 'tools.proxy.on': true, 'tools.proxy.trusted': ['127.0.0.1', '::1', '10.0.0.0/8'] } });
  t.after(() => server.close());
  const fwd = { 'X-Forwarded-For': '203.0.113.7', 'X-Forwarded-Host': 'www.example.org', 'X-Forwarded-Proto': 'https' };
  assert.equal((await ask(server.port, '/who', fwd)).body.toString(), '203.0.113.7 https www.example.org');
  assert.equal((await ask(server.port, '/go', fwd)).headers.location, 'https://www.example.org/target');
  assert.equal((await ask(server.port, '/dir', fwd)).headers.location, 'https://www.example.org/dir/', 'the trailing-slash redirect too');
  // A chain: the first address from the right that is not a trusted proxy is the client; what it claims is not believed.
  const chain = await ask(server.port, '/who', { 'X-Forwarded-For': '198.51.100.1, 203.0.113.7, 10.1.2.3' });
  assert.equal(chain.body.toString(), '203.0.113.7 http 127.0.0.1');
  // Several values of a forwarded host or scheme: the last one, written by our own proxy.
  const many = await ask(server.port, '/who', { 'X-Forwarded-Host': 'evil.example, www.example.org', 'X-Forwarded-Proto': 'http, https' });
  assert.equal(many.body.toString(), '127.0.0.1 https www.example.org');
  // Malformed values are ignored.
  const junk = await ask(server.port, '/who', { 'X-Forwarded-For': 'not-an-ip', 'X-Forwarded-Host': 'evil.example/path', 'X-Forwarded-Proto': 'gopher' });
  assert.equal(junk.body.toString(), '127.0.0.1 http 127.0.0.1');
});

test('proxy: base fixes scheme and host; header names are options; an invalid trusted entry fails at start-up', async (t) => {
  const root = { a: proxyRoot(), b: proxyRoot(), bad: proxyRoot() };
  const server = await startApp(root, {
    '/': { 'tools.proxy.on': true, 'tools.proxy.trusted': ['127.0.0.1'] },
    '/a': { 'tools.proxy.base': 'https://site.example:8443' },
    '/b': { 'tools.proxy.remote': 'X-Real-IP', 'tools.proxy.local': '' },
  });
  t.after(() => server.close());
  assert.equal((await ask(server.port, '/a/go', { 'X-Forwarded-Host': 'ignored.example' })).headers.location, 'https://site.example:8443/target');
  const b = await ask(server.port, '/b/who', { 'X-Real-IP': '192.0.2.9', 'X-Forwarded-For': '203.0.113.7', 'X-Forwarded-Host': 'ignored.example' });
  assert.equal(b.body.toString(), '192.0.2.9 http 127.0.0.1');
  assert.throws(() => new App(root, { '/bad': { 'tools.proxy.trusted': ['localhost'] } }), { code: 'DRUPE_ERR_CONFIG_VALUE', message: /'tools\.proxy\.trusted' in section '\/bad'.*"localhost"/ });
});

// ---------------------------------------------------------------------------
// auth_basic

function authRoot(): object {
  return {
    admin: {
      index: exposed(({ request }: Context) => `hello ${request.login ?? '?'}`),
      secret: exposed(() => 'the secret'),
    },
    default: exposed(() => 'public'),
  };
}

const USERS: Config = { 'tools.auth_basic.on': true, 'tools.auth_basic.realm': 'admin area', 'tools.auth_basic.users': { ann: 's3cret', 'jürgen': 'pä:ss' } };

test('auth_basic: 401 with WWW-Authenticate without valid credentials; the user is request.login', async (t) => {
  const server = await startApp(authRoot(), { '/admin': USERS });
  t.after(() => server.close());
  const none = await ask(server.port, '/admin/');
  assert.equal(none.status, 401);
  assert.equal(none.headers['www-authenticate'], 'Basic realm="admin area", charset="UTF-8"');
  for (const authorization of [
    basic('ann', 'wrong'), basic('ann', ''), basic('bob', 's3cret'), basic('ann', 's3cret ') , basic('Ann', 's3cret'),
    basic('__proto__', ''), basic('constructor', ''), basic('toString', 'x'),
    'Basic !!!', 'Bearer abc', 'Basic', 'Basic ' + Buffer.from('no colon').toString('base64'), 'Basic ' + Buffer.from([0xff, 0x3a, 0x61]).toString('base64'),
  ]) {
    const res = await ask(server.port, '/admin/', { Authorization: authorization });
    assert.equal(res.status, 401, authorization);
    assert.ok(!res.body.toString().includes('hello'), authorization);
  }
  const ok = await ask(server.port, '/admin/', { Authorization: basic('ann', 's3cret') });
  assert.equal(ok.status, 200);
  assert.equal(ok.body.toString(), 'hello ann');
  const lower = await ask(server.port, '/admin/', { Authorization: basic('ann', 's3cret').replace('Basic', 'basic') });
  assert.equal(lower.status, 200);
  const utf8 = await ask(server.port, '/admin/', { Authorization: basic('jürgen', 'pä:ss') });
  assert.equal(utf8.status, 200, 'UTF-8 names, a colon in the password');
  assert.equal(utf8.body.toString(), 'hello jürgen');
  const head = await ask(server.port, '/admin/', {}, 'HEAD');
  assert.equal(head.status, 401);
  assert.equal(head.body.length, 0);
  // Outside the subtree: no auth.
  assert.equal((await ask(server.port, '/elsewhere')).body.toString(), 'public');
});

test("auth_basic runs where CherryPy runs it: before_handler, priority 1 — after on_start_resource and the body, before the other before_handler tools and hooks", async (t) => {
  const seen: string[] = [];
  const note = (what: string) => ({ request, params }: Context): void => { seen.push(`${what} login=${String(request.login)} name=${String(params.name)}`); };
  const server = await startApp({ guarded: exposed(({ request }: Context) => `hello ${String(request.login)}`), page: exposed(() => 'page') }, {
    '/': {
      ...USERS,
      'tools.trailing_slash.extra': true,
      'hooks.on_start_resource': note('start'),
      'hooks.before_handler': [{ run: note('before0'), priority: 0 }, { run: note('before2'), priority: 2 }],
    },
  });
  t.after(() => server.close());
  const form = { 'Content-Type': 'application/x-www-form-urlencoded', 'Content-Length': '8', Connection: 'close' };
  const r = await rawRequest(server.port, req('/guarded', { method: 'POST', headers: form }) + 'name=ann');
  assert.equal(r.responses[0]!.status, 401);
  // The form was read before the check (CherryPy's order); a hook at priority 2 never ran.
  assert.deepEqual(seen, ['start login=undefined name=undefined', 'before0 login=undefined name=ann']);
  seen.length = 0;
  const ok = await rawRequest(server.port, req('/guarded', { method: 'POST', headers: { ...form, Authorization: basic('ann', 's3cret') } }) + 'name=ann');
  assert.equal(ok.responses[0]!.body.toString(), 'hello ann');
  assert.deepEqual(seen, ['start login=undefined name=undefined', 'before0 login=undefined name=ann', 'before2 login=ann name=ann']);
  // Before the trailing-slash redirect (before_handler, 20): no redirect tells an anonymous client what exists.
  assert.equal((await ask(server.port, '/page/')).status, 401);
  assert.equal((await ask(server.port, '/page/', { Authorization: basic('ann', 's3cret') })).status, 301);
});

test('auth_basic: encoded slashes and empty segments never bypass the guard of a subtree (HOSTILE 19)', async (t) => {
  const server = await startApp(authRoot(), { '/admin': USERS });
  t.after(() => server.close());
  for (const path of ['/admin/secret', '//admin/secret', '/admin//secret', '/admin%2Fsecret', '/admin%2fsecret', '/%61dmin/secret', '/admin/./secret']) {
    const res = await ask(server.port, path);
    assert.ok(!res.body.toString().includes('the secret'), `${path} leaked the secret (${res.status})`);
  }
});

test('auth_basic: checkpassword (sync or async) instead of users; it gets the realm; the realm is quoted safely', async (t) => {
  const seen: string[] = [];
  const check: CheckPassword = (realm, user, password) => {
    seen.push(realm);
    return user === 'ann' && password === 'pw';
  };
  const checkAsync: CheckPassword = async (_realm, user, password) => {
    await new Promise((resolve) => setImmediate(resolve));
    return user === 'bob' && password === 'pw2';
  };
  const root = { a: authRoot(), b: authRoot(), q: authRoot() };
  const server = await startApp(root, {
    '/a': { 'tools.auth_basic.on': true, 'tools.auth_basic.realm': 'A', 'tools.auth_basic.checkpassword': check },
    '/b': { 'tools.auth_basic.on': true, 'tools.auth_basic.checkpassword': checkAsync },
    '/q': { 'tools.auth_basic.on': true, 'tools.auth_basic.realm': 'say "hi" \\o/' },
  });
  t.after(() => server.close());
  assert.equal((await ask(server.port, '/a/admin/', { Authorization: basic('ann', 'pw') })).body.toString(), 'hello ann');
  assert.equal((await ask(server.port, '/a/admin/', { Authorization: basic('ann', 'no') })).status, 401);
  assert.deepEqual(seen, ['A', 'A']);
  assert.equal((await ask(server.port, '/b/admin/', { Authorization: basic('bob', 'pw2') })).body.toString(), 'hello bob');
  assert.equal((await ask(server.port, '/b/admin/', { Authorization: basic('bob', 'pw') })).status, 401);
  assert.equal((await ask(server.port, '/q/admin/')).headers['www-authenticate'], 'Basic realm="say \\"hi\\" \\\\o/", charset="UTF-8"');
});

// ---------------------------------------------------------------------------
// cors

const ORIGIN = 'https://app.example';

test('cors: a simple request from an allowed origin gets Access-Control-Allow-Origin and Vary: Origin; others get neither header', async (t) => {
  const root = { api: { data: exposed(() => 'data') }, open: { data: exposed(() => 'open') }, cred: { data: exposed(() => 'cred') } };
  const server = await startApp(root, {
    '/api': { 'tools.cors.on': true, 'tools.cors.origins': [ORIGIN], 'tools.cors.expose_headers': ['X-Total'] },
    '/open': { 'tools.cors.on': true },
    '/cred': { 'tools.cors.on': true, 'tools.cors.credentials': true },
  });
  t.after(() => server.close());
  const ok = await ask(server.port, '/api/data', { Origin: ORIGIN });
  assert.equal(ok.headers['access-control-allow-origin'], ORIGIN);
  assert.equal(ok.headers['access-control-expose-headers'], 'X-Total');
  assert.equal(ok.headers.vary, 'Origin');
  assert.equal(ok.headers['access-control-allow-credentials'], undefined);
  const other = await ask(server.port, '/api/data', { Origin: 'https://evil.example' });
  assert.equal(other.headers['access-control-allow-origin'], undefined);
  assert.equal(other.headers.vary, 'Origin');
  assert.equal(other.body.toString(), 'data');
  assert.equal((await ask(server.port, '/api/data')).headers['access-control-allow-origin'], undefined);
  const open = await ask(server.port, '/open/data', { Origin: 'https://any.example' });
  assert.equal(open.headers['access-control-allow-origin'], '*');
  assert.equal(open.headers.vary, undefined);
  const cred = await ask(server.port, '/cred/data', { Origin: 'https://any.example' });
  assert.equal(cred.headers['access-control-allow-origin'], 'https://any.example', 'never * with credentials');
  assert.equal(cred.headers['access-control-allow-credentials'], 'true');
  assert.equal(cred.headers.vary, 'Origin');
});

test('cors: a preflight is answered with 204 and the Allow-* headers, without running the handler', async (t) => {
  let calls = 0;
  const root = { api: { index: exposed(() => { calls++; return 'index'; }), data: exposed(() => { calls++; return 'data'; }) }, fixed: { data: exposed(() => 'fixed') } };
  const server = await startApp(root, {
    '/api': { 'tools.cors.on': true, 'tools.cors.origins': [ORIGIN], 'tools.cors.max_age': 600 },
    '/fixed': { 'tools.cors.on': true, 'tools.cors.headers': ['Content-Type', 'X-Token'], 'tools.cors.methods': ['GET', 'POST'] },
  });
  t.after(() => server.close());
  const preflight = { Origin: ORIGIN, 'Access-Control-Request-Method': 'PUT', 'Access-Control-Request-Headers': 'content-type, x-token' };
  const res = await ask(server.port, '/api/data', preflight, 'OPTIONS');
  assert.equal(res.status, 204);
  assert.equal(res.body.length, 0);
  assert.equal(res.headers['access-control-allow-origin'], ORIGIN);
  assert.equal(res.headers['access-control-allow-methods'], 'GET, HEAD, POST, PUT, PATCH, DELETE');
  assert.equal(res.headers['access-control-allow-headers'], 'content-type, x-token');
  assert.equal(res.headers['access-control-max-age'], '600');
  assert.equal(res.headers.vary, 'Origin, Access-Control-Request-Headers');
  // An index reached without its slash: answered, not redirected.
  assert.equal((await ask(server.port, '/api', preflight, 'OPTIONS')).status, 204);
  assert.equal(calls, 0);
  const fixed = await ask(server.port, '/fixed/data', { ...preflight, Origin: 'https://x.example' }, 'OPTIONS');
  assert.equal(fixed.headers['access-control-allow-headers'], 'Content-Type, X-Token');
  assert.equal(fixed.headers['access-control-allow-methods'], 'GET, POST');
  assert.equal(fixed.headers['access-control-max-age'], undefined);
  // A plain OPTIONS (no Access-Control-Request-Method) is not a preflight: the handler answers.
  const plain = await ask(server.port, '/api/data', { Origin: ORIGIN }, 'OPTIONS');
  assert.equal(plain.status, 200);
  assert.equal(plain.body.toString(), 'data');
  // A preflight from an origin not allowed is not answered by the tool.
  const denied = await ask(server.port, '/api/data', { ...preflight, Origin: 'https://evil.example' }, 'OPTIONS');
  assert.equal(denied.headers['access-control-allow-origin'], undefined);
});

test('cors: preflights pass auth_basic, allow and a MethodDispatcher resource without OPTIONS; real requests are still guarded', async (t) => {
  class Items {
    GET(): string { return 'items'; }
    POST(): string { return 'posted'; }
  }
  const root = { api: { items: new Items() }, admin: { index: exposed(() => 'admin') } };
  const server = await startApp(root, {
    '/': { 'tools.cors.on': true, 'tools.cors.origins': [ORIGIN] },
    '/api': { 'request.dispatch': new MethodDispatcher(), 'tools.auth_basic.on': true, 'tools.auth_basic.users': { ann: 'pw' } },
    '/admin': { 'tools.allow.on': true },
  });
  t.after(() => server.close());
  const preflight = { Origin: ORIGIN, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'authorization' };
  const pre = await ask(server.port, '/api/items', preflight, 'OPTIONS');
  assert.equal(pre.status, 204);
  assert.equal(pre.headers['access-control-allow-origin'], ORIGIN);
  // The real request without credentials: a 401 the page's script can read (CORS headers on the error).
  const denied = await ask(server.port, '/api/items', { Origin: ORIGIN });
  assert.equal(denied.status, 401);
  assert.equal(denied.headers['access-control-allow-origin'], ORIGIN);
  assert.equal((await ask(server.port, '/api/items', { Origin: ORIGIN, Authorization: basic('ann', 'pw') })).body.toString(), 'items');
  // A method the resource lacks is still a 405 (with credentials, so auth is not what answers).
  const patch = await ask(server.port, '/api/items', { Authorization: basic('ann', 'pw') }, 'PATCH');
  assert.equal(patch.status, 405);
  assert.equal(patch.headers.allow, 'GET, POST, HEAD');
  // tools.allow (GET, HEAD) lets the preflight through, refuses the real DELETE.
  assert.equal((await ask(server.port, '/admin/', { ...preflight, 'Access-Control-Request-Method': 'DELETE' }, 'OPTIONS')).status, 204);
  assert.equal((await ask(server.port, '/admin/', { Origin: ORIGIN }, 'DELETE')).status, 405);
});
