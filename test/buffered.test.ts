// Buffered bodies (DESIGN B1–B6): every body type is materialized before
// commit and sent with Content-Length, never chunked; status and headers may
// change inside a generator until commit; anything thrown while
// materializing becomes a proper response; non-bodies are clear 500s; the
// buffered size bound; the handler's wrong Content-Length; HEAD.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { ReadableStream } from 'node:stream/web';
import { exposed, json, HTTPError, HTTPRedirect, InternalRedirect, NotFound, type Context } from '../src/index.js';
import { rawRequest, type ParsedResponse } from '../src/testing.js';
import { deferred, within } from './helpers/async.js';
import { headerNames, one, rawReq } from './helpers/http.js';
import { start } from './helpers/server.js';

// -- helpers ----------------------------------------------------------------


/** Framed by Content-Length, exactly the body's size, not chunked, complete. */
function assertBuffered(res: ParsedResponse, what: string): void {
  assert.equal(res.framing, 'content-length', `${what}: framing ${res.framing}\n${res.head}`);
  assert.ok(!headerNames(res).includes('transfer-encoding'), `${what}: Transfer-Encoding sent`);
  assert.equal(headerNames(res).filter((n) => n === 'content-length').length, 1, `${what}: one Content-Length`);
  assert.equal(Number(res.headers['content-length']), res.body.length, `${what}: Content-Length vs body`);
  assert.equal(res.complete, true, what);
  assert.equal(res.chunks.length, 0, what);
}

const enc = new TextEncoder();

// -- B1, B4: every body type ------------------------------------------------------

test('every body type is materialized and sent with Content-Length, never chunked (B1, B4)', async (t) => {
  const bin = Buffer.from([0, 1, 2, 0xfe, 0xff]);
  const backing = Buffer.from('xxHELLOyy');
  const cases: Record<string, [() => unknown, Buffer]> = {
    string: [() => 'héllo ✓', Buffer.from('héllo ✓')],
    empty_string: [() => '', Buffer.alloc(0)],
    buffer: [() => bin, bin],
    uint8array: [() => new Uint8Array(backing.buffer, backing.byteOffset + 2, 5), Buffer.from('HELLO')],
    array: [() => ['a', Buffer.from('b'), enc.encode('c')], Buffer.from('abc')],
    set: [() => new Set(['x', 'y']), Buffer.from('xy')],
    generator: [() => (function* () { yield 'one '; yield Buffer.from('two '); yield ''; yield new Uint8Array([0x33]); })(), Buffer.from('one two 3')],
    iterable: [() => ({ *[Symbol.iterator]() { yield 'it'; yield 'er'; } }), Buffer.from('iter')],
    async_generator: [() => (async function* () { yield 'a'; await new Promise((r) => setImmediate(r)); yield Buffer.from('sync'); yield ''; })(), Buffer.from('async')],
    async_iterable: [() => ({
      [Symbol.asyncIterator]() {
        let i = 0;
        return { next: async () => (i < 3 ? { done: false, value: `#${i++}` } : { done: true, value: undefined }) };
      },
    }), Buffer.from('#0#1#2')],
    readable_strings: [() => Readable.from(['re', 'ad', 'able']), Buffer.from('readable')],
    readable_bytes: [() => {
      const parts = [Buffer.from('by'), Buffer.from('tes')];
      return new Readable({ read() { this.push(parts.shift() ?? null); } });
    }, Buffer.from('bytes')],
    web_stream: [() => new ReadableStream<Uint8Array | string>({
      start(c) {
        c.enqueue(enc.encode('we'));
        c.enqueue('b ');
        c.enqueue(enc.encode('stream ✓'));
        c.close();
      },
    }), Buffer.from('web stream ✓')],
    web_stream_pull: [() => {
      let n = 0;
      return new ReadableStream<Uint8Array>({ pull(c) { if (n < 3) c.enqueue(enc.encode(String(n++))); else c.close(); } });
    }, Buffer.from('012')],
    null: [() => null, Buffer.alloc(0)],
    undefined: [() => undefined, Buffer.alloc(0)],
    async_handler: [async () => { await new Promise((r) => setImmediate(r)); return 'awaited'; }, Buffer.from('awaited')],
    promised_generator: [async () => (function* () { yield 'pro'; yield 'mised'; })(), Buffer.from('promised')],
  };
  const root: Record<string, unknown> = {};
  for (const [name, [make]] of Object.entries(cases)) root[name] = exposed(() => make());
  const server = await start(t, root);
  for (const [name, [, expected]] of Object.entries(cases)) {
    const res = await one(server.port, 'GET', `/${name}`);
    assert.equal(res.status, 200, `${name}: ${res.body.toString()}`);
    assertBuffered(res, name);
    assert.ok(res.body.equals(expected), `${name}: got ${JSON.stringify(res.body.toString('latin1'))}`);
    assert.equal(res.headers['content-type'], 'text/html;charset=utf-8', name);
  }
});

