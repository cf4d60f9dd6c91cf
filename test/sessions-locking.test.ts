// Session locking over real sockets: 'early' and 'implicit' serialize the requests of one
// session, 'explicit' when the handler asks; a lock wait is bounded (a 503 with
// Retry-After, HOSTILE 54), also when a user's store never answers; a store that is
// unavailable is a 503 for the routes that need a session and nothing for the rest.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { expose, exposed, ramStore, SessionStoreUnavailableError, type Config, type Context, type SessionLock, type SessionStore } from '../src/index.js';
import { deferred, tick, within } from './helpers/async.js';
import { start } from './helpers/server.js';
import { cookieOf, sessionGet } from './helpers/session-client.js';

class Counter {
  @expose() async index({ request }: Context): Promise<string> {
    const n = (request.session.get('n') as number | undefined) ?? 0;
    await tick(); // another request of the session would read the same n here, were it not locked out
    request.session.set('n', n + 1);
    return String(n + 1);
  }
  @expose() async explicit({ request }: Context): Promise<string> {
    await request.session.acquireLock();
    const n = (request.session.get('n') as number | undefined) ?? 0;
    await tick();
    request.session.set('n', n + 1);
    await request.session.releaseLock();
    return String(n + 1);
  }
  @expose() peek({ request }: Context): string {
    return String(request.session.get('n') ?? 'none');
  }
  @expose() plain(): string {
    return 'no session here';
  }
}

async function newSession(url: string): Promise<string> {
  const r = await sessionGet(url + '/');
  assert.equal(r.status, 200, r.text);
  return cookieOf(r.setCookies, 'session_id')!;
}

async function concurrentIncrements(config: Config, path: string, n: number): Promise<void> {
  await test(`locking ${JSON.stringify(config['tools.sessions.locking'] ?? 'implicit')}: ${n} concurrent increments of one session (${path}) end at exactly ${n + 1}`, async (t) => {
    const server = await start(t, new Counter(), { '/': { 'tools.sessions.on': true, ...config } });
    const id = await newSession(server.url);
    const replies = await within(Promise.all(Array.from({ length: n }, () => sessionGet(server.url + path, id))), 'the increments', 20_000);
    assert.deepEqual(replies.map((r) => r.status), replies.map(() => 200));
    // Each request saw the one before it: the answers are 2 … n+1, each once.
    assert.deepEqual(replies.map((r) => Number(r.text)).sort((a, b) => a - b), Array.from({ length: n }, (_, i) => i + 2));
    assert.equal((await sessionGet(server.url + '/peek', id)).text, String(n + 1));
  });
}

await concurrentIncrements({ 'tools.sessions.locking': 'early' }, '/', 50);
await concurrentIncrements({}, '/', 50);
await concurrentIncrements({ 'tools.sessions.locking': 'explicit' }, '/explicit', 50);

test('HOSTILE 54: a request that waits longer than locking_timeout for its session gets a 503 with Retry-After; the holder finishes', async (t) => {
  // Hold one session's lock for as long as the test says.
  const gate = deferred();
  const entered = deferred();
  const root = {
    make: exposed(({ request }: Context) => { request.session.set('n', 1); return 'made'; }),
    hold: exposed(async () => { entered.resolve(); await gate.promise; return 'held'; }),
    peek: exposed(({ request }: Context) => String(request.session.get('n'))),
    plain: exposed(() => 'plain'),
  };
  const server = await start(t, root, { '/': { 'tools.sessions.on': true, 'tools.sessions.locking': 'early', 'tools.sessions.locking_timeout': 0.2 }, '/plain': { 'tools.sessions.on': false } });
  const id = cookieOf((await sessionGet(server.url + '/make')).setCookies, 'session_id')!;
  const holding = sessionGet(server.url + '/hold', id);
  await within(entered.promise, 'the holder to start');
  const waiting = await within(sessionGet(server.url + '/peek', id), 'the waiting request to be refused');
  assert.equal(waiting.status, 503);
  assert.equal(waiting.headers.get('retry-after'), '1');
  assert.match(waiting.text, /The session is busy with another request/);
  assert.equal((await sessionGet(server.url + '/plain', id)).text, 'plain', 'a route without sessions is not held up');
  assert.equal((await sessionGet(server.url + '/peek')).status, 200, 'another session is not held up');
  gate.resolve();
  assert.equal((await within(holding, 'the holder')).text, 'held');
  assert.equal((await sessionGet(server.url + '/peek', id)).text, '1', 'free again once the holder finished');
});

