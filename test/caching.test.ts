// tools.caching (issue 17 part 5) over real sockets: what is stored and
// served again (with Age; HEAD from the GET's entry), the response's and the
// request's Cache-Control, Vary (and tools.gzip's Accept-Encoding), a
// stampede of identical requests waiting for one, streamed responses (kept
// once they end cleanly, never when they fail), the size bounds, unsafe
// methods, and what is never shared between clients (HOSTILE 59, 60).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import zlib from 'node:zlib';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { App, DrupeError, exposed, serve, serveFile, type Config, type Context, type WebSocketConnection } from '../src/index.js';
import { h2Connect, h2Request, streamRequest } from '../src/testing.js';
import { cachingStats } from '../src/tools/caching.js';
import { start } from './helpers/server.js';
import { aborted, deferred, tick, waitFor, within } from './helpers/async.js';
import { one, raw, rawReq } from './helpers/http.js';

const ON: Config = { 'tools.caching.on': true };

/** A page that counts its calls and answers with the count, setting headers from `headers(ctx)`. */
function counted(headers: (ctx: Context) => Record<string, string> = () => ({})): { page: (ctx: Context) => string; calls: () => number } {
  let n = 0;
  const page = exposed((ctx: Context) => {
    n++;
    for (const [k, v] of Object.entries(headers(ctx))) ctx.response.headers.set(k, v);
    return `call ${n}`;
  });
  return { page, calls: () => n };
}

test('a GET response is stored and served again with Age; the handler runs once', async (t) => {
  const c = counted(() => ({ 'X-Own': 'kept' }));
  const server = await start(t, { index: c.page }, { '/': ON });
  const first = await one(server.port, 'GET', '/');
  assert.equal(first.status, 200);
  assert.equal(first.body.toString(), 'call 1');
  assert.equal(first.headers.age, undefined, 'a response just computed has no Age');
  const second = await one(server.port, 'GET', '/');
  assert.equal(second.body.toString(), 'call 1');
  assert.equal(second.headers['x-own'], 'kept');
  assert.match(second.headers.age ?? '', /^\d+$/);
  assert.equal(second.headers['content-length'], '6');
  assert.equal(second.headers['content-type'], 'text/html;charset=utf-8');
  assert.equal(c.calls(), 1);
  // Another query string is another URI.
  assert.equal((await one(server.port, 'GET', '/?a=1')).body.toString(), 'call 2');
  assert.equal((await one(server.port, 'GET', '/?a=1')).body.toString(), 'call 2');
});

test('Age counts the seconds since the response was stored; a request max-age older than that is computed again', async (t) => {
  const c = counted();
  const server = await start(t, { index: c.page }, { '/': ON });
  await one(server.port, 'GET', '/');
  await tick(1100); // let the stored copy be at least a second old (not a timing assertion: a lower bound)
  const aged = await one(server.port, 'GET', '/');
  assert.equal(aged.body.toString(), 'call 1');
  assert.ok(Number(aged.headers.age) >= 1, `Age ${aged.headers.age}`);
  const young = await one(server.port, 'GET', '/', { 'Cache-Control': 'max-age=0' });
  assert.equal(young.body.toString(), 'call 2', 'max-age=0 refuses a copy a second old');
  assert.equal(young.headers.age, undefined);
  // The fresh response replaced the old copy.
  assert.equal((await one(server.port, 'GET', '/', { 'Cache-Control': 'max-age=100' })).body.toString(), 'call 2');
});

test('HEAD is served from the GET\'s entry; a HEAD alone stores nothing', async (t) => {
  const c = counted();
  const server = await start(t, { index: c.page, other: c.page }, { '/': ON });
  await one(server.port, 'GET', '/');
  const head = await one(server.port, 'HEAD', '/');
  assert.equal(head.status, 200);
  assert.equal(head.body.length, 0);
  assert.equal(head.headers['content-length'], '6');
  assert.match(head.headers.age ?? '', /^\d+$/);
  assert.equal(c.calls(), 1);
  await one(server.port, 'HEAD', '/other');
  await one(server.port, 'HEAD', '/other');
  assert.equal(c.calls(), 3, 'a HEAD runs the handler (its body is never produced, so nothing is stored)');
  assert.equal((await one(server.port, 'GET', '/other')).body.toString(), 'call 4');
  assert.equal((await one(server.port, 'GET', '/other')).body.toString(), 'call 4');
});