test('a generator of many chunks is one Content-Length body', async (t) => {
  const server = await start(t, {
    many: exposed(function* () { for (let i = 0; i < 2000; i++) yield `${String(i).padStart(4, '0')}\n`; }),
    many_async: exposed(async function* () { for (let i = 0; i < 500; i++) { if (i % 50 === 0) await new Promise((r) => setImmediate(r)); yield Buffer.alloc(1000, i & 0xff); } }),
  });
  const many = await one(server.port, 'GET', '/many');
  assertBuffered(many, 'many');
  assert.equal(many.body.length, 2000 * 5);
  assert.ok(many.body.toString().startsWith('0000\n0001\n'));
  assert.ok(many.body.toString().endsWith('1999\n'));
  const asyncMany = await one(server.port, 'GET', '/many_async');
  assertBuffered(asyncMany, 'many_async');
  assert.equal(asyncMany.body.length, 500 * 1000);
  assert.equal(asyncMany.body[499_999], 499 & 0xff);
});

test('a buffered response keeps the connection alive for the next request', async (t) => {
  const server = await start(t, { gen: exposed(function* () { yield 'a'; yield 'b'; }) });
  const r = await rawRequest(server.port, [rawReq(server.port, 'GET', '/gen', { keepAlive: true }), rawReq(server.port, 'GET', '/gen')]);
  assert.equal(r.responses.length, 2);
  for (const res of r.responses) {
    assertBuffered(res, 'gen');
    assert.equal(res.body.toString(), 'ab');
  }
});

// -- B3: status and headers until commit ---------------------------------------------

test('a generator may change status and headers before and while yielding (B3)', async (t) => {
  const server = await start(t, {
    sync: exposed(function* ({ response }: Context) {
      response.status = 201;
      response.headers.set('X-Before', '1');
      yield 'a';
      response.headers.set('X-While', '2');
      response.status = '202 Still Going';
      yield 'b';
      response.headers.set('Content-Type', 'text/plain');
      response.headers.append('X-While', '3');
    }),
    async: exposed(async function* ({ response }: Context) {
      response.headers.set('X-Before', 'async');
      yield 'x';
      await new Promise((r) => setImmediate(r));
      response.status = 203;
      response.setCookie('late', 'yes');
      yield 'y';
    }),
    returned: exposed(({ response }: Context) => {
      response.status = 200;
      return (function* () {
        response.status = 206;
        yield 'part';
        response.headers.set('X-After-First', 'ok');
      })();
    }),
    readable: exposed(({ response }: Context) => {
      let n = 0;
      return new Readable({
        read() {
          if (n++ === 0) { response.headers.set('X-From-Read', 'r'); this.push('r1'); } else { response.status = 207; this.push(null); }
        },
      });
    }),
  });
  const sync = await one(server.port, 'GET', '/sync');
  assert.equal(sync.head.slice(0, sync.head.indexOf('\r\n')), 'HTTP/1.1 202 Still Going');
  assert.equal(sync.headers['x-before'], '1');
  assert.equal(sync.headers['x-while'], '2, 3');
  assert.equal(sync.headers['content-type'], 'text/plain');
  assert.equal(sync.body.toString(), 'ab');
  assertBuffered(sync, 'sync');

  const asyncRes = await one(server.port, 'GET', '/async');
  assert.equal(asyncRes.status, 203);
  assert.equal(asyncRes.headers['x-before'], 'async');
  assert.equal(asyncRes.headers['set-cookie'], 'late=yes');
  assert.equal(asyncRes.body.toString(), 'xy');

  const returned = await one(server.port, 'GET', '/returned');
  assert.equal(returned.status, 206);
  assert.equal(returned.headers['x-after-first'], 'ok');

  const readable = await one(server.port, 'GET', '/readable');
  assert.equal(readable.status, 207);
  assert.equal(readable.headers['x-from-read'], 'r');
  assert.equal(readable.body.toString(), 'r1');
});

