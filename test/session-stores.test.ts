// The file and Redis session stores: the shared contract (test/helpers/session-store-contract.ts)
// on each, then what is each store's own: ids that look like paths (HOSTILE 55), Redis slow or gone
// (HOSTILE 56), a lock holder that dies (HOSTILE 57), garbage in the storage, two processes on one
// storage. Redis is a real redis-server (test/helpers/redis.ts); "another process" is a real one.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fileStore } from '../src/sessions/file-store.js';
import { redisStore, type RedisStoreOptions } from '../src/sessions/redis-store.js';
import { SessionLockTimeoutError, SessionStoreUnavailableError, type SessionStore } from '../src/sessions/store.js';
import { tick, within } from './helpers/async.js';
import { spawnNode } from './helpers/process.js';
import { startRedis, type RedisServer } from './helpers/redis.js';
import { freePort } from './helpers/server.js';
import { CONTRACT_MAX_SIZE, newId, sessionStoreContract } from './helpers/session-store-contract.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CHILD = join(repo, 'test', 'fixtures', 'session-store-child.mjs');
const LONG = 600_000;

/** A temp directory removed when the file's tests end. */
const dirs: string[] = [];
after(() => { for (const dir of dirs) rmSync(dir, { recursive: true, force: true }); });
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'drupe-stores-'));
  dirs.push(dir);
  return dir;
}

/** One redis-server for the contract runs, started on first use and stopped when the file ends. */
const stops: Array<() => unknown> = [];
after(async () => { for (const stop of stops) await stop(); });
let shared: Promise<RedisServer> | undefined;
function sharedRedis(): Promise<RedisServer> {
  shared ??= startRedis({ after: (fn) => { stops.push(fn); } });
  return shared;
}

function redisOn(url: string, more: Partial<RedisStoreOptions> = {}): SessionStore {
  return redisStore({ url, maxSize: CONTRACT_MAX_SIZE, ...more });
}

// ---- The contract, on each store ----

const fileRoot = tempDir();
sessionStoreContract('file', () => fileStore({ path: join(fileRoot, 'sessions'), maxSize: CONTRACT_MAX_SIZE }));
sessionStoreContract('redis', async () => redisOn((await sharedRedis()).url));

// ---- The file store ----

test('file store (HOSTILE 55): ids that look like paths never reach a file outside storage_path', async (t) => {
  const root = tempDir();
  const storage = join(root, 'a', 'store');
  mkdirSync(join(root, 'a'));
  // Decoys holding a valid session, where a store that used the id as a path would look.
  const decoy = '{"decoy":true}';
  for (const path of [join(root, 'passwd'), join(root, 'a', 'passwd'), join(root, 'a', 'store.session')]) writeFileSync(path, decoy);
  const store = fileStore({ path: storage, maxSize: CONTRACT_MAX_SIZE });
  t.after(() => store.close());
  const ids = [
    '../../etc/passwd', '../passwd', '../../passwd', join(root, 'passwd'), '/etc/passwd', '..', '.', '', '/',
    'a/b', 'a\\b', '..\\..\\passwd', 'nul\0byte', '\0', 'x'.repeat(10_000), '\u00e9t\u00e9', '\ud800', '\udc00',
    'CON', 'aux.session', 'ABC', 'abc',
  ];
  for (const id of ids) {
    assert.equal(await store.load(id), undefined, `${JSON.stringify(id.slice(0, 40))} loads as no session`);
  }
  for (const [i, id] of ids.entries()) {
    await store.save(id, { i }, LONG);
    await store.touch(id, LONG);
    const lock = await within(store.lock(id, 1000, LONG), `the lock on ${JSON.stringify(id.slice(0, 40))}`);
    await lock.release();
  }
  for (const [i, id] of ids.entries()) {
    assert.deepEqual(await store.load(id), { i }, `${JSON.stringify(id.slice(0, 40))} keeps its own session`);
  }
  // Nothing outside the store changed, and inside it only flat files with the store's own names.
  assert.deepEqual(readdirSync(root).sort(), ['a', 'passwd']);
  assert.deepEqual(readdirSync(join(root, 'a')).sort(), ['passwd', 'store', 'store.session']);
  for (const path of [join(root, 'passwd'), join(root, 'a', 'passwd'), join(root, 'a', 'store.session')]) assert.equal(readFileSync(path, 'utf8'), decoy);
  const names = readdirSync(storage);
  assert.equal(names.length, ids.length, 'one file per id: no two ids share a file (case, lone surrogates)');
  for (const name of names) {
    assert.match(name, /^[0-9a-f]{64}\.session$/);
    assert.ok(lstatSync(join(storage, name)).isFile());
  }
  for (const id of ids) await store.delete(id);
  assert.deepEqual(readdirSync(storage), []);
});

