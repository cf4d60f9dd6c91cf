// The contract every session store keeps (src/sessions/store.ts), as tests any store can run:
// `sessionStoreContract('file', () => fileStore({ path, maxSize: CONTRACT_MAX_SIZE }))`. The RAM,
// file and Redis stores run it (test/session-stores.test.ts), and a user's own store can too. The
// factory makes a new store for each test (closed when the test ends) whose bound on a session's
// serialised data is CONTRACT_MAX_SIZE bytes. Stores made by one factory may share their storage
// (one directory, one Redis): each test uses ids of its own. No test asserts a timing: waits are
// for events, each bounded so a broken store fails instead of hanging.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  SessionLockTimeoutError,
  SessionTooLargeError,
  type SessionData,
  type SessionLock,
  type SessionStore,
} from '../../src/sessions/store.js';
import { tick, within } from './async.js';

/** The bound, in bytes of serialised data, that the factory's stores must be made with. */
export const CONTRACT_MAX_SIZE = 4096;

/** A long time, as ttl or hold: longer than any test runs. */
const LONG = 600_000;

export type SessionStoreFactory = () => SessionStore | Promise<SessionStore>;

/** A fresh id, as the sessions tool makes them: 128 random bits, base64url. */
export function newId(): string {
  return randomBytes(16).toString('base64url');
}

/** Resolves `true` once `promise` has settled, `false` if it has not after a few turns of I/O (never a timing assertion: a store that grants too early fails, one that grants late only waits). */
async function settledSoon(promise: Promise<unknown>): Promise<boolean> {
  let settled = false;
  promise.then(() => { settled = true; }, () => { settled = true; });
  await tick(50);
  return settled;
}

/** Ask the store until `id` loads as undefined (a bounded loop: the test fails, it never hangs). */
async function untilGone(store: SessionStore, id: string, what: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if ((await store.load(id)) === undefined) return;
    await tick(25);
  }
  assert.fail(`${what}: the session was still there after 400 looks`);
}

