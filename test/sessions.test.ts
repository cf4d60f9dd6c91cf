// tools.sessions over real sockets, with the RAM store: config keys, request.session,
// the cookie, save only when changed, fresh ids for unknown ones (HOSTILE 51).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { expose, HTTPRedirect, type Context } from '../src/index.js';
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
  const id = cookieOf(first.setCookies, 'session_id')!;
  const second = await sessionGet(server.url + '/', id);
  assert.equal(second.text, '2');
  assert.equal(cookieOf(second.setCookies, 'session_id'), id, 'the same id, its Max-Age renewed');
  assert.equal((await sessionGet(server.url + '/peek', id)).text, '2');
  assert.equal((await sessionGet(server.url + '/peek')).text, 'none');
});

test('a request that only reads a new session stores nothing and sends no cookie', async (t) => {
  const server = await start(t, new Counter(), { '/': ON });
  const r = await sessionGet(server.url + '/peek');
  assert.equal(r.status, 200);
  assert.deepEqual(r.setCookies, []);
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
});

test('request.session where the tool is off: a clear error (a logged 500)', async (t) => {
  const server = await start(t, new Counter(), { '/': ON, '/off': { 'tools.sessions.on': false } }, { 'request.show_tracebacks': true });
  const r = await sessionGet(server.url + '/off');
  assert.equal(r.status, 500);
  assert.match(r.text, /tools\.sessions is not on for this route/);
});