test('file store (HOSTILE 55): a link planted where a session file goes is not followed', async (t) => {
  const root = tempDir();
  const storage = join(root, 'store');
  writeFileSync(join(root, 'secret'), '{"secret":true}');
  const store = fileStore({ path: storage, maxSize: CONTRACT_MAX_SIZE });
  t.after(() => store.close());
  const id = newId();
  await store.save(id, { mine: true }, LONG);
  const [name] = readdirSync(storage);
  rmSync(join(storage, name!));
  symlinkSync(join(root, 'secret'), join(storage, name!));
  assert.equal(await store.load(id), undefined);
  await store.touch(id, LONG);
  assert.equal(readFileSync(join(root, 'secret'), 'utf8'), '{"secret":true}');
});

test('file store (HOSTILE 55): a FIFO planted where a session file goes reads as no session, without waiting for a writer', async (t) => {
  const storage = tempDir();
  const store = fileStore({ path: storage, maxSize: CONTRACT_MAX_SIZE });
  t.after(() => store.close());
  const id = newId();
  await store.save(id, { mine: true }, LONG);
  const [name] = readdirSync(storage);
  rmSync(join(storage, name!));
  execFileSync('mkfifo', [join(storage, name!)]);
  assert.equal(await within(store.load(id), 'load beside a FIFO'), undefined);
  await store.touch(id, LONG);
});

test('file store: files are private (0600 in a 0700 directory made on first save), no temporary file is left', async (t) => {
  const storage = join(tempDir(), 'new', 'sessions');
  const store = fileStore({ path: storage, maxSize: CONTRACT_MAX_SIZE });
  t.after(() => store.close());
  assert.equal(await store.load(newId()), undefined, 'a missing directory: no session, no error');
  const id = newId();
  await store.save(id, { a: 1 }, LONG);
  await store.save(id, { a: 2 }, LONG);
  await assert.rejects(store.save(id, { big: 'x'.repeat(CONTRACT_MAX_SIZE) }, LONG));
  assert.equal(statSync(storage).mode & 0o777, 0o700);
  const names = readdirSync(storage);
  assert.equal(names.length, 1, `one session file, nothing else: ${names.join(', ')}`);
  assert.equal(statSync(join(storage, names[0]!)).mode & 0o777, 0o600);
});

test('file store: a session file holding garbage loads as no session, and a save replaces it', async (t) => {
  const storage = tempDir();
  const store = fileStore({ path: storage, maxSize: CONTRACT_MAX_SIZE });
  t.after(() => store.close());
  const id = newId();
  await store.save(id, { a: 1 }, LONG);
  const [name] = readdirSync(storage);
  const path = join(storage, name!);
  const later = new Date(Date.now() + LONG);
  for (const garbage of ['', 'not json', '{"a":', '[1,2]', '"text"', 'null', '42', '\u0000\u00ff', '{"a":1}{"b":2}']) {
    writeFileSync(path, garbage);
    utimesSync(path, later, later);
    assert.equal(await store.load(id), undefined, `${JSON.stringify(garbage)} reads as no session`);
  }
  await store.save(id, { b: 2 }, LONG);
  assert.deepEqual(await store.load(id), { b: 2 });
});