// -- B2: errors while materializing ------------------------------------------------------

test('anything thrown while materializing becomes a 500 with its traceback (tracebacks on), and no partial body (B2)', async (t) => {
  const server = await start(t, {
    sync_gen: exposed(function* () { yield 'partial-'; throw new Error('boom in sync generator'); }),
    async_gen: exposed(async function* () { yield 'partial-'; await new Promise((r) => setImmediate(r)); throw new Error('boom in async generator'); }),
    first_next: exposed(() => (function* () { throw new Error('boom before the first yield'); })()),
    readable: exposed(() => {
      let n = 0;
      return new Readable({
        read() {
          if (n++ === 0) this.push('partial-');
          else process.nextTick(() => this.destroy(new Error('boom in Readable')));
        },
      });
    }),
    web_stream: exposed(() => {
      let n = 0;
      return new ReadableStream<Uint8Array>({
        pull(c) {
          if (n++ === 0) c.enqueue(enc.encode('partial-'));
          else c.error(new Error('boom in ReadableStream'));
        },
      });
    }),
    iterator_next: exposed(() => ({ [Symbol.iterator]: () => ({ next(): IteratorResult<string> { throw new Error('boom in next()'); } }) })),
    thrown_string: exposed(function* () { yield 'x'; throw 'a thrown string'; }),
  }, {}, { 'log.screen': false });
  const expected: Record<string, RegExp> = {
    sync_gen: /boom in sync generator/,
    async_gen: /boom in async generator/,
    first_next: /boom before the first yield/,
    readable: /boom in Readable/,
    web_stream: /boom in ReadableStream/,
    iterator_next: /boom in next\(\)/,
    thrown_string: /a thrown string/,
  };
  for (const [name, message] of Object.entries(expected)) {
    const res = await one(server.port, 'GET', `/${name}`);
    assert.equal(res.status, 500, name);
    assertBuffered(res, name);
    assert.equal(res.headers['content-type'], 'text/html;charset=utf-8');
    const page = res.body.toString();
    assert.match(page, message, name);
    assert.ok(!page.startsWith('partial-') && !page.includes('partial-<'), `${name}: partial body leaked`);
  }
});

test('an error while materializing in production: a generic 500 page', async (t) => {
  const server = await start(t, {
    g: exposed(async function* () { yield 'partial'; throw new Error('secret detail /srv/app.js'); }),
  }, {}, { environment: 'production', 'log.screen': false });
  const res = await one(server.port, 'GET', '/g');
  assert.equal(res.status, 500);
  assertBuffered(res, 'g');
  const page = res.body.toString();
  assert.ok(!/secret|app\.js|partial|at /.test(page), page);
});