test('HOSTILE 54 under explicit locking: acquireLock() that waits past locking_timeout is the same 503, and the holder\'s work stands', async (t) => {
  const gate = deferred();
  const entered = deferred();
  const root = {
    make: exposed(({ request }: Context) => { request.session.set('n', 1); return 'made'; }),
    hold: exposed(async ({ request }: Context) => {
      await request.session.acquireLock();
      entered.resolve();
      await gate.promise;
      request.session.set('n', 2);
      return 'held';
    }),
    bump: exposed(async ({ request }: Context) => {
      await request.session.acquireLock();
      request.session.set('n', 100);
      return 'bumped';
    }),
    peek: exposed(({ request }: Context) => String(request.session.get('n'))),
  };
  const server = await start(t, root, { '/': { 'tools.sessions.on': true, 'tools.sessions.locking': 'explicit', 'tools.sessions.locking_timeout': 0.2 } });
  const id = cookieOf((await sessionGet(server.url + '/make')).setCookies, 'session_id')!;
  const holding = sessionGet(server.url + '/hold', id);
  await within(entered.promise, 'the holder to take the lock');
  assert.equal((await sessionGet(server.url + '/peek', id)).text, '1', 'reading needs no lock under explicit locking');
  const refused = await within(sessionGet(server.url + '/bump', id), 'the refused acquireLock');
  assert.equal(refused.status, 503);
  assert.equal(refused.headers.get('retry-after'), '1');
  gate.resolve();
  assert.equal((await within(holding, 'the holder')).text, 'held');
  assert.equal((await sessionGet(server.url + '/peek', id)).text, '2', 'the refused request changed nothing');
});

/** A user's store whose lock never answers, over a RAM store for the rest. */
function silentLockStore(): SessionStore {
  const inner = ramStore({ maxSize: 4096, maxSessions: 100 });
  return {
    load: (id) => inner.load(id), save: (id, d, ttl) => inner.save(id, d, ttl), touch: (id, ttl) => inner.touch(id, ttl),
    delete: (id) => inner.delete(id), clean: () => inner.clean(), close: () => inner.close(),
    lock: () => new Promise<SessionLock>(() => undefined),
  };
}

test('HOSTILE 54: a user store whose lock() never answers: the wait is still bounded, a 503 with Retry-After', async (t) => {
  const store = silentLockStore();
  const root = {
    make: exposed(({ request }: Context) => { request.session.set('n', 1); return 'made'; }),
    peek: exposed(({ request }: Context) => String(request.session.get('n'))),
  };
  const server = await start(t, root, { '/': { 'tools.sessions.on': true, 'tools.sessions.store': store, 'tools.sessions.locking_timeout': 0 } });
  const id = cookieOf((await sessionGet(server.url + '/make')).setCookies, 'session_id')!; // a new session takes no lock
  const r = await within(sessionGet(server.url + '/peek', id), 'the bounded lock wait', 10_000);
  assert.equal(r.status, 503);
  assert.equal(r.headers.get('retry-after'), '1');
});

test('a store that is unavailable: a 503 with Retry-After where a session is needed, the rest keeps working, and it recovers', async (t) => {
  const inner = ramStore({ maxSize: 4096, maxSessions: 100 });
  let down = false;
  const guard = <T>(f: () => Promise<T>): Promise<T> => (down ? Promise.reject(new SessionStoreUnavailableError('the test took the store away (redis://secret-host:6379)')) : f());
  const store: SessionStore = {
    load: (id) => guard(() => inner.load(id)), save: (id, d, ttl) => guard(() => inner.save(id, d, ttl)), touch: (id, ttl) => guard(() => inner.touch(id, ttl)),
    delete: (id) => guard(() => inner.delete(id)), lock: (id, w, h) => guard(() => inner.lock(id, w, h)), clean: () => guard(() => inner.clean()), close: () => inner.close(),
  };
  const server = await start(t, new Counter(), { '/': { 'tools.sessions.on': true, 'tools.sessions.store': store }, '/plain': { 'tools.sessions.on': false } });
  const id = await newSession(server.url);
  down = true;
  const refused = await sessionGet(server.url + '/', id);
  assert.equal(refused.status, 503);
  assert.equal(refused.headers.get('retry-after'), '5');
  assert.doesNotMatch(refused.text, /secret-host/, "the store's own message is not shown");
  const fresh = await sessionGet(server.url + '/');
  assert.equal(fresh.status, 503, 'a new session is saved at the end: the same 503');
  assert.equal((await sessionGet(server.url + '/plain', id)).text, 'no session here');
  down = false;
  assert.equal((await sessionGet(server.url + '/', id)).text, '2', 'back, without a restart; the failed requests changed nothing');
});