test('file store: clean() removes expired sessions, expired locks and stale temporary files, and nothing that is not its own', async (t) => {
  const storage = tempDir();
  const store = fileStore({ path: storage, maxSize: CONTRACT_MAX_SIZE });
  t.after(() => store.close());
  const live = newId();
  await store.save(live, { live: true }, LONG);
  await store.save(newId(), { dead: true }, 1);
  const liveLock = await store.lock(newId(), 0, LONG);
  await store.lock(newId(), 0, 1); // never released: expires
  const stem = 'f'.repeat(64);
  const staleTemp = join(storage, `${stem}.0123456789ab.tmp`);
  writeFileSync(staleTemp, 'left by a crash');
  const foreign = ['README', 'notes.session', `${'F'.repeat(64)}.session`, `${stem}.lock.bak`];
  for (const name of foreign) writeFileSync(join(storage, name), 'not the store\'s');
  const old = new Date(Date.now() - 3_600_000);
  for (const name of foreign) utimesSync(join(storage, name), old, old);
  await tick(20);
  // ctime cannot be set back: clean() judges a temp file by it, so this one stays (it is fresh).
  await store.clean();
  const names = readdirSync(storage);
  const own = names.filter((n) => /^[0-9a-f]{64}\./.test(n));
  assert.equal(own.filter((n) => n.endsWith('.session')).length, 1, 'the live session only');
  assert.equal(own.filter((n) => n.endsWith('.lock')).length, 1, 'the live lock only');
  assert.ok(names.includes(`${stem}.0123456789ab.tmp`), 'a fresh temporary file is left for its writer');
  for (const name of foreign) assert.ok(names.includes(name), `${name} is not the store's: left alone`);
  assert.deepEqual(await store.load(live), { live: true });
  await liveLock.release();
});

test('file store: a lock file holding garbage (or a FIFO) counts as expired once older than holdMs', async (t) => {
  const storage = tempDir();
  const store = fileStore({ path: storage, maxSize: CONTRACT_MAX_SIZE });
  t.after(() => store.close());
  const id = newId();
  const held = await store.lock(id, 0, LONG);
  const lockName = readdirSync(storage).find((n) => n.endsWith('.lock'))!;
  writeFileSync(join(storage, lockName), 'garbage');
  const other = fileStore({ path: storage, maxSize: CONTRACT_MAX_SIZE });
  t.after(() => other.close());
  await within(assert.rejects(other.lock(id, 50, LONG), SessionLockTimeoutError), 'a fresh garbage lock to hold');
  const old = new Date(Date.now() - 3_600_000);
  utimesSync(join(storage, lockName), old, old);
  const lock = await within(other.lock(id, 5000, LONG), 'the lock past a garbage lock file');
  await lock.release();
  await held.release(); // its file is gone: nothing to do, no error
  // A FIFO in the lock file's place (HOSTILE 55) is garbage too: never waited on.
  execFileSync('mkfifo', [join(storage, lockName)]);
  await within(assert.rejects(other.lock(id, 50, LONG), SessionLockTimeoutError), 'a fresh FIFO lock to hold, not hang');
  utimesSync(join(storage, lockName), old, old);
  const past = await within(other.lock(id, 5000, LONG), 'the lock past an old FIFO');
  await past.release();
});

// Two store objects on one storage behave as two processes do (each has its own in-process queue).
async function twoStoresShareSessionsAndLocks(a: SessionStore, b: SessionStore): Promise<void> {
  const id = newId();
  await a.save(id, { count: 0 }, LONG);
  assert.deepEqual(await b.load(id), { count: 0 });
  const held = await a.lock(id, 0, LONG);
  await within(assert.rejects(b.lock(id, 50, LONG), SessionLockTimeoutError), 'the other store to be refused');
  const waiting = b.lock(id, 10_000, LONG);
  await held.release();
  await (await within(waiting, 'the other store once released')).release();
  // A holder whose time ran out gives back nothing that is not its own (the token check: within
  // one store the in-process queue alone would hide a release that frees the next holder's lock).
  const stale = await a.lock(id, 0, 100);
  const current = await within(b.lock(id, 20_000, LONG), 'the lock after the first expired', 25_000);
  await stale.release();
  await within(assert.rejects(a.lock(id, 50, LONG), SessionLockTimeoutError), 'the lock to stay with its holder');
  await current.release();
  const increment = async (store: SessionStore): Promise<void> => {
    const lock = await store.lock(id, 30_000, LONG);
    try {
      const data = (await store.load(id)) ?? {};
      await tick();
      await store.save(id, { count: Number(data['count']) + 1 }, LONG);
    } finally {
      await lock.release();
    }
  };
  await within(Promise.all(Array.from({ length: 30 }, (_, i) => increment(i % 2 === 0 ? a : b))), 'the increments', 60_000);
  assert.deepEqual(await a.load(id), { count: 30 });
}

test('file store: two stores on one directory (as two processes) share sessions, and locks exclude each other', async (t) => {
  const storage = tempDir();
  const a = fileStore({ path: storage, maxSize: CONTRACT_MAX_SIZE });
  const b = fileStore({ path: storage, maxSize: CONTRACT_MAX_SIZE });
  t.after(() => Promise.all([a.close(), b.close()]));
  await twoStoresShareSessionsAndLocks(a, b);
});