test('an HTTPError thrown inside a generator gives that status and its escaped message (B2)', async (t) => {
  const server = await start(t, {
    forbidden: exposed(function* ({ response }: Context) {
      response.headers.set('Content-Type', 'text/plain');
      yield 'partial';
      throw new HTTPError(403, 'No <entry> for you');
    }),
    teapot_async: exposed(async function* () { yield 'x'; throw new HTTPError(418); }),
    missing: exposed(async function* () { await new Promise((r) => setImmediate(r)); throw new NotFound('/somewhere'); }),
    readable_http: exposed(() => new Readable({ read() { this.destroy(new HTTPError(409, 'Conflict inside a stream')); } })),
  });
  const forbidden = await one(server.port, 'GET', '/forbidden');
  assert.equal(forbidden.status, 403);
  assertBuffered(forbidden, 'forbidden');
  assert.equal(forbidden.headers['content-type'], 'text/html;charset=utf-8'); // the error page's own type
  assert.match(forbidden.body.toString(), /No &lt;entry&gt; for you/);
  assert.ok(!forbidden.body.toString().includes('<entry>'));
  const teapot = await one(server.port, 'GET', '/teapot_async');
  assert.equal(teapot.status, 418);
  const missing = await one(server.port, 'GET', '/missing');
  assert.equal(missing.status, 404);
  assert.match(missing.body.toString(), /\/somewhere/);
  const conflict = await one(server.port, 'GET', '/readable_http');
  assert.equal(conflict.status, 409);
  assert.match(conflict.body.toString(), /Conflict inside a stream/);
});

test('an HTTPRedirect or InternalRedirect thrown inside a generator redirects (B2)', async (t) => {
  const server = await start(t, {
    go: exposed(function* () { yield 'partial'; throw new HTTPRedirect('/elsewhere?x=1'); }),
    go_async: exposed(async function* () { yield 'partial'; throw new HTTPRedirect('there', 307); }),
    inside: exposed(async function* () { yield 'partial'; throw new InternalRedirect('/target', 'from=inside'); }),
    target: exposed(({ params }: Context) => `target reached from ${String(params.from)}`),
  });
  const go = await one(server.port, 'GET', '/go');
  assert.equal(go.status, 303);
  assert.equal(go.headers.location, `http://127.0.0.1:${server.port}/elsewhere?x=1`);
  assertBuffered(go, 'go');
  assert.ok(!go.body.toString().includes('partial'));
  const goAsync = await one(server.port, 'GET', '/go_async');
  assert.equal(goAsync.status, 307);
  assert.equal(goAsync.headers.location, `http://127.0.0.1:${server.port}/there`);
  const inside = await one(server.port, 'GET', '/inside');
  assert.equal(inside.status, 200);
  assert.equal(inside.body.toString(), 'target reached from inside');
  assertBuffered(inside, 'inside');
});

test('after an error while materializing, the connection is still reused (nothing was sent)', async (t) => {
  const server = await start(t, {
    bad: exposed(function* () { yield 'x'; throw new HTTPError(400, 'bad input'); }),
    good: exposed(() => 'good'),
  });
  const r = await rawRequest(server.port, [rawReq(server.port, 'GET', '/bad', { keepAlive: true }), rawReq(server.port, 'GET', '/good')]);
  assert.deepEqual(r.responses.map((x) => x.status), [400, 200]);
  assert.equal(r.responses[1]!.body.toString(), 'good');
});

// -- not a body ---------------------------------------------------------------------------

test('a plain object or a number returned → 500 whose message points to json()', async (t) => {
  const server = await start(t, {
    object: exposed(() => ({ a: 1 }) as unknown),
    number: exposed(() => 42 as unknown),
    async_object: exposed(async () => ({ b: 2 }) as unknown),
    boolean: exposed(() => true as unknown),
  }, {}, { 'log.screen': false });
  for (const [name, what] of [['object', 'a plain object'], ['number', 'a number \\(42\\)'], ['async_object', 'a plain object'], ['boolean', 'a boolean \\(true\\)']] as const) {
    const res = await one(server.port, 'GET', `/${name}`);
    assert.equal(res.status, 500, name);
    const page = res.body.toString();
    assert.match(page, new RegExp(`returned ${what}, which is not a response body`), name);
    assert.match(page, /json\(value\)/, name);
  }
});

