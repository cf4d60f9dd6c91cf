// Hostile session ids and sessions too large, over real sockets (docs/security.md,
// HOSTILE 51 and 53): a client's id that Drupe did not issue — garbage, oversized,
// path-like, a key pattern, or well-shaped but unknown — is never adopted and never
// reaches the store as anything but a well-shaped id; a session over max_size is a logged
// 500 with nothing written.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { expose, ramStore, type Context, type SessionStore } from '../src/index.js';
import { start } from './helpers/server.js';
import { startLogged } from './helpers/streaming.js';
import { cookieOf, sessionGet } from './helpers/session-client.js';

class Counter {
  @expose() index({ request }: Context): string {
    const n = ((request.session.get('n') as number | undefined) ?? 0) + 1;
    request.session.set('n', n);
    return String(n);
  }
  @expose() big({ request, params }: Context): string {
    request.session.set('blob', 'x'.repeat(Number(params.size)));
    return 'stored';
  }
  @expose() peek({ request }: Context): string {
    return JSON.stringify({ n: request.session.get('n') ?? null, blob: (request.session.get('blob') as string | undefined)?.length ?? null });
  }
}

/** A RAM store that records every id it is asked about. */
function recordingStore(): { store: SessionStore; ids: string[] } {
  const inner = ramStore({ maxSize: 4096, maxSessions: 1000 });
  const ids: string[] = [];
  const seen = (id: string): string => { ids.push(id); return id; };
  return {
    ids,
    store: {
      load: (id) => inner.load(seen(id)), save: (id, d, ttl) => inner.save(seen(id), d, ttl), touch: (id, ttl) => inner.touch(seen(id), ttl),
      delete: (id) => inner.delete(seen(id)), lock: (id, w, h) => inner.lock(seen(id), w, h), clean: () => inner.clean(), close: () => inner.close(),
    },
  };
}

const HOSTILE_IDS = [
  '../../etc/passwd',
  '..%2F..%2Fetc%2Fpasswd',
  '/etc/passwd',
  'C:\\Windows\\win.ini',
  '*',
  'sess:*',
  'a'.repeat(31),
  'a'.repeat(33),
  'A'.repeat(4000),
  'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA..', // 32 characters, two of them dots
  'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\\0',
  '%00%00%00',
  '"quoted"',
  '',
];

test('HOSTILE 51: garbage, oversized and path-like session ids get a fresh session; the store never sees them', async (t) => {
  const { store, ids } = recordingStore();
  const server = await start(t, new Counter(), { '/': { 'tools.sessions.on': true, 'tools.sessions.store': store } });
  for (const bad of HOSTILE_IDS) {
    ids.length = 0;
    const r = await sessionGet(server.url + '/', undefined, { cookie: `session_id=${encodeURIComponent(bad)}` });
    assert.equal(r.status, 200, bad);
    assert.equal(r.text, '1', `${bad.slice(0, 40)}: a fresh session`);
    const issued = cookieOf(r.setCookies, 'session_id');
    assert.match(issued ?? '', /^[A-Za-z0-9_-]{32}$/, 'a new id was issued');
    assert.deepEqual(ids.filter((id) => id !== issued), [], `${bad.slice(0, 40)}: only the new id reached the store`);
  }
});

test('HOSTILE 51: a well-shaped but unknown (forged or expired) id is not adopted: a new random id is issued, nothing is saved under the forged one', async (t) => {
  const { store, ids } = recordingStore();
  const server = await start(t, new Counter(), { '/': { 'tools.sessions.on': true, 'tools.sessions.store': store } });
  const forged = 'F'.repeat(32);
  const r = await sessionGet(server.url + '/', forged);
  assert.equal(r.text, '1');
  const issued = cookieOf(r.setCookies, 'session_id')!;
  assert.notEqual(issued, forged);
  assert.equal(await store.load(forged), undefined, 'nothing stored under the forged id');
  assert.ok(ids.includes(forged), 'the forged id was looked up (and found unknown)');
  // The attacker's id stays unknown however often it is sent: a victim tricked into it gets a fresh id.
  const again = await sessionGet(server.url + '/', forged);
  assert.equal(again.text, '1');
  assert.notEqual(cookieOf(again.setCookies, 'session_id'), forged);
  assert.equal((await sessionGet(server.url + '/', issued)).text, '2', 'the issued id works');
});

test('HOSTILE 51: a session that expired on the server is not revived by its old cookie', async (t) => {
  const server = await start(t, new Counter(), { '/': { 'tools.sessions.on': true, 'tools.sessions.timeout': 0.001 } }); // 60 ms
  const id = cookieOf((await sessionGet(server.url + '/')).setCookies, 'session_id')!;
  await new Promise((resolve) => setTimeout(resolve, 200));
  const r = await sessionGet(server.url + '/', id);
  assert.equal(r.text, '1', 'a fresh session');
  assert.notEqual(cookieOf(r.setCookies, 'session_id'), id);
});

test('HOSTILE 53: a session over max_size is a logged 500, and nothing of it is written: the session keeps its last saved state', async (t) => {
  const logged = await startLogged(t, new Counter(), { '/': { 'tools.sessions.on': true, 'tools.sessions.max_size': 2048 } }, { 'request.show_tracebacks': false });
  const url = logged.server.url;
  const id = cookieOf((await sessionGet(url + '/')).setCookies, 'session_id')!;
  assert.equal((await sessionGet(url + '/big?size=100', id)).text, 'stored');
  const tooBig = await sessionGet(url + '/big?size=5000', id);
  assert.equal(tooBig.status, 500);
  assert.doesNotMatch(tooBig.text, /max_size|bytes/, 'no detail for the client');
  assert.equal((await sessionGet(url + '/peek', id)).text, JSON.stringify({ n: 1, blob: 100 }), 'the last saved state, whole');
  // A new session over the bound: nothing stored, and its id is not adopted later.
  const fresh = await sessionGet(url + '/big?size=5000');
  assert.equal(fresh.status, 500);
  assert.equal(cookieOf(fresh.setCookies, 'session_id'), undefined, 'no cookie for the session that was not stored');
  const { error } = await logged.logs();
  assert.match(error, /SessionTooLargeError: The session's data is \d+ bytes, over the store's bound of 2048 \(tools\.sessions\.max_size\)/);
});