test('redis store: two stores on one server (as two processes) share sessions, and locks exclude each other', async (t) => {
  const { url } = await sharedRedis();
  const a = redisOn(url);
  const b = redisOn(url);
  t.after(() => Promise.all([a.close(), b.close()]));
  await twoStoresShareSessionsAndLocks(a, b);
});

test('file and redis stores: a waitMs longer than a node timer takes (2^31 ms) is waited, not cut short', async (t) => {
  const { url } = await sharedRedis();
  const stores = [fileStore({ path: tempDir(), maxSize: CONTRACT_MAX_SIZE }), redisOn(url)];
  t.after(() => Promise.all(stores.map((s) => s.close())));
  for (const store of stores) {
    const id = newId();
    const holder = await store.lock(id, 0, LONG);
    let granted = false;
    const waiter = store.lock(id, 2 ** 32, LONG).then((lock) => { granted = true; return lock; });
    await tick(50);
    assert.equal(granted, false, 'the holder still has it, and the waiter still waits');
    await holder.release();
    await (await within(waiter, 'the waiter once released')).release();
  }
});

// Fairness between processes: a process whose requests of one session keep coming must not keep
// the shared lock to itself by handing it from one local waiter to the next. Left to chance, the
// other process's probe lands in the gap between two local holders now and then; with the waiting
// mark it gets the very next turn. Three rounds, so that chance alone rarely passes.
async function otherProcessGetsATurn(a: SessionStore, b: SessionStore): Promise<void> {
  for (let round = 0; round < 3; round++) {
    const id = newId();
    const first = await a.lock(id, 0, LONG);
    const order: string[] = [];
    const queued = Array.from({ length: 40 }, () => a.lock(id, 60_000, LONG).then(async (lock) => {
      order.push('a');
      await tick(5);
      await lock.release();
    }));
    await tick(20);
    const other = b.lock(id, 60_000, LONG).then(async (lock) => {
      order.push('b');
      await lock.release();
    });
    await tick(60); // b probes, and finds the lock held
    await first.release();
    await within(Promise.all([...queued, other]), 'every turn', 60_000);
    assert.ok(order.indexOf('b') < 4, `round ${round}: the other store got a turn among the first, not ${order.join('')}`);
  }
}

test('redis store: a second process waiting for a lock gets a turn while the first has more waiters of its own', async (t) => {
  const { url } = await sharedRedis();
  const a = redisOn(url);
  const b = redisOn(url);
  t.after(() => Promise.all([a.close(), b.close()]));
  await otherProcessGetsATurn(a, b);
});

test('file store: a second process waiting for a lock gets a turn while the first has more waiters of its own', async (t) => {
  const storage = tempDir();
  const a = fileStore({ path: storage, maxSize: CONTRACT_MAX_SIZE });
  const b = fileStore({ path: storage, maxSize: CONTRACT_MAX_SIZE });
  t.after(() => Promise.all([a.close(), b.close()]));
  await otherProcessGetsATurn(a, b);
});

// ---- A lock holder that dies (HOSTILE 57) ----

async function holderDies(t: { after(fn: () => unknown): void }, kind: 'file' | 'redis', place: string, store: SessionStore): Promise<void> {
  const id = newId();
  const child = spawnNode(t, [CHILD, 'hold', kind, place, id, '1500']);
  await child.line((l) => l === 'locked', 'the other process to take the lock', 20_000);
  await within(assert.rejects(store.lock(id, 50, LONG), SessionLockTimeoutError), 'the lock to be held by the other process');
  process.kill(child.child.pid!, 'SIGKILL');
  await child.exited;
  const lock = await within(store.lock(id, 20_000, LONG), 'the dead holder\'s lock to expire', 25_000);
  await lock.release();
}

test('file store (HOSTILE 57): a process that dies holding a lock loses it after holdMs', async (t) => {
  const storage = tempDir();
  const store = fileStore({ path: storage, maxSize: CONTRACT_MAX_SIZE });
  t.after(() => store.close());
  await holderDies(t, 'file', storage, store);
});

test('redis store (HOSTILE 57): a process that dies holding a lock loses it after holdMs', async (t) => {
  const { url } = await sharedRedis();
  const store = redisOn(url);
  t.after(() => store.close());
  await holderDies(t, 'redis', url, store);
});