test('a chunk that is not a string or bytes → 500 naming the value', async (t) => {
  const server = await start(t, {
    number: exposed(function* () { yield 'ok'; yield 42 as unknown as string; }),
    object: exposed(async function* () { yield { a: 1 } as unknown as string; }),
    nulls: exposed(() => ['a', null]),
    web: exposed(() => new ReadableStream<unknown>({ start(c) { c.enqueue(7); c.close(); } })),
    readable_objects: exposed(() => Readable.from([{ x: 1 }])),
    promise: exposed(function* () { yield Promise.resolve('late') as unknown as string; }),
  }, {}, { 'log.screen': false });
  const expected: Record<string, RegExp> = {
    number: /must be a string or bytes, got a number \(42\)/,
    object: /must be a string or bytes, got a plain object/,
    nulls: /must be a string or bytes, got null/,
    web: /must be a string or bytes, got a number \(7\)/,
    readable_objects: /must be a string or bytes, got a plain object/,
    promise: /got a Promise \(await it inside an async generator instead\)/,
  };
  for (const [name, message] of Object.entries(expected)) {
    const res = await one(server.port, 'GET', `/${name}`);
    assert.equal(res.status, 500, name);
    assert.match(res.body.toString(), message, name);
  }
});

test("a bad chunk closes the producer: the generator's finally runs, a ReadableStream is cancelled", async (t) => {
  let syncFinally = false;
  const asyncFinally = deferred<void>();
  const cancelled = deferred<unknown>();
  const readableClosed = deferred<void>();
  const server = await start(t, {
    sync: exposed(function* () {
      try { yield 'ok'; yield 42 as unknown as string; yield 'never'; } finally { syncFinally = true; }
    }),
    async: exposed(async function* () {
      try { yield { bad: true } as unknown as string; yield 'never'; } finally { asyncFinally.resolve(); }
    }),
    web: exposed(() => new ReadableStream<unknown>({
      pull(c) { c.enqueue(Symbol('bad')); },
      cancel(reason) { cancelled.resolve(reason); },
    })),
    readable: exposed(() => {
      const r = Readable.from((function* () { yield 'ok'; yield 3.5; yield 'never'; })());
      r.on('close', () => readableClosed.resolve());
      return r;
    }),
  }, {}, { 'log.screen': false });
  const sync = await one(server.port, 'GET', '/sync');
  assert.equal(sync.status, 500);
  assert.match(sync.body.toString(), /got a number \(42\)/);
  assert.equal(syncFinally, true);
  const asyncRes = await one(server.port, 'GET', '/async');
  assert.equal(asyncRes.status, 500);
  await within(asyncFinally.promise, "the async generator's finally");
  const web = await one(server.port, 'GET', '/web');
  assert.equal(web.status, 500);
  assert.match(web.body.toString(), /got a symbol/);
  await within(cancelled.promise, 'the ReadableStream to be cancelled');
  const readable = await one(server.port, 'GET', '/readable');
  assert.equal(readable.status, 500);
  assert.match(readable.body.toString(), /got a number \(3.5\)/);
  await within(readableClosed.promise, 'the Readable to be destroyed');
});

// -- json() -------------------------------------------------------------------------------

test('json(value) sends JSON with Content-Type application/json, unless the handler chose one', async (t) => {
  const value = { a: 1, s: 'é ✓', list: [true, null], nested: { x: '<b>' } };
  const server = await start(t, {
    j: exposed(() => json(value)),
    own: exposed(({ response }: Context) => { response.headers.set('Content-Type', 'application/vnd.api+json'); return json([1]); }),
    undef: exposed(() => json(undefined)),
    async_j: exposed(async () => json('text')),
  });
  const j = await one(server.port, 'GET', '/j');
  assert.equal(j.status, 200);
  assert.equal(j.headers['content-type'], 'application/json');
  assertBuffered(j, 'j');
  assert.ok(j.body.equals(Buffer.from(JSON.stringify(value), 'utf8')));
  assert.deepEqual(JSON.parse(j.body.toString('utf8')), value);
  const own = await one(server.port, 'GET', '/own');
  assert.equal(own.headers['content-type'], 'application/vnd.api+json');
  assert.equal(own.body.toString(), '[1]');
  const undef = await one(server.port, 'GET', '/undef');
  assert.equal(undef.body.toString(), 'null');
  const asyncJ = await one(server.port, 'GET', '/async_j');
  assert.equal(asyncJ.body.toString(), '"text"');
  assert.equal(asyncJ.headers['content-type'], 'application/json');
});

// -- B5: the size bound ------------------------------------------------------------------