/** Register the contract's tests for the store `make()` builds, named `<name> store: …`. */
export function sessionStoreContract(name: string, make: SessionStoreFactory): void {
  const it = (what: string, body: (store: SessionStore) => Promise<void>): void => {
    test(`${name} store: ${what}`, async (t) => {
      const store = await make();
      t.after(() => within(store.close(), `${name} store's close()`));
      await body(store);
    });
  };

  it('an unknown id loads as undefined', async (store) => {
    assert.equal(await store.load(newId()), undefined);
  });

  it('save then load gives the data back; a second save replaces it whole', async (store) => {
    const id = newId();
    await store.save(id, { user: 'ada', cart: [1, 2, 3] }, LONG);
    assert.deepEqual(await store.load(id), { user: 'ada', cart: [1, 2, 3] });
    await store.save(id, { flash: 'saved' }, LONG);
    assert.deepEqual(await store.load(id), { flash: 'saved' });
  });

  it('every JSON value round-trips: nesting, unicode, NUL, empty data, a "__proto__" key as plain data', async (store) => {
    const id = newId();
    const data = JSON.parse(
      '{"n":1.5,"neg":-0.25,"t":true,"f":false,"z":null,"s":"caf\\u00e9 \\u2603 \\ud83d\\ude00 a\\u0000b \\"q\\" \\\\",'
      + '"nested":{"a":[{"b":[[]]},{}]},"__proto__":{"polluted":true},"constructor":"c"}',
    ) as SessionData;
    await store.save(id, data, LONG);
    const back = await store.load(id);
    assert.deepEqual(back, data);
    assert.ok(back !== undefined && Object.hasOwn(back, '__proto__'), '"__proto__" is an own key of the data');
    assert.equal(({} as Record<string, unknown>)['polluted'], undefined, 'Object.prototype untouched');
    const empty = newId();
    await store.save(empty, {}, LONG);
    assert.deepEqual(await store.load(empty), {});
  });

  it('what is saved is a copy: changing the object after save, or the object load gave, changes nothing stored', async (store) => {
    const id = newId();
    const data: SessionData = { count: 1, list: [1] };
    await store.save(id, data, LONG);
    data['count'] = 2;
    (data['list'] as number[]).push(2);
    const loaded = await store.load(id);
    assert.deepEqual(loaded, { count: 1, list: [1] });
    loaded!['count'] = 3;
    assert.deepEqual(await store.load(id), { count: 1, list: [1] });
  });

  it('delete forgets the session; deleting an unknown id does nothing', async (store) => {
    const id = newId();
    const other = newId();
    await store.save(id, { a: 1 }, LONG);
    await store.save(other, { b: 2 }, LONG);
    await store.delete(id);
    assert.equal(await store.load(id), undefined);
    assert.deepEqual(await store.load(other), { b: 2 });
    await store.delete(newId());
    await store.delete(id);
  });

  it('a session expires ttlMs after its save, and only that one', async (store) => {
    const id = newId();
    const other = newId();
    await store.save(other, { keep: true }, LONG);
    await store.save(id, { a: 1 }, 30);
    await untilGone(store, id, 'saved with a 30 ms ttl');
    assert.deepEqual(await store.load(other), { keep: true });
  });

  it('touch moves the expiry without changing the data; a session not touched expires meanwhile', async (store) => {
    const touched = newId();
    const untouched = newId();
    await store.save(touched, { mine: 'yes' }, 1000);
    await store.save(untouched, { mine: 'no' }, 1000);
    await store.touch(touched, LONG);
    await untilGone(store, untouched, 'saved with the same ttl and not touched');
    assert.deepEqual(await store.load(touched), { mine: 'yes' });
    // And touch shortens as well as lengthens.
    await store.touch(touched, 1);
    await untilGone(store, touched, 'touched to 1 ms');
  });

  it('touch on an unknown or expired id creates nothing', async (store) => {
    const unknown = newId();
    await store.touch(unknown, LONG);
    assert.equal(await store.load(unknown), undefined);
    const expired = newId();
    await store.save(expired, { a: 1 }, 1);
    await untilGone(store, expired, 'saved with a 1 ms ttl');
    await store.touch(expired, LONG);
    assert.equal(await store.load(expired), undefined, 'an expired session stays expired after touch');
  });

  it('data over the bound is refused with SessionTooLargeError and nothing of it is written', async (store) => {
    const fresh = newId();
    const existing = newId();
    const big = { blob: 'x'.repeat(CONTRACT_MAX_SIZE * 2) };
    await assert.rejects(store.save(fresh, big, LONG), SessionTooLargeError);
    assert.equal(await store.load(fresh), undefined, 'no session was created');
    await store.save(existing, { old: 'data' }, LONG);
    await assert.rejects(store.save(existing, big, LONG), SessionTooLargeError);
    assert.deepEqual(await store.load(existing), { old: 'data' }, 'the old data is whole');
    // Multi-byte characters count as the bytes they take, not as characters.
    await assert.rejects(store.save(fresh, { s: '\u2603'.repeat(Math.ceil(CONTRACT_MAX_SIZE / 2)) }, LONG), SessionTooLargeError);
    // Data well under the bound is taken.
    await store.save(fresh, { blob: 'x'.repeat(CONTRACT_MAX_SIZE / 2) }, LONG);
    assert.equal((await store.load(fresh))?.['blob'], 'x'.repeat(CONTRACT_MAX_SIZE / 2));
  });

  it('a lock is exclusive: a second taker waits until the first releases, then gets it', async (store) => {
    const id = newId();
    const first = await store.lock(id, 1000, LONG);
    const order: string[] = [];
    const second = store.lock(id, 10_000, LONG).then((lock) => { order.push('second granted'); return lock; });
    assert.equal(await settledSoon(second), false, 'the second taker is still waiting');
    order.push('first released');
    await first.release();
    const lock = await within(second, 'the second lock after the first was released');
    assert.deepEqual(order, ['first released', 'second granted']);
    await lock.release();
  });

  it('locks on different ids do not exclude each other; a lock needs no saved session', async (store) => {
    const a = await store.lock(newId(), 0, LONG);
    const b = await within(store.lock(newId(), 0, LONG), 'a lock on another id');
    await a.release();
    await b.release();
  });

  it('a lock still held after waitMs: SessionLockTimeoutError, and the holder keeps it', async (store) => {
    const id = newId();
    const holder = await store.lock(id, 1000, LONG);
    await within(assert.rejects(store.lock(id, 50, LONG), SessionLockTimeoutError), 'the lock wait to give up');
    await within(assert.rejects(store.lock(id, 0, LONG), SessionLockTimeoutError), 'a lock with no wait to give up');
    await holder.release();
    const next = await within(store.lock(id, 1000, LONG), 'the lock once released');
    await next.release();
  });

  it('a lock never released expires holdMs after it was taken (its holder died)', async (store) => {
    const id = newId();
    await store.lock(id, 1000, 100); // never released
    const next = await within(store.lock(id, 20_000, LONG), 'the lock after the holder\'s holdMs', 25_000);
    await next.release();
  });

  it('a holder whose lock expired cannot release the next holder\'s lock; release twice does nothing', async (store) => {
    const id = newId();
    const expired = await store.lock(id, 1000, 100);
    const current = await within(store.lock(id, 20_000, LONG), 'the lock after expiry', 25_000);
    await expired.release();
    await within(assert.rejects(store.lock(id, 50, LONG), SessionLockTimeoutError), 'the lock to stay held');
    await current.release();
    const again = await within(store.lock(id, 1000, LONG), 'the lock once released');
    await current.release(); // a second release: must not free `again`
    await within(assert.rejects(store.lock(id, 50, LONG), SessionLockTimeoutError), 'the lock to stay held after a second release');
    await again.release();
  });

  it('the lock serialises read-modify-write: 20 concurrent increments end at 20', async (store) => {
    const id = newId();
    await store.save(id, { count: 0 }, LONG);
    const increment = async (): Promise<void> => {
      const lock: SessionLock = await store.lock(id, 20_000, LONG);
      try {
        const data = (await store.load(id)) ?? {};
        await tick(); // let the others try to get in between
        await store.save(id, { count: Number(data['count']) + 1 }, LONG);
      } finally {
        await lock.release();
      }
    };
    await within(Promise.all(Array.from({ length: 20 }, increment)), 'the increments', 30_000);
    assert.deepEqual(await store.load(id), { count: 20 });
  });

  it('clean() keeps live sessions and leaves expired ones gone', async (store) => {
    const live = newId();
    const dead = newId();
    await store.save(live, { live: true }, LONG);
    await store.save(dead, { live: false }, 1);
    await untilGone(store, dead, 'saved with a 1 ms ttl');
    await store.clean();
    assert.deepEqual(await store.load(live), { live: true });
    assert.equal(await store.load(dead), undefined);
  });
}