// ---- Redis: its own ----

test('redis store: sessions and locks are keys Redis expires by itself (SET PX, PEXPIRE); garbage values load as no session', async (t) => {
  const { url } = await sharedRedis();
  const store = redisOn(url, { prefix: 'test-prefix:' });
  t.after(() => store.close());
  const { createClient } = await import('@redis/client');
  const raw = createClient({ url });
  await raw.connect();
  t.after(() => raw.close());
  const id = newId();
  await store.save(id, { a: 1 }, 60_000);
  const ttl = Number(await raw.sendCommand(['PTTL', `test-prefix:session:${id}`]));
  assert.ok(ttl > 0 && ttl <= 60_000, `the session key expires by itself (PTTL ${ttl})`);
  await store.touch(id, LONG);
  assert.ok(Number(await raw.sendCommand(['PTTL', `test-prefix:session:${id}`])) > 60_000, 'touch moved the expiry');
  const lock = await store.lock(id, 0, 30_000);
  const lockTtl = Number(await raw.sendCommand(['PTTL', `test-prefix:lock:${id}`]));
  assert.ok(lockTtl > 0 && lockTtl <= 30_000, `the lock key expires by itself (PTTL ${lockTtl})`);
  await lock.release();
  assert.equal(await raw.sendCommand(['EXISTS', `test-prefix:lock:${id}`]), 0, 'released: the key is gone');
  for (const garbage of ['', 'not json', '{"a":', '[1]', '"s"', 'null', '7']) {
    await raw.sendCommand(['SET', `test-prefix:session:${id}`, garbage]);
    assert.equal(await store.load(id), undefined, `${JSON.stringify(garbage)} reads as no session`);
  }
});

test('redis store: an id is data, never a command or a key pattern: CRLF, NUL, spaces, "*", 10,000 characters', async (t) => {
  const { url } = await sharedRedis();
  const store = redisOn(url);
  t.after(() => store.close());
  const bystander = newId();
  await store.save(bystander, { safe: true }, LONG);
  const ids = ['x\r\nFLUSHALL\r\n', '*', '\0', 'a b', '../../etc/passwd', '', 'x'.repeat(10_000), '\ud800', '\u00e9'];
  for (const [i, id] of ids.entries()) {
    await store.save(id, { i }, LONG);
    const lock = await within(store.lock(id, 1000, LONG), 'the lock');
    await lock.release();
  }
  for (const [i, id] of ids.entries()) assert.deepEqual(await store.load(id), { i });
  assert.deepEqual(await store.load(bystander), { safe: true });
  for (const id of ids) await store.delete(id);
});

test('redis store: the client is loaded on first use only; an app that never uses Redis never loads it', async (t) => {
  const { url } = await sharedRedis();
  const child = spawnNode(t, [CHILD, 'lazy', 'redis', url]);
  assert.equal(await child.line((l) => l.startsWith('loaded '), 'the first count', 20_000), 'loaded 0');
  const second = await child.line((l) => l.startsWith('loaded ') && l !== 'loaded 0', 'the count after a command', 20_000);
  assert.ok(Number(second.slice(7)) > 0, second);
  assert.equal((await within(child.exited, 'the child to end', 20_000)).code, 0, child.stderr());
});

/** Every operation of `store` fails with SessionStoreUnavailableError, within a bound; a lock's release does not fail. */
async function allUnavailable(store: SessionStore, what: string): Promise<void> {
  const id = newId();
  const attempts: Array<[string, () => Promise<unknown>]> = [
    ['load', () => store.load(id)],
    ['save', () => store.save(id, { a: 1 }, LONG)],
    ['touch', () => store.touch(id, LONG)],
    ['delete', () => store.delete(id)],
    ['lock', () => store.lock(id, 1000, LONG)],
  ];
  for (const [name, attempt] of attempts) {
    await within(assert.rejects(attempt(), SessionStoreUnavailableError, `${name} while ${what}`), `${name} to give up while ${what}`, 15_000);
  }
}

/** Bounded retries until a save goes through (Redis back, the client reconnected by itself). */
async function untilSaved(store: SessionStore, id: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    try {
      await store.save(id, { back: true }, LONG);
      return;
    } catch (err) {
      assert.ok(err instanceof SessionStoreUnavailableError, String(err));
      await tick(50);
    }
  }
  assert.fail('the store did not work again within 200 tries');
}