test("the head, header by header in order: none of the handler's own, only a type (as set), a repeated type, a type and more", async (t) => {
  const server = await start(t, {
    plain: exposed(() => 'plain'),
    typed: exposed(({ response }: Context) => { response.headers.set('content-TYPE', 'text/plain'); return 'typed'; }),
    data: exposed(() => json({ a: 1 })),
    twice: exposed(({ response }: Context) => { response.headers.append('Content-Type', 'text/plain').append('Content-Type', 'text/html'); return 'twice'; }),
    more: exposed(({ response }: Context) => { response.headers.set('X-One', '1').set('Content-Type', 'text/plain'); return 'more'; }),
  });
  const heads: Record<string, Array<[string, string]>> = {};
  for (const path of ['plain', 'typed', 'data', 'twice', 'more']) {
    const r = await one(server.port, 'GET', `/${path}`);
    assertBuffered(r, path);
    heads[path] = r.rawHeaders.filter(([n]) => n !== 'Date' && n !== 'Connection');
  }
  assert.deepEqual(heads, {
    plain: [['Content-Type', 'text/html;charset=utf-8'], ['Content-Length', '5'], ['Server', 'Drupe']],
    typed: [['content-TYPE', 'text/plain'], ['Content-Length', '5'], ['Server', 'Drupe']],
    data: [['Content-Type', 'application/json'], ['Content-Length', '7'], ['Server', 'Drupe']],
    twice: [['Content-Type', 'text/plain'], ['Content-Type', 'text/html'], ['Content-Length', '5'], ['Server', 'Drupe']],
    more: [['X-One', '1'], ['Content-Type', 'text/plain'], ['Content-Length', '4'], ['Server', 'Drupe']],
  });
});

test('response.max_buffered_size: a bigger generator → 500 saying to stream, and its finally ran (B5)', async (t) => {
  let syncFinally = 0;
  let syncPulled = 0;
  const asyncFinally = deferred<void>();
  const readableClosed = deferred<boolean>();
  const cfg = { 'response.max_buffered_size': 1024 };
  const server = await start(t, {
    endless: exposed(function* () {
      try {
        for (;;) { syncPulled++; yield Buffer.alloc(300, 0x61); }
      } finally {
        syncFinally++;
      }
    }, cfg),
    endless_async: exposed(async function* () {
      try {
        for (;;) { await new Promise((r) => setImmediate(r)); yield 'b'.repeat(300); }
      } finally {
        asyncFinally.resolve();
      }
    }, cfg),
    endless_readable: exposed(() => {
      const r = new Readable({ read() { this.push(Buffer.alloc(300, 0x63)); } });
      r.on('close', () => readableClosed.resolve(r.destroyed));
      return r;
    }, cfg),
    at_limit: exposed(function* () { for (let i = 0; i < 4; i++) yield Buffer.alloc(256, 0x64); }, cfg),
    one_over: exposed(function* () { for (let i = 0; i < 4; i++) yield Buffer.alloc(256, 0x64); yield 'x'; }, cfg),
    big_string: exposed(() => 'e'.repeat(4096), cfg), // already in memory: not materialized, not bounded
  }, {}, { 'log.screen': false });

  const endless = await one(server.port, 'GET', '/endless');
  assert.equal(endless.status, 500);
  assertBuffered(endless, 'endless');
  assert.match(endless.body.toString(), /response\.max_buffered_size \(1024 bytes\)/);
  assert.match(endless.body.toString(), /stream it instead/);
  assert.ok(!endless.body.toString().includes('aaaa'));
  assert.equal(syncFinally, 1);
  assert.equal(syncPulled, 4); // stopped at the first chunk past the bound

  const endlessAsync = await one(server.port, 'GET', '/endless_async');
  assert.equal(endlessAsync.status, 500);
  assert.match(endlessAsync.body.toString(), /max_buffered_size/);
  await within(asyncFinally.promise, "the async generator's finally");

  const endlessReadable = await one(server.port, 'GET', '/endless_readable');
  assert.equal(endlessReadable.status, 500);
  assert.equal(await within(readableClosed.promise, 'the Readable to be destroyed'), true);

  const atLimit = await one(server.port, 'GET', '/at_limit');
  assert.equal(atLimit.status, 200);
  assert.equal(atLimit.body.length, 1024);
  const oneOver = await one(server.port, 'GET', '/one_over');
  assert.equal(oneOver.status, 500);

  const bigString = await one(server.port, 'GET', '/big_string');
  assert.equal(bigString.status, 200);
  assert.equal(bigString.body.length, 4096);
});

