// tools.sessions over real sockets, with the RAM store: config keys, request.session,
// the cookie, save only when changed, fresh ids for unknown ones (HOSTILE 51).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WebSocket } from 'ws';
import { App, DrupeError, expose, exposed, HTTPRedirect, ramStore, type Context, type WebSocketConnection } from '../src/index.js';
import { within } from './helpers/async.js';
import { start } from './helpers/server.js';
import { cookieOf, sessionGet } from './helpers/session-client.js';

const ON = { 'tools.sessions.on': true };

class Counter {
  @expose() index({ request }: Context): string {
    const n = ((request.session.get('n') as number | undefined) ?? 0) + 1;
    request.session.set('n', n);
    return String(n);
  }
  @expose() peek({ request }: Context): string {
    return String(request.session.get('n') ?? 'none');
  }
  @expose() login({ request }: Context): never {
    request.session.regenerate();
    request.session.set('user', 'ann');
    throw new HTTPRedirect('/who');
  }
  @expose() who({ request }: Context): string {
    return String(request.session.get('user') ?? 'nobody');
  }
  @expose() logout({ request }: Context): string {
    request.session.expire();
    return 'bye';
  }
  @expose() fail({ request }: Context): string {
    request.session.set('n', 1000);
    throw new Error('boom');
  }
  @expose() off({ request }: Context): string {
    return String(request.session.get('n'));
  }
}

test('a counter: the session follows its cookie; the cookie carries the configured attributes', async (t) => {
  const server = await start(t, new Counter(), { '/': ON, '/off': { 'tools.sessions.on': false } });
  const first = await sessionGet(server.url + '/');
  assert.equal(first.text, '1');
  const setCookie = first.setCookies.find((c) => c.startsWith('session_id='));
  assert.ok(setCookie !== undefined, 'a new session sends its cookie');
  assert.match(setCookie, /^session_id=[A-Za-z0-9_-]{32}; Max-Age=3600; Path=\/; HttpOnly; SameSite=Lax$/);
  assert.equal(first.headers.get('vary'), 'Cookie', 'a page built from the session varies by the cookie');
  const id = cookieOf(first.setCookies, 'session_id')!;
  const second = await sessionGet(server.url + '/', id);
  assert.equal(second.text, '2');
  assert.equal(cookieOf(second.setCookies, 'session_id'), id, 'the same id, its Max-Age renewed');
  assert.equal((await sessionGet(server.url + '/peek', id)).text, '2');
  assert.equal((await sessionGet(server.url + '/peek')).text, 'none');
});

test('a request that only reads a new session (or leaves it empty) stores nothing and sends no cookie', async (t) => {
  const root = {
    peek: exposed(({ request }: Context) => String(request.session.get('n') ?? 'none')),
    undo: exposed(({ request }: Context) => { request.session.set('x', 1); request.session.delete('x'); return 'undone'; }),
  };
  const server = await start(t, root, { '/': ON });
  const r = await sessionGet(server.url + '/peek');
  assert.equal(r.status, 200);
  assert.deepEqual(r.setCookies, []);
  const u = await sessionGet(server.url + '/undo');
  assert.equal(u.text, 'undone');
  assert.deepEqual(u.setCookies, []);
});

test('regenerate() at login: a new id for the same data, the old id forgotten; the redirect saves', async (t) => {
  const server = await start(t, new Counter(), { '/': ON });
  const id = cookieOf((await sessionGet(server.url + '/')).setCookies, 'session_id')!;
  const login = await sessionGet(server.url + '/login', id);
  assert.equal(login.status, 303);
  const newId = cookieOf(login.setCookies, 'session_id')!;
  assert.notEqual(newId, id);
  assert.equal(login.setCookies.filter((c) => c.startsWith('session_id=')).length, 1, 'one Set-Cookie for the session');
  assert.equal((await sessionGet(server.url + '/who', newId)).text, 'ann');
  assert.equal((await sessionGet(server.url + '/peek', newId)).text, '1', 'the data went with the new id');
  const old = await sessionGet(server.url + '/who', id);
  assert.equal(old.text, 'nobody', 'the old id is unknown now');
});

