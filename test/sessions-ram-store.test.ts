// The RAM store (ramStore): save/load/touch/delete, expiry, the sweep, its bounds, and its
// in-process locks (in turn, the wait bounded, a lock outliving its holder expiring). The
// sweep every clean_freq is checked through the tool, over a real socket.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { exposed, ramStore, SessionLockTimeoutError, SessionTooLargeError, type Context, type SessionStore } from '../src/index.js';
import { tick, waitFor, within } from './helpers/async.js';
import { start } from './helpers/server.js';
import { sessionGet } from './helpers/session-client.js';

const ID = (c: string): string => c.repeat(32);

test('save, load (a copy each time), touch, delete', async () => {
  const store = ramStore({ maxSize: 1024, maxSessions: 10 });
  assert.equal(await store.load(ID('a')), undefined);
  const data = { n: 1, list: [1, 2] };
  await store.save(ID('a'), data, 60_000);
  data.n = 99;
  const loaded = await store.load(ID('a'));
  assert.deepEqual(loaded, { n: 1, list: [1, 2] });
  loaded!.n = 5;
  assert.deepEqual(await store.load(ID('a')), { n: 1, list: [1, 2] }, 'what load returned is the caller\'s own copy');
  await store.touch(ID('a'), 60_000);
  await store.touch(ID('b'), 60_000); // unknown: nothing happens
  assert.equal(await store.load(ID('b')), undefined);
  await store.delete(ID('a'));
  await store.delete(ID('a'));
  assert.equal(await store.load(ID('a')), undefined);
  await store.close();
});

test('an expired session is never returned, and touch() moves the expiry on', async () => {
  const store = ramStore({ maxSize: 1024, maxSessions: 10 });
  await store.save(ID('a'), { n: 1 }, 30);
  await store.save(ID('b'), { n: 2 }, 30);
  await store.touch(ID('b'), 60_000);
  await tick(80);
  assert.equal(await store.load(ID('a')), undefined);
  assert.deepEqual(await store.load(ID('b')), { n: 2 });
  await store.touch(ID('a'), 60_000);
  assert.equal(await store.load(ID('a')), undefined, 'touch does not revive an expired session');
  await store.close();
});

test('HOSTILE 53: data over maxSize is refused and nothing is written; data that is not JSON is refused', async () => {
  const store = ramStore({ maxSize: 100, maxSessions: 10 });
  await store.save(ID('a'), { v: 'small' }, 60_000);
  await assert.rejects(store.save(ID('a'), { v: 'x'.repeat(200) }, 60_000), SessionTooLargeError);
  await assert.rejects(store.save(ID('c'), { v: 'x'.repeat(200) }, 60_000), SessionTooLargeError);
  assert.deepEqual(await store.load(ID('a')), { v: 'small' });
  assert.equal(await store.load(ID('c')), undefined);
  await assert.rejects(store.save(ID('a'), { v: 10n }, 60_000), TypeError);
  assert.deepEqual(await store.load(ID('a')), { v: 'small' });
  await store.close();
});

test('HOSTILE 53: the RAM store holds at most max_sessions: the least recently saved or touched go first, expired ones before them', async () => {
  const store = ramStore({ maxSize: 1024, maxSessions: 3 });
  await store.save(ID('a'), { n: 1 }, 60_000);
  await store.save(ID('b'), { n: 2 }, 60_000);
  await store.save(ID('c'), { n: 3 }, 60_000);
  await store.touch(ID('a'), 60_000); // a is now the most recently used
  await store.save(ID('d'), { n: 4 }, 60_000);
  assert.equal(await store.load(ID('b')), undefined, 'b, the least recently used, was dropped');
  for (const k of ['a', 'c', 'd']) assert.notEqual(await store.load(ID(k)), undefined, k);
  for (let i = 0; i < 1000; i++) await store.save(`${String(i).padStart(32, '0')}`, { i }, 60_000);
  let held = 0;
  for (let i = 0; i < 1000; i++) if ((await store.load(`${String(i).padStart(32, '0')}`)) !== undefined) held++;
  assert.equal(held, 3);
  await store.close();
});