test('redis store (HOSTILE 56): Redis stopped mid-test → SessionStoreUnavailableError within a bound; started again → the same store works', async (t) => {
  const redis = await startRedis(t);
  const store = redisOn(redis.url, { commandTimeoutMs: 500, connectTimeoutMs: 500 });
  t.after(() => within(store.close(), 'close'));
  const id = newId();
  await store.save(id, { before: true }, LONG);
  const held = await store.lock(newId(), 0, LONG);
  await redis.stop();
  await allUnavailable(store, 'Redis is stopped');
  await within(held.release(), 'a release while Redis is stopped (it must not throw)');
  await redis.start();
  await untilSaved(store, id);
  assert.deepEqual(await store.load(id), { back: true });
  const lock = await store.lock(id, 1000, LONG);
  await lock.release();
});

test('redis store (HOSTILE 56): Redis not there at all → SessionStoreUnavailableError within a bound', async (t) => {
  const store = redisOn(`redis://127.0.0.1:${await freePort()}`, { commandTimeoutMs: 300, connectTimeoutMs: 300 });
  t.after(() => within(store.close(), 'close'));
  await allUnavailable(store, 'nothing listens');
});

test('redis store (HOSTILE 56): Redis down when the store is first used, up later → the same store works', async (t) => {
  const redis = await startRedis(t);
  await redis.stop();
  const store = redisOn(redis.url, { commandTimeoutMs: 300, connectTimeoutMs: 300 });
  t.after(() => within(store.close(), 'close'));
  await allUnavailable(store, 'Redis has not been up yet');
  await redis.start();
  const id = newId();
  await untilSaved(store, id);
  assert.deepEqual(await store.load(id), { back: true });
});

/** A server that accepts connections and never answers. */
async function blackHole(t: { after(fn: () => unknown): void }): Promise<number> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => { sockets.add(s); s.on('error', () => undefined); s.resume(); });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => { for (const s of sockets) s.destroy(); server.close(); });
  return (server.address() as net.AddressInfo).port;
}

test('redis store (HOSTILE 56): a server that accepts and never answers → SessionStoreUnavailableError within a bound', async (t) => {
  const port = await blackHole(t);
  const store = redisOn(`redis://127.0.0.1:${port}`, { commandTimeoutMs: 300, connectTimeoutMs: 300 });
  t.after(() => within(store.close(), 'close'));
  await allUnavailable(store, 'the server never answers');
});

/** A TCP proxy to `port` that can stop passing bytes (Redis slow: connected, no answers) and start again. */
async function freezingProxy(t: { after(fn: () => unknown): void }, port: number): Promise<{ port: number; freeze(): void; thaw(): void }> {
  let frozen = false;
  const pairs = new Set<[net.Socket, net.Socket]>();
  const held = new Map<net.Socket, Buffer[]>();
  const pass = (from: net.Socket, to: net.Socket): void => {
    from.on('data', (chunk: Buffer) => {
      if (frozen) held.set(to, [...(held.get(to) ?? []), chunk]);
      else to.write(chunk);
    });
  };
  const server = net.createServer((client) => {
    const upstream = net.connect(port, '127.0.0.1');
    for (const s of [client, upstream]) s.on('error', () => { client.destroy(); upstream.destroy(); });
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    pass(client, upstream);
    pass(upstream, client);
    pairs.add([client, upstream]);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => { for (const [a, b] of pairs) { a.destroy(); b.destroy(); } server.close(); });
  return {
    port: (server.address() as net.AddressInfo).port,
    freeze: () => { frozen = true; },
    thaw: () => {
      frozen = false;
      for (const [to, chunks] of held) for (const chunk of chunks) to.write(chunk);
      held.clear();
    },
  };
}

test('redis store (HOSTILE 56): Redis slow (connected, answers held back) → SessionStoreUnavailableError within a bound; answering again → the same store works', async (t) => {
  const redis = await startRedis(t);
  const proxy = await freezingProxy(t, redis.port);
  const store = redisOn(`redis://127.0.0.1:${proxy.port}`, { commandTimeoutMs: 300, connectTimeoutMs: 1000 });
  t.after(() => within(store.close(), 'close'));
  const id = newId();
  await store.save(id, { before: true }, LONG);
  proxy.freeze();
  await allUnavailable(store, 'Redis does not answer');
  proxy.thaw();
  await untilSaved(store, id);
  assert.deepEqual(await store.load(id), { back: true });
});