test('the response\'s Cache-Control, Pragma and Expires: what is never stored, and for how long the rest is', async (t) => {
  const cases: Array<[string, Record<string, string>, boolean]> = [
    ['no-store', { 'Cache-Control': 'no-store' }, false],
    ['private', { 'Cache-Control': 'private, max-age=60' }, false],
    ['no-cache', { 'Cache-Control': 'no-cache' }, false],
    ['no-cache with fields', { 'Cache-Control': 'max-age=60, no-cache="Set-Cookie, X-A"' }, false],
    ['max-age=0', { 'Cache-Control': 'max-age=0' }, false],
    ['a malformed max-age', { 'Cache-Control': 'max-age=soon' }, false],
    ['max-age=60', { 'Cache-Control': 'public, max-age=60' }, true],
    ['s-maxage over max-age=0', { 'Cache-Control': 'max-age=0, s-maxage=60' }, true],
    ['s-maxage=0 over max-age=60', { 'Cache-Control': 'max-age=60, s-maxage=0' }, false],
    ['Pragma: no-cache', { Pragma: 'no-cache' }, false],
    ['Expires in the past', { Expires: 'Thu, 01 Jan 1970 00:00:01 GMT' }, false],
    ['an invalid Expires', { Expires: '0' }, false],
    ['Expires ahead', { Expires: new Date(Date.now() + 3_600_000).toUTCString() }, true],
    ['max-age over an Expires in the past', { 'Cache-Control': 'max-age=60', Expires: 'Thu, 01 Jan 1970 00:00:01 GMT' }, true],
    ['Set-Cookie', { 'Set-Cookie': 'a=1' }, false],
    ['Vary: *', { Vary: '*' }, false],
  ];
  const root: Record<string, unknown> = {};
  const counters = cases.map(([, headers], i) => {
    const c = counted(() => headers);
    root[`p${i}`] = c.page;
    return c;
  });
  const server = await start(t, root, { '/': ON });
  for (const [i, [what, , stored]] of cases.entries()) {
    await one(server.port, 'GET', `/p${i}`);
    const again = await one(server.port, 'GET', `/p${i}`);
    assert.equal(counters[i]!.calls(), stored ? 1 : 2, `${what}: ${stored ? 'stored' : 'never stored'}`);
    assert.equal(again.body.toString(), stored ? 'call 1' : 'call 2', what);
  }
});

test('a stored response expires after its max-age, or after delay when it states none', async (t) => {
  const c = counted(() => ({ 'Cache-Control': 'max-age=1' }));
  const d = counted();
  const server = await start(t, { index: c.page, d: d.page }, { '/': ON, '/d': { 'tools.caching.delay': 0.5 } });
  await one(server.port, 'GET', '/');
  await one(server.port, 'GET', '/d');
  assert.equal((await one(server.port, 'GET', '/')).body.toString(), 'call 1');
  assert.equal((await one(server.port, 'GET', '/d')).body.toString(), 'call 1');
  await tick(1100); // past both lifetimes
  assert.equal((await one(server.port, 'GET', '/')).body.toString(), 'call 2');
  assert.equal((await one(server.port, 'GET', '/d')).body.toString(), 'call 2');
});