test('clean() sweeps expired sessions', async () => {
  const store = ramStore({ maxSize: 1024, maxSessions: 10 });
  await store.save(ID('a'), { n: 1 }, 20);
  await store.save(ID('b'), { n: 2 }, 60_000);
  await tick(50);
  await store.clean();
  assert.equal(await store.load(ID('a')), undefined);
  assert.deepEqual(await store.load(ID('b')), { n: 2 });
  await store.close();
});

test('locks: one holder at a time, waiters in turn; a second release does nothing; other ids are free', async () => {
  const store = ramStore({ maxSize: 1024, maxSessions: 10 });
  const first = await store.lock(ID('a'), 1000, 60_000);
  const order: number[] = [];
  const second = store.lock(ID('a'), 5000, 60_000).then((l) => { order.push(2); return l; });
  const third = store.lock(ID('a'), 5000, 60_000).then((l) => { order.push(3); return l; });
  const other = await within(store.lock(ID('b'), 10, 60_000), 'another id\'s lock');
  await tick(10);
  assert.deepEqual(order, [], 'they wait');
  await first.release();
  await first.release();
  const l2 = await within(second, 'the second');
  await tick(10);
  assert.deepEqual(order, [2], 'one at a time, even after a double release');
  await l2.release();
  const l3 = await within(third, 'the third');
  assert.deepEqual(order, [2, 3]);
  await l3.release();
  await other.release();
  await within(store.lock(ID('a'), 10, 60_000), 'the free lock').then((l) => l.release());
  await store.close();
});

test('HOSTILE 54: a lock wait is bounded (SessionLockTimeoutError), and a lock its holder never releases expires after holdMs', async () => {
  const store = ramStore({ maxSize: 1024, maxSessions: 10 });
  await store.lock(ID('a'), 1000, 100); // never released
  await assert.rejects(store.lock(ID('a'), 20, 60_000), SessionLockTimeoutError);
  const next = await within(store.lock(ID('a'), 5000, 60_000), 'the lock after its holder\'s expired');
  await next.release();
  await store.close();
});

test('tools.sessions sweeps the store every clean_freq minutes', async (t) => {
  const inner = ramStore({ maxSize: 1024, maxSessions: 10 });
  let cleans = 0;
  const store: SessionStore = { ...bind(inner), clean: () => { cleans++; return inner.clean(); } };
  const root = { index: exposed(({ request }: Context) => String(request.session.has('x'))) };
  const server = await start(t, root, { '/': { 'tools.sessions.on': true, 'tools.sessions.store': store, 'tools.sessions.clean_freq': 0.0005 } }); // 30 ms
  assert.equal((await sessionGet(server.url + '/')).text, 'false');
  await waitFor(() => cleans >= 2, 'two sweeps');
});

function bind(s: SessionStore): SessionStore {
  return {
    load: (id) => s.load(id), save: (id, d, ttl) => s.save(id, d, ttl), touch: (id, ttl) => s.touch(id, ttl), delete: (id) => s.delete(id),
    lock: (id, w, h) => s.lock(id, w, h), clean: () => s.clean(), close: () => s.close(),
  };
}

test('a wait or hold longer than node\'s longest timer is clamped to it, not cut to nothing', async () => {
  const store = ramStore({ maxSize: 1024, maxSessions: 10 });
  const first = await store.lock(ID('a'), 1000, 1e12);
  let settled = false;
  const second = store.lock(ID('a'), 1e12, 1e12).finally(() => { settled = true; });
  await tick(20);
  assert.equal(settled, false, 'the long wait did not time out at once, and the long hold did not expire at once');
  await first.release();
  const l = await within(second, 'the waiter');
  await l.release();
  await store.close();
});