test('expire(): the session is dropped and the cookie deleted', async (t) => {
  const server = await start(t, new Counter(), { '/': ON });
  const id = cookieOf((await sessionGet(server.url + '/')).setCookies, 'session_id')!;
  const out = await sessionGet(server.url + '/logout', id);
  assert.equal(out.text, 'bye');
  assert.match(out.setCookies.find((c) => c.startsWith('session_id='))!, /^session_id=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=\//);
  assert.equal((await sessionGet(server.url + '/peek', id)).text, 'none');
});

test('a handler that fails saves nothing', async (t) => {
  const server = await start(t, new Counter(), { '/': ON });
  const id = cookieOf((await sessionGet(server.url + '/')).setCookies, 'session_id')!;
  assert.equal((await sessionGet(server.url + '/fail', id)).status, 500);
  assert.equal((await sessionGet(server.url + '/peek', id)).text, '1');
  const fresh = await sessionGet(server.url + '/fail');
  assert.equal(fresh.status, 500);
  assert.deepEqual(fresh.setCookies, [], 'no cookie for a new session that was never saved');
});

test('request.session where the tool is off: a clear error (a logged 500)', async (t) => {
  const server = await start(t, new Counter(), { '/': ON, '/off': { 'tools.sessions.on': false } }, { 'request.show_tracebacks': true });
  const r = await sessionGet(server.url + '/off');
  assert.equal(r.status, 500);
  assert.match(r.text, /tools\.sessions is not on for this route/);
});

test('a WebSocket endpoint reads the session (who logged in) without holding its lock; changing it there is DRUPE_ERR_SESSION', async (t) => {
  const root = {
    login: exposed(({ request }: Context) => { request.session.set('user', 'ann'); return 'in'; }),
    who: exposed(({ request }: Context) => String(request.session.get('user'))),
    ws: exposed.websocket(async (socket: WebSocketConnection, { request }: Context) => {
      let change = 'changed';
      try {
        request.session.set('user', 'eve');
      } catch (err) {
        change = (err as { code: string }).code;
      }
      await socket.send(`${String(request.session.get('user'))} ${change} locked=${request.session.locked}`);
      for await (const message of socket) await socket.send(message);
    }),
  };
  const server = await start(t, root, { '/': { 'tools.sessions.on': true, 'tools.sessions.locking': 'early', 'tools.sessions.locking_timeout': 5 } });
  const id = cookieOf((await sessionGet(server.url + '/login')).setCookies, 'session_id')!;
  const ws = new WebSocket(server.url.replace('http', 'ws') + '/ws', { headers: { Cookie: `session_id=${id}` } });
  t.after(() => ws.terminate());
  const first = await within(new Promise<string>((resolve, reject) => { ws.once('message', (d: Buffer) => resolve(d.toString())); ws.once('error', reject); }), 'the first message');
  assert.equal(first, 'ann DRUPE_ERR_SESSION locked=false');
  // The socket is open: the session's other requests are not held up.
  assert.equal((await within(sessionGet(server.url + '/who', id), 'a page of the same session', 4000)).text, 'ann');
  ws.close();
});

test('tools.sessions options are checked at start-up: a bad value names its key', () => {
  const bad: Array<[Record<string, unknown>, RegExp]> = [
    [{ 'tools.sessions.storage_type': 'memcached' }, /tools\.sessions\.storage_type'.*'ram', 'file' or 'redis'/],
    [{ 'tools.sessions.storage_type': 'redis', 'tools.sessions.redis_url': 'localhost:6379' }, /tools\.sessions\.redis_url'/],
    [{ 'tools.sessions.timeout': 0 }, /tools\.sessions\.timeout'/],
    [{ 'tools.sessions.timeout': '60' }, /tools\.sessions\.timeout'.*expected a number/],
    [{ 'tools.sessions.name': 'session id' }, /tools\.sessions\.name'/],
    [{ 'tools.sessions.path': 'account' }, /tools\.sessions\.path'/],
    [{ 'tools.sessions.domain': 'a;b' }, /tools\.sessions\.domain'/],
    [{ 'tools.sessions.samesite': 'lax' }, /tools\.sessions\.samesite'/],
    [{ 'tools.sessions.samesite': 'None' }, /tools\.sessions\.samesite'.*needs tools\.sessions\.secure/],
    [{ 'tools.sessions.locking': 'late' }, /tools\.sessions\.locking'/],
    [{ 'tools.sessions.locking_timeout': -1 }, /tools\.sessions\.locking_timeout'/],
    [{ 'tools.sessions.clean_freq': -1 }, /tools\.sessions\.clean_freq'/],
    [{ 'tools.sessions.max_size': 0 }, /tools\.sessions\.max_size'/],
    [{ 'tools.sessions.max_sessions': 1.5 }, /tools\.sessions\.max_sessions'/],
    [{ 'tools.sessions.store': { load() { return undefined; } } }, /tools\.sessions\.store'.*a SessionStore/],
    [{ 'tools.sessions.lifetime': 5 }, /tool 'sessions' has no option 'lifetime'/],
  ];
  for (const [config, message] of bad) {
    assert.throws(() => new App(new Counter(), { '/': { 'tools.sessions.on': true, ...config } }), (err: unknown) => err instanceof DrupeError && message.test(err.message), JSON.stringify(config));
  }
  // Good values, a user's store among them, pass.
  new App(new Counter(), { '/': {
    'tools.sessions.on': true, 'tools.sessions.storage_type': 'file', 'tools.sessions.storage_path': '/tmp/x', 'tools.sessions.samesite': 'None',
    'tools.sessions.secure': true, 'tools.sessions.locking': 'explicit', 'tools.sessions.store': ramStore({ maxSize: 10, maxSessions: 1 }),
  } });
});

test('the cookie attributes follow the options: name, path, domain, Secure, no HttpOnly, SameSite=Strict, not persistent', async (t) => {
  const server = await start(t, new Counter(), { '/': {
    'tools.sessions.on': true, 'tools.sessions.name': 'sid', 'tools.sessions.path': '/app', 'tools.sessions.domain': 'example.test',
    'tools.sessions.secure': true, 'tools.sessions.httponly': false, 'tools.sessions.samesite': 'Strict', 'tools.sessions.persistent': false,
  } });
  const r = await sessionGet(server.url + '/');
  assert.deepEqual(r.setCookies.map((c) => c.replace(/=[A-Za-z0-9_-]{32};/, '=ID;')), ['sid=ID; Domain=example.test; Path=/app; Secure; SameSite=Strict']);
  const id = cookieOf(r.setCookies, 'sid')!;
  assert.equal((await sessionGet(server.url + '/', id, { name: 'sid' })).text, '2');
  const peek = await sessionGet(server.url + '/peek', id, { name: 'sid' });
  assert.deepEqual(peek.setCookies, [], 'a session cookie (no Max-Age) is not sent again when only read');
});

test('storage_type and its place may be set at different levels (and lines of a config file); a place never set is a clear 500 where a session is needed', async (t) => {
  const { parseConfig } = await import('../src/index.js');
  const loaded = parseConfig('[/]\ntools.sessions.on = True\ntools.sessions.storage_type = "redis"\ntools.sessions.redis_url = "redis://127.0.0.1:1/0"\n');
  assert.equal(loaded.sections['/']?.['tools.sessions.redis_url'], 'redis://127.0.0.1:1/0');
  const files = parseConfig('[/]\ntools.sessions.on = True\ntools.sessions.storage_type = "file"\ntools.sessions.storage_path = "var/sessions"\n', '/srv/site/site.conf');
  assert.equal(files.sections['/']?.['tools.sessions.storage_path'], '/srv/site/var/sessions', "a relative storage_path is read from the file's folder");
  const server = await start(t, new Counter(), { '/': { 'tools.sessions.on': true }, '/peek': { 'tools.sessions.storage_path': '' } }, { 'tools.sessions.storage_type': 'file', 'request.show_tracebacks': true });
  const r = await sessionGet(server.url + '/peek');
  assert.equal(r.status, 500);
  assert.match(r.text, /storage_type is &#39;file&#39; but tools\.sessions\.storage_path \(the directory\) is not set/);
});

test('an InternalRedirect from a hook after the session was loaded, before the handler: the next pass gets the session, not a wait for its own lock', async (t) => {
  const { InternalRedirect } = await import('../src/index.js');
  const root = {
    index: exposed(({ request }: Context) => { request.session.set('n', ((request.session.get('n') as number | undefined) ?? 0) + 1); return 'counted'; }),
    old: exposed(() => 'never'),
    peek: exposed(({ request }: Context) => `n=${String(request.session.get('n'))}`),
  };
  const moveOld = (ctx: Context): void => { if (ctx.request.path === '/old') throw new InternalRedirect('/peek'); };
  const server = await start(t, root, { '/': {
    'tools.sessions.on': true, 'tools.sessions.locking': 'early', 'tools.sessions.locking_timeout': 5, 'hooks.before_handler': { run: moveOld, priority: 60 },
  } });
  const id = cookieOf((await sessionGet(server.url + '/')).setCookies, 'session_id')!;
  const r = await within(sessionGet(server.url + '/old', id), 'the redirected request', 4000);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.text, 'n=1');
});

test('get, set, has, delete, keys, clear and id, as the next request sees them; a key named __proto__ is just a key', async (t) => {
  const root = {
    fill: exposed(({ request }: Context) => {
      const s = request.session;
      s.set('a', 1); s.set('b', { deep: [1, 'two'] }); s.set('__proto__', 'plain'); s.set('gone', true);
      return JSON.stringify([s.delete('gone'), s.delete('never'), s.has('a'), s.has('gone'), s.keys().sort()]);
    }),
    read: exposed(({ request }: Context) => JSON.stringify([request.session.id, request.session.get('b'), request.session.get('__proto__'), request.session.get('toString') ?? null, request.session.keys().sort()])),
    wipe: exposed(({ request }: Context) => { request.session.clear(); return String(request.session.keys().length); }),
  };
  const server = await start(t, root, { '/': ON });
  const fill = await sessionGet(server.url + '/fill');
  assert.equal(fill.text, JSON.stringify([true, false, true, false, ['__proto__', 'a', 'b']]));
  const id = cookieOf(fill.setCookies, 'session_id')!;
  assert.equal((await sessionGet(server.url + '/read', id)).text, JSON.stringify([id, { deep: [1, 'two'] }, 'plain', null, ['__proto__', 'a', 'b']]));
  assert.equal((await sessionGet(server.url + '/wipe', id)).text, '0');
  assert.equal((await sessionGet(server.url + '/read', id)).text, JSON.stringify([id, null, null, null, []]), 'cleared: the same id, no values');
});

test('over HTTP/2 (cleartext h2): the session follows its cookie', async (t) => {
  const { h2Request } = await import('../src/testing.js');
  const server = await start(t, new Counter(), { '/': { ...ON, 'tools.sessions.locking': 'early' } }, { 'server.http2': true });
  const first = await h2Request(server.port, { path: '/' });
  assert.equal(await first.text(), '1');
  const setCookie = [first.headers['set-cookie'] ?? []].flat();
  const id = cookieOf(setCookie, 'session_id');
  assert.match(id ?? '', /^[A-Za-z0-9_-]{32}$/);
  const second = await h2Request(server.port, { path: '/', headers: { cookie: `session_id=${id}` } });
  assert.equal(await second.text(), '2');
  const peek = await h2Request(server.port, { path: '/peek', headers: { cookie: `session_id=${id}` } });
  assert.equal(await peek.text(), '2');
});