test('statuses that are not stored: errors, 201, 206; a redirect (301) is', async (t) => {
  let n = 0;
  const page = (status: number) => exposed(({ response }: Context) => {
    n++;
    response.status = status;
    if (status === 301) response.headers.set('Location', '/');
    return `n${n}`;
  });
  const server = await start(t, { s404: page(404), s500: page(500), s201: page(201), s301: page(301) }, { '/': ON });
  for (const [path, stored] of [['/s404', false], ['/s500', false], ['/s201', false], ['/s301', true]] as const) {
    const before = n;
    await one(server.port, 'GET', path);
    await one(server.port, 'GET', path);
    assert.equal(n - before, stored ? 1 : 2, path);
  }
  // A file: a range of it (206) is not stored; the whole file is, and is served again.
  const dir = mkdtempSync(join(tmpdir(), 'drupe-caching-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'f.txt'), 'file contents');
  let fileCalls = 0;
  const file = exposed(() => {
    fileCalls++;
    return serveFile(join(dir, 'f.txt'));
  });
  const server2 = await start(t, { index: file }, { '/': ON });
  for (let i = 1; i <= 2; i++) {
    const range = await one(server2.port, 'GET', '/', { Range: 'bytes=0-3' });
    assert.equal(range.status, 206);
    assert.equal(range.body.toString(), 'file');
    assert.equal(fileCalls, i);
  }
  assert.equal((await one(server2.port, 'GET', '/')).body.toString(), 'file contents');
  const again = await one(server2.port, 'GET', '/');
  assert.equal(again.body.toString(), 'file contents');
  assert.equal(again.headers['content-type'], 'text/plain; charset=utf-8');
  assert.equal(fileCalls, 3);
});

test('the request\'s Cache-Control no-cache / Pragma: no-cache compute a fresh response and store it; no-store neither serves nor stores', async (t) => {
  const c = counted();
  const server = await start(t, { index: c.page }, { '/': ON });
  await one(server.port, 'GET', '/');
  assert.equal((await one(server.port, 'GET', '/', { 'Cache-Control': 'no-cache' })).body.toString(), 'call 2');
  assert.equal((await one(server.port, 'GET', '/')).body.toString(), 'call 2', 'the fresh response was stored');
  assert.equal((await one(server.port, 'GET', '/', { Pragma: 'no-cache' })).body.toString(), 'call 3');
  assert.equal((await one(server.port, 'GET', '/')).body.toString(), 'call 3');
  assert.equal((await one(server.port, 'GET', '/', { 'Cache-Control': 'no-store' })).body.toString(), 'call 4');
  assert.equal((await one(server.port, 'GET', '/')).body.toString(), 'call 3', 'a no-store request\'s response was not stored');
  const bad = await one(server.port, 'GET', '/', { 'Cache-Control': 'max-age=tomorrow' });
  assert.equal(bad.status, 400);
  assert.match(bad.body.toString(), /Cache-Control/);
  assert.equal(c.calls(), 4);
});

test('Vary: each value of the named request headers gets its own entry, never another\'s (HOSTILE 60)', async (t) => {
  let n = 0;
  const page = exposed(({ request, response }: Context) => {
    n++;
    response.headers.set('Vary', 'Accept-Language');
    return `lang=${request.headers['accept-language'] ?? 'none'} n=${n}`;
  });
  const server = await start(t, { index: page }, { '/': ON });
  const en = await one(server.port, 'GET', '/', { 'Accept-Language': 'en' });
  const fr = await one(server.port, 'GET', '/', { 'Accept-Language': 'fr' });
  const none = await one(server.port, 'GET', '/');
  assert.deepEqual([en.body.toString(), fr.body.toString(), none.body.toString()], ['lang=en n=1', 'lang=fr n=2', 'lang=none n=3']);
  assert.equal((await one(server.port, 'GET', '/', { 'Accept-Language': 'fr' })).body.toString(), 'lang=fr n=2');
  assert.equal((await one(server.port, 'GET', '/', { 'Accept-Language': 'en' })).body.toString(), 'lang=en n=1');
  assert.equal((await one(server.port, 'GET', '/', { 'Accept-Language': '' })).body.toString(), 'lang= n=4', 'empty is not absent');
  assert.equal((await one(server.port, 'GET', '/')).body.toString(), 'lang=none n=3');
  assert.equal(n, 4);
  // A fresh response replacing a variant is found again under the same values.
  assert.equal((await one(server.port, 'GET', '/', { 'Accept-Language': 'en', 'Cache-Control': 'no-cache' })).body.toString(), 'lang=en n=5');
  assert.equal((await one(server.port, 'GET', '/', { 'Accept-Language': 'en' })).body.toString(), 'lang=en n=5');
  assert.equal((await one(server.port, 'GET', '/', { 'Accept-Language': 'fr' })).body.toString(), 'lang=fr n=2');
  assert.equal(n, 5);
});

test('Vary on one variant alone: replacing the only stored variant keeps it reachable', async (t) => {
  let n = 0;
  const page = exposed(({ request, response }: Context) => {
    n++;
    response.headers.set('Vary', 'Accept-Language');
    return `${request.headers['accept-language'] ?? ''} ${n}`;
  });
  const server = await start(t, { index: page }, { '/': ON });
  await one(server.port, 'GET', '/', { 'Accept-Language': 'de' });
  assert.equal((await one(server.port, 'GET', '/', { 'Accept-Language': 'de', Pragma: 'no-cache' })).body.toString(), 'de 2');
  assert.equal((await one(server.port, 'GET', '/', { 'Accept-Language': 'de' })).body.toString(), 'de 2');
  assert.equal(n, 2);
});

test('with tools.gzip: the compressed response is stored per Accept-Encoding, and each client gets the coding it asked for', async (t) => {
  const c = counted();
  const TEXT = 'cached and compressed. '.repeat(50);
  let n = 0;
  const page = exposed(() => {
    n++;
    return TEXT;
  });
  const server = await start(t, { index: page, small: c.page }, { '/': { ...ON, 'tools.gzip.on': true } });
  const gz = await one(server.port, 'GET', '/', { 'Accept-Encoding': 'gzip' });
  assert.equal(gz.headers['content-encoding'], 'gzip');
  assert.equal(gz.headers.vary, 'Accept-Encoding');
  const plain = await one(server.port, 'GET', '/');
  assert.equal(plain.headers['content-encoding'], undefined);
  assert.equal(plain.body.toString(), TEXT);
  const br = await one(server.port, 'GET', '/', { 'Accept-Encoding': 'br' });
  assert.equal(br.headers['content-encoding'], 'br');
  assert.equal(n, 3, 'one computation per Accept-Encoding');
  const gz2 = await one(server.port, 'GET', '/', { 'Accept-Encoding': 'gzip' });
  assert.equal(gz2.headers['content-encoding'], 'gzip');
  assert.match(gz2.headers.age ?? '', /^\d+$/);
  assert.equal(zlib.gunzipSync(gz2.body).toString(), TEXT);
  assert.deepEqual(gz2.body, gz.body, 'the stored compressed bytes');
  const plain2 = await one(server.port, 'GET', '/');
  assert.equal(plain2.headers['content-encoding'], undefined);
  assert.equal(plain2.body.toString(), TEXT);
  assert.equal(zlib.brotliDecompressSync((await one(server.port, 'GET', '/', { 'Accept-Encoding': 'br' })).body).toString(), TEXT);
  assert.equal(n, 3);
});

test('a stampede: N identical requests while one computes wait for it; the handler runs once', async (t) => {
  const N = 12;
  const gate = deferred();
  let calls = 0;
  let arrived = 0;
  const page = exposed(async () => {
    calls++;
    await gate.promise;
    return 'computed once';
  });
  const count = (): void => { arrived++; };
  const server = await start(t, { index: page }, { '/': { ...ON, 'hooks.on_start_resource': count } });
  const all = Array.from({ length: N }, () => one(server.port, 'GET', '/'));
  // Every request is past before_handler once the hook counted it (nothing between them waits).
  await waitFor(() => arrived === N, 'every request to arrive');
  assert.equal(calls, 1);
  gate.resolve();
  const responses = await within(Promise.all(all), 'the responses');
  for (const r of responses) {
    assert.equal(r.status, 200);
    assert.equal(r.body.toString(), 'computed once');
  }
  assert.equal(calls, 1, 'the handler ran once for all of them');
  assert.equal(responses.filter((r) => r.headers.age !== undefined).length, N - 1, 'the others were served the stored copy');
});

test('a stampede past antistampede_timeout: each waiter computes its own', async (t) => {
  const N = 4;
  const gate = deferred();
  let calls = 0;
  const page = exposed(async () => {
    calls++;
    await gate.promise;
    return 'slow';
  });
  const server = await start(t, { index: page }, { '/': { ...ON, 'tools.caching.antistampede_timeout': 0.05 } });
  const all = Array.from({ length: N }, () => one(server.port, 'GET', '/'));
  await waitFor(() => calls === N, 'every waiter to give up and compute its own', 10_000);
  gate.resolve();
  for (const r of await within(Promise.all(all), 'the responses')) assert.equal(r.body.toString(), 'slow');
});

test('a stampede on a failing page: the waiters go on when the leader fails, and nothing is stored', async (t) => {
  const gate = deferred();
  let calls = 0;
  let arrived = 0;
  const page = exposed(async () => {
    calls++;
    if (calls === 1) {
      await gate.promise;
      throw new Error('boom');
    }
    return 'second try';
  });
  const server = await start(t, { index: page }, { '/': { ...ON, 'hooks.on_start_resource': () => { arrived++; } } });
  const all = Array.from({ length: 3 }, () => one(server.port, 'GET', '/'));
  await waitFor(() => arrived === 3, 'the requests');
  gate.resolve();
  const statuses = (await within(Promise.all(all), 'the responses')).map((r) => r.status).sort();
  assert.deepEqual(statuses, [200, 200, 500]);
});

test('a streamed response is passed on chunk by chunk, and stored once it ended cleanly', async (t) => {
  const gate = deferred();
  let calls = 0;
  const page = exposed(({ response }: Context) => {
    calls++;
    response.stream = true;
    const mine = calls;
    return (async function* () {
      yield `first ${mine};`;
      if (mine === 1) await gate.promise;
      yield 'second;';
    })();
  });
  const server = await start(t, { index: page }, { '/': ON });
  const res = await streamRequest(server.port, { path: '/' });
  assert.equal(res.framing, 'chunked');
  const it = res.chunks()[Symbol.asyncIterator]();
  const firstChunk = await within(it.next(), 'the first chunk, while the producer waits');
  assert.equal(firstChunk.value?.data.toString(), 'first 1;', 'not held back for the cache');
  gate.resolve();
  assert.equal((await res.done()).complete, true);
  const again = await one(server.port, 'GET', '/');
  assert.equal(again.body.toString(), 'first 1;second;');
  assert.equal(again.headers['content-length'], '15', 'served as the stored bytes');
  assert.equal(calls, 1);
});

test('a streamed response that failed, or was cut by the client, is never stored', async (t) => {
  let calls = 0;
  const failing = exposed(({ response }: Context) => {
    calls++;
    response.stream = true;
    return (async function* () {
      yield 'part;';
      throw new Error('producer failed');
    })();
  });
  let slowCalls = 0;
  const slow = exposed(({ request, response }: Context) => {
    calls++;
    response.stream = true;
    const cutMe = ++slowCalls === 1;
    return (async function* () {
      yield 'part;';
      // The first client leaves here; the producer goes on once the server saw it leave.
      if (cutMe) await aborted(request.signal);
      yield 'rest;';
    })();
  });
  const server = await start(t, { failing, slow }, { '/': ON });
  for (let i = 1; i <= 2; i++) {
    const r = await raw(server.port, rawReq(server.port, 'GET', '/failing'));
    assert.match(r.text, /part;/);
    assert.doesNotMatch(r.text, /\r\n0\r\n\r\n$/, 'truncated: no terminator');
    assert.equal(calls, i, 'computed again every time');
  }
  const cut = await streamRequest(server.port, { path: '/slow', disconnectAfterChunks: 1 });
  assert.equal((await cut.done()).complete, false);
  const whole = await one(server.port, 'GET', '/slow');
  assert.equal(whole.body.toString(), 'part;rest;');
  assert.equal(calls, 4, 'the cut stream was not stored');
  assert.equal((await one(server.port, 'GET', '/slow')).body.toString(), 'part;rest;');
  assert.equal(calls, 4, 'the whole one was');
});

test('maxobj_size: a larger body (buffered or streamed) is sent whole and not stored', async (t) => {
  let calls = 0;
  const big = exposed(() => {
    calls++;
    return 'x'.repeat(2000);
  });
  const bigStream = exposed(({ response }: Context) => {
    calls++;
    response.stream = true;
    return (function* () {
      for (let i = 0; i < 20; i++) yield 'y'.repeat(100);
    })();
  });
  const fits = exposed(() => {
    calls++;
    return 'z'.repeat(900);
  });
  const server = await start(t, { big, bigStream, fits }, { '/': { ...ON, 'tools.caching.maxobj_size': 1000 } });
  for (const path of ['/big', '/bigStream']) {
    const before = calls;
    assert.equal((await one(server.port, 'GET', path)).body.length, 2000);
    assert.equal((await one(server.port, 'GET', path)).body.length, 2000);
    assert.equal(calls - before, 2, path);
  }
  const before = calls;
  await one(server.port, 'GET', '/fits');
  await one(server.port, 'GET', '/fits');
  assert.equal(calls - before, 1);
});

test('maxsize: least recently used entries are evicted first, and the cache stays within its bytes', async (t) => {
  let calls = 0;
  let stats: ReturnType<typeof cachingStats> = [];
  const page = exposed(({ request }: Context) => {
    calls++;
    return `${request.path} `.padEnd(500, '.');
  });
  const look = exposed((ctx: Context) => {
    stats = cachingStats(ctx);
    return 'ok';
  });
  const server = await start(t, { default: page, stats: look }, { '/': { ...ON, 'tools.caching.maxsize': 4000 }, '/stats': { 'tools.caching.on': false } });
  for (let i = 0; i < 10; i++) await one(server.port, 'GET', `/p${i}`);
  await one(server.port, 'GET', '/stats');
  assert.equal(stats.length, 1);
  assert.ok(stats[0]!.size <= 4000, `size ${stats[0]!.size}`);
  assert.ok(stats[0]!.count >= 4 && stats[0]!.count < 10, `count ${stats[0]!.count}`);
  const kept = stats[0]!.count;
  // The newest are there; the oldest went first.
  calls = 0;
  await one(server.port, 'GET', '/p9');
  await one(server.port, 'GET', `/p${10 - kept}`);
  assert.equal(calls, 0, 'the most recent entries are kept');
  await one(server.port, 'GET', '/p0');
  assert.equal(calls, 1, 'the oldest was evicted');
  // Using an entry keeps it: the oldest kept one was used again above, so storing /p0 evicted the next oldest instead.
  await one(server.port, 'GET', `/p${10 - kept}`);
  assert.equal(calls, 1);
});

test('HOSTILE 59: a cache filled by many distinct query strings stays within maxsize and maxobjects', async (t) => {
  let stats: ReturnType<typeof cachingStats> = [];
  const page = exposed(({ request }: Context) => `q=${request.queryString}`);
  const look = exposed((ctx: Context) => {
    stats = cachingStats(ctx);
    return 'ok';
  });
  const server = await start(t, { index: page, stats: look }, {
    '/': { ...ON, 'tools.caching.maxsize': 20_000, 'tools.caching.maxobjects': 50 },
    '/stats': { 'tools.caching.on': false },
  });
  // Long query strings: the key and headers count, not only the (tiny) bodies.
  const long = 'k'.repeat(1500);
  for (let round = 0; round < 5; round++) {
    await Promise.all(Array.from({ length: 40 }, (_, i) => one(server.port, 'GET', `/?${long}=${round * 40 + i}`)));
    await one(server.port, 'GET', '/stats');
    assert.ok(stats[0]!.size <= 20_000, `round ${round}: ${stats[0]!.size} bytes`);
    assert.ok(stats[0]!.count <= 50);
  }
  for (let i = 0; i < 200; i++) await one(server.port, 'GET', `/?${i}`);
  await one(server.port, 'GET', '/stats');
  assert.equal(stats[0]!.count, 50, 'maxobjects bounds many small entries');
  assert.ok(stats[0]!.size <= 20_000);
});

test('POST, PUT, PATCH and DELETE to a URI drop its stored responses', async (t) => {
  let n = 0;
  const page = exposed(({ request }: Context) => {
    if (request.method === 'GET') n++;
    return `n=${n}`;
  });
  const server = await start(t, { index: page }, { '/': ON });
  for (const method of ['POST', 'PUT', 'PATCH', 'DELETE']) {
    const before = (await one(server.port, 'GET', '/')).body.toString();
    assert.equal((await one(server.port, 'GET', '/')).body.toString(), before, `${method}: stored`);
    await one(server.port, method, '/', {}, { body: 'x' });
    assert.notEqual((await one(server.port, 'GET', '/')).body.toString(), before, `${method}: dropped`);
  }
  // A response being computed while the URI changes is not stored.
  const gate = deferred();
  let slowCalls = 0;
  const slow = exposed(async ({ request }: Context) => {
    if (request.method !== 'GET') return 'changed';
    slowCalls++;
    if (slowCalls === 1) await gate.promise;
    return `slow ${slowCalls}`;
  });
  const server2 = await start(t, { index: slow }, { '/': ON });
  const pending = one(server2.port, 'GET', '/');
  await waitFor(() => slowCalls === 1, 'the slow GET');
  await one(server2.port, 'POST', '/', {}, { body: 'x' });
  gate.resolve();
  assert.equal((await pending).body.toString(), 'slow 1');
  assert.equal((await one(server2.port, 'GET', '/')).body.toString(), 'slow 2', 'the stale response was not stored');
});

test('HOSTILE 60: never shared — a Set-Cookie or private response, an authorized one unless public; auth_basic still guards a stored page', async (t) => {
  const users = { ann: 'pw-ann', bob: 'pw-bob' };
  const basic = (u: string, p: string): string => 'Basic ' + Buffer.from(`${u}:${p}`).toString('base64');
  const mine = exposed(({ request }: Context) => `for ${String(request.login)}`);
  const shared = exposed(({ response }: Context) => {
    response.headers.set('Cache-Control', 'public, max-age=60');
    return `public page ${Math.random()}`;
  });
  let n = 0;
  const cookie = exposed(({ response }: Context) => {
    n++;
    response.setCookie('sid', `s${n}`);
    return `cookie ${n}`;
  });
  const priv = exposed(({ request, response }: Context) => {
    response.headers.set('Cache-Control', 'private');
    return `private for ${request.headers['x-user'] ?? ''}`;
  });
  const server = await start(t, { admin: { mine, shared }, cookie, priv }, {
    '/': ON,
    '/admin': { 'tools.auth_basic.on': true, 'tools.auth_basic.users': users },
  });
  assert.equal((await one(server.port, 'GET', '/admin/mine', { Authorization: basic('ann', 'pw-ann') })).body.toString(), 'for ann');
  assert.equal((await one(server.port, 'GET', '/admin/mine', { Authorization: basic('bob', 'pw-bob') })).body.toString(), 'for bob');
  const pub = await one(server.port, 'GET', '/admin/shared', { Authorization: basic('ann', 'pw-ann') });
  assert.equal((await one(server.port, 'GET', '/admin/shared', { Authorization: basic('bob', 'pw-bob') })).body.toString(), pub.body.toString(), 'public: shared');
  const anon = await one(server.port, 'GET', '/admin/shared');
  assert.equal(anon.status, 401, 'a stored page never skips auth_basic');
  assert.equal((await one(server.port, 'GET', '/admin/shared', { Authorization: basic('bob', 'wrong') })).status, 401);
  const c1 = await one(server.port, 'GET', '/cookie');
  const c2 = await one(server.port, 'GET', '/cookie');
  assert.deepEqual([c1.headers['set-cookie'], c2.headers['set-cookie']], ['sid=s1', 'sid=s2']);
  assert.equal((await one(server.port, 'GET', '/priv', { 'X-User': 'ann' })).body.toString(), 'private for ann');
  assert.equal((await one(server.port, 'GET', '/priv', { 'X-User': 'bob' })).body.toString(), 'private for bob');
});

test('a cached page keeps each request\'s own id header, and answers a conditional request it satisfies with a 304', async (t) => {
  const page = exposed(({ response }: Context) => {
    response.headers.set('ETag', '"v1"');
    response.headers.set('Last-Modified', 'Sun, 06 Dec 2026 10:00:00 GMT');
    return 'tagged';
  });
  const server = await start(t, { index: page }, { '/': ON }, { 'request.id_header': 'X-Request-Id' });
  const a = await one(server.port, 'GET', '/');
  const b = await one(server.port, 'GET', '/');
  assert.equal(b.body.toString(), 'tagged');
  assert.ok(a.headers['x-request-id'] !== undefined && b.headers['x-request-id'] !== undefined);
  assert.notEqual(a.headers['x-request-id'], b.headers['x-request-id']);
  const inm = await one(server.port, 'GET', '/', { 'If-None-Match': '"v1"' });
  assert.equal(inm.status, 304);
  assert.equal(inm.body.length, 0);
  assert.match(inm.headers.age ?? '', /^\d+$/);
  assert.equal((await one(server.port, 'GET', '/', { 'If-Modified-Since': 'Sun, 06 Dec 2026 10:00:00 GMT' })).status, 304);
  assert.equal((await one(server.port, 'GET', '/', { 'If-Match': '"v0"' })).status, 412);
  assert.equal((await one(server.port, 'GET', '/', { 'If-None-Match': '"v0"' })).status, 200);
});

test('the options are checked at start-up', () => {
  const bad: Array<[string, unknown]> = [
    ['maxsize', -1], ['maxsize', 1.5], ['maxobj_size', 'big'], ['maxobjects', -2], ['delay', 0], ['delay', -5],
    ['antistampede_timeout', 'x'], ['antistampede_timeout', -1], ['invalid_methods', ['GET']], ['invalid_methods', 'POST'], ['invalid_methods', ['post']],
  ];
  for (const [option, value] of bad) {
    assert.throws(() => new App({}, { '/': { ...ON, [`tools.caching.${option}`]: value } }), (err: unknown) => {
      assert.ok(err instanceof DrupeError);
      assert.equal(err.code, 'DRUPE_ERR_CONFIG_VALUE', `${option}=${JSON.stringify(value)}`);
      assert.match(err.message, new RegExp(`tools\\.caching\\.${option}`));
      return true;
    });
  }
  assert.throws(() => new App({}, { '/': { ...ON, 'tools.caching.expire_freq': 1 } }), /expire_freq/);
  new App({}, { '/': { ...ON, 'tools.caching.delay': 0.5, 'tools.caching.antistampede_timeout': 0, 'tools.caching.maxsize': 0 } });
});

test('bounds of nothing store nothing (the tool is left out of the route)', async (t) => {
  const c = counted();
  const server = await start(t, { index: c.page }, { '/': { ...ON, 'tools.caching.maxsize': 0 } });
  await one(server.port, 'GET', '/');
  await one(server.port, 'GET', '/');
  assert.equal(c.calls(), 2);
});

test('a forged Host never plants a page (HOSTILE 60): the key holds the site', async (t) => {
  let n = 0;
  const page = exposed(({ request }: Context) => {
    n++;
    return `<a href="${request.base}/next">next</a> ${n}`;
  });
  const server = await start(t, { index: page }, { '/': ON });
  const forged = await one(server.port, 'GET', '/', {}, { host: 'evil.example' });
  assert.match(forged.body.toString(), /evil\.example/);
  const honest = await one(server.port, 'GET', '/');
  assert.doesNotMatch(honest.body.toString(), /evil/);
  assert.equal(n, 2);
  assert.equal((await one(server.port, 'GET', '/')).body.toString(), honest.body.toString());
  assert.equal(n, 2);
});

test('a page built from the session is never served to another session (HOSTILE 60): its renewed cookie keeps it out of the cache', async (t) => {
  let pages = 0;
  const root = {
    login: exposed(({ request, params }: Context) => {
      request.session.set('name', String(params['name']));
      return 'in';
    }),
    me: exposed(({ request }: Context) => {
      pages++;
      return `you are ${String(request.session.get('name'))}`;
    }),
  };
  const server = await start(t, root, { '/': { 'tools.sessions.on': true }, '/me': ON });
  const cookieOf = async (name: string): Promise<string> => {
    const res = await one(server.port, 'GET', `/login?name=${name}`);
    const set = String(res.headers['set-cookie']);
    return set.slice(0, set.indexOf(';'));
  };
  const alice = await cookieOf('alice');
  const bob = await cookieOf('bob');
  for (let round = 0; round < 2; round++) {
    for (const [cookie, name] of [[alice, 'alice'], [bob, 'bob']] as const) {
      const res = await one(server.port, 'GET', '/me', { cookie });
      assert.equal(res.body.toString(), `you are ${name}`);
      assert.match(String(res.headers.vary), /Cookie/i);
      assert.match(String(res.headers['set-cookie']), /^session_id=/, 'a read session renews its cookie');
      assert.equal(res.headers.age, undefined, 'never served from the cache');
    }
  }
  assert.equal(pages, 4, 'every request computed its own page');
});

test('over HTTP/2 and app.fetch too: stored once, served with Age', async (t) => {
  const c = counted();
  const running = await serve(new App({ index: c.page }, { '/': ON }), { host: '127.0.0.1', port: 0, config: { environment: 'test', 'server.http2': true } });
  t.after(() => running.close());
  const connection = await h2Connect(`http://127.0.0.1:${running.port}`);
  t.after(() => connection.disconnect());
  const first = await h2Request(connection, { path: '/' });
  assert.equal(await first.text(), 'call 1');
  const second = await h2Request(connection, { path: '/' });
  assert.equal(await second.text(), 'call 1');
  assert.match(String(second.headers.age), /^\d+$/);
  assert.equal(c.calls(), 1);

  const f = counted();
  const app = new App({ index: f.page }, { '/': ON });
  const a = await app.fetch(new Request('http://shop.example/'));
  assert.equal(await a.text(), 'call 1');
  const b = await app.fetch(new Request('http://shop.example/'));
  assert.equal(await b.text(), 'call 1');
  assert.match(b.headers.get('age') ?? '', /^\d+$/);
  assert.equal(f.calls(), 1);
});

test('a WebSocket handshake on a caching route is neither served nor stored, and leaves nothing waiting', async (t) => {
  const root = {
    echo: exposed.websocket(async (socket: WebSocketConnection) => {
      for await (const message of socket) await socket.send(message);
    }),
  };
  const server = await start(t, root, { '/': { ...ON, 'tools.caching.antistampede_timeout': 600 } });
  for (let i = 0; i < 2; i++) {
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/echo`);
    await within(new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); }), 'the handshake');
    const echoed = new Promise<string>((resolve) => ws.once('message', (d: Buffer) => resolve(d.toString())));
    ws.send(`hello ${i}`);
    assert.equal(await within(echoed, 'the echo'), `hello ${i}`);
    ws.close();
  }
  // A plain GET does not wait on a handshake's (never stored) response: the hang guard would fail it.
  const plain = await within(fetch(`http://127.0.0.1:${server.port}/echo`), 'a plain GET');
  assert.equal(plain.status, 426);
  await plain.arrayBuffer();
});