// -- handler-set framing headers -------------------------------------------------------------

test("a handler's wrong Content-Length (or Transfer-Encoding) on a buffered body is replaced by the real length", async (t) => {
  const server = await start(t, {
    short: exposed(({ response }: Context) => { response.headers.set('Content-Length', '999'); return 'hello'; }),
    long: exposed(function* ({ response }: Context) { response.headers.set('content-length', '1'); yield 'hel'; yield 'lo'; }),
    garbage: exposed(({ response }: Context) => { response.headers.set('Content-Length', 'abc'); return 'hello'; }),
    te: exposed(({ response }: Context) => { response.headers.set('Transfer-Encoding', 'chunked'); return 'hello'; }),
    after: exposed(() => 'after'),
  });
  for (const name of ['short', 'long', 'garbage', 'te']) {
    const r = await rawRequest(server.port, [rawReq(server.port, 'GET', `/${name}`, { keepAlive: true }), rawReq(server.port, 'GET', '/after')]);
    assert.equal(r.responses.length, 2, `${name}: ${r.text}`);
    const [first, second] = r.responses as [ParsedResponse, ParsedResponse];
    assert.equal(first.status, 200, name);
    assertBuffered(first, name);
    assert.equal(first.headers['content-length'], '5', name);
    assert.equal(first.body.toString(), 'hello', name);
    assert.equal(second.body.toString(), 'after', name);
  }
});

// -- B6: HEAD --------------------------------------------------------------------------------

test('HEAD on a buffered generator: the generator runs, GET length, no body (B6)', async (t) => {
  const runs: string[] = [];
  const server = await start(t, {
    gen: exposed(function* ({ request }: Context) {
      try {
        yield 'hello ';
        yield 'wörld';
      } finally {
        runs.push(request.method);
      }
    }),
    agen: exposed(async function* ({ request, response }: Context) {
      response.headers.set('X-Method', request.method);
      yield Buffer.alloc(1000, 0x7a);
    }),
  });
  const r = await rawRequest(server.port, [
    rawReq(server.port, 'HEAD', '/gen', { keepAlive: true }),
    rawReq(server.port, 'GET', '/gen', { keepAlive: true }),
    rawReq(server.port, 'HEAD', '/agen', { keepAlive: true }),
    rawReq(server.port, 'GET', '/agen'),
  ]);
  assert.equal(r.responses.length, 4, r.text);
  const [headGen, getGen, headAgen, getAgen] = r.responses as [ParsedResponse, ParsedResponse, ParsedResponse, ParsedResponse];
  assert.deepEqual(runs, ['HEAD', 'GET']);
  const len = String(Buffer.byteLength('hello wörld'));
  assert.equal(headGen.headers['content-length'], len);
  assert.equal(getGen.headers['content-length'], len);
  assert.equal(headGen.body.length, 0);
  assert.ok(!headerNames(headGen).includes('transfer-encoding'));
  assert.equal(getGen.body.toString(), 'hello wörld');
  assert.equal(headAgen.headers['content-length'], '1000');
  assert.equal(headAgen.headers['x-method'], 'HEAD');
  assert.equal(getAgen.body.length, 1000);
  // Raw bytes: each HEAD response is followed directly by the next status line.
  const text = r.text;
  const second = text.indexOf('HTTP/1.1', 1);
  assert.equal(second, headGen.head.length);
  const fourthStart = text.lastIndexOf('HTTP/1.1 200');
  const thirdStart = text.lastIndexOf('HTTP/1.1 200', fourthStart - 1);
  assert.equal(fourthStart - thirdStart, headAgen.head.length);
});
