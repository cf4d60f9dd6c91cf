// The Request a handler sees: method, path, protocol, target forms, headers,
// query and params (urlencoded and multipart bodies, uploads spooled to disk),
// null-prototype params, body readers, cookies, request.signal, bad targets,
// and the request body limit — all over real sockets on 127.0.0.1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { existsSync } from 'node:fs';
import { exposed, json, UploadedFile, type Context } from '../src/index.js';
import { rawRequest, type ParsedResponse } from '../src/testing.js';
import { deferred, waitFor, within } from './helpers/async.js';
import { exchange, rawReq } from './helpers/http.js';
import { get, start } from './helpers/server.js';
import { lateReaders } from './helpers/late-body.js';

// -- helpers ----------------------------------------------------------------


function bodyJson(res: ParsedResponse): any {
  return JSON.parse(res.body.toString('utf8'));
}

/** Everything about the request, as JSON. */
function describeRequest({ request, params, args }: Context) {
  return json({
    method: request.method,
    path: request.path,
    target: request.target,
    protocol: request.protocol,
    headers: request.headers,
    query: { ...request.query },
    params: { ...params },
    args,
  });
}

const BOUNDARY = 'drupeReqTestBoundary42';
type Part = { name: string; value: string | Buffer; filename?: string; type?: string };
function multipart(parts: Part[]): Buffer {
  const pieces: Buffer[] = [];
  for (const p of parts) {
    const disp = `form-data; name="${p.name}"${p.filename === undefined ? '' : `; filename="${p.filename}"`}`;
    pieces.push(Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: ${disp}\r\n${p.type ? `Content-Type: ${p.type}\r\n` : ''}\r\n`, 'utf8'));
    pieces.push(Buffer.isBuffer(p.value) ? p.value : Buffer.from(p.value, 'utf8'));
    pieces.push(Buffer.from('\r\n'));
  }
  pieces.push(Buffer.from(`--${BOUNDARY}--\r\n`));
  return Buffer.concat(pieces);
}
const MULTIPART_TYPE = `multipart/form-data; boundary=${BOUNDARY}`;

function assertNoPollution(): void {
  const probe = {} as Record<string, unknown>;
  for (const key of ['x', 'polluted', 'p']) {
    assert.equal(probe[key], undefined, `Object.prototype.${key} was polluted`);
    assert.equal(Object.prototype.hasOwnProperty.call(Object.prototype, key), false);
  }
}

// -- method, path, protocol, target ------------------------------------------

test('method, path, query and lower-cased headers reach the handler', async (t) => {
  const server = await start(t, { echo: exposed(describeRequest) });
  const res = await exchange(server.port, rawReq(server.port, 'GET', '/echo?a=1&b=two', { headers: { 'X-Custom-Thing': 'Some Value', ACCEPT: 'text/plain' } }));
  assert.equal(res.status, 200);
  assert.equal(res.headers['content-type'], 'application/json');
  const got = bodyJson(res);
  assert.equal(got.method, 'GET');
  assert.equal(got.path, '/echo');
  assert.equal(got.target, '/echo?a=1&b=two');
  assert.equal(got.protocol, 'HTTP/1.1');
  assert.equal(got.headers['x-custom-thing'], 'Some Value');
  assert.equal(got.headers.accept, 'text/plain');
  assert.equal(got.headers['X-Custom-Thing'], undefined);
  for (const name of Object.keys(got.headers)) assert.equal(name, name.toLowerCase());
  assert.deepEqual(got.query, { a: '1', b: 'two' });
});

test('every method name is passed through as sent', async (t) => {
  const server = await start(t, { echo: exposed(describeRequest) });
  for (const method of ['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'PURGE']) {
    const res = await exchange(server.port, rawReq(server.port, method, '/echo'));
    assert.equal(res.status, 200, method);
    assert.equal(bodyJson(res).method, method);
  }
});

test('the path stays percent-encoded as sent; args are decoded, %2F stays inside one argument', async (t) => {
  const server = await start(t, { default: exposed(describeRequest) });
  const res = await exchange(server.port, rawReq(server.port, 'GET', '/caf%C3%A9/a%2Fb/x%20y?q=%C3%A9'));
  assert.equal(res.status, 200);
  const got = bodyJson(res);
  assert.equal(got.path, '/caf%C3%A9/a%2Fb/x%20y');
  assert.deepEqual(got.args, ['café', 'a/b', 'x y']);
  assert.deepEqual(got.query, { q: 'é' });
});

test("protocol is 'HTTP/1.0' for an HTTP/1.0 request, and the connection then closes", async (t) => {
  const server = await start(t, { echo: exposed(describeRequest) });
  const res = await exchange(server.port, rawReq(server.port, 'GET', '/echo', { version: '1.0' }));
  assert.equal(res.status, 200);
  assert.equal(bodyJson(res).protocol, 'HTTP/1.0');
  assert.equal(res.raw.closedByServer, true);
  assert.equal(res.headers['transfer-encoding'], undefined);
  assert.equal(Number(res.headers['content-length']), res.body.length);
});

test('an absolute-form target dispatches on its path only; the authority is ignored', async (t) => {
  let hits = 0;
  const server = await start(t, {
    x: exposed((ctx: Context) => { hits++; return describeRequest(ctx); }),
    index: exposed(() => 'root index'),
  });
  const res = await exchange(server.port, rawReq(server.port, 'GET', 'http://evil.example/x?a=1'));
  assert.equal(res.status, 200);
  assert.equal(hits, 1);
  const got = bodyJson(res);
  assert.equal(got.path, '/x');
  assert.equal(got.target, 'http://evil.example/x?a=1');
  assert.deepEqual(got.query, { a: '1' });
  assert.equal(got.headers.host, `127.0.0.1:${server.port}`);

  // No path at all: the root.
  const root = await exchange(server.port, rawReq(server.port, 'GET', 'http://evil.example'));
  assert.equal(root.status, 200);
  assert.equal(root.body.toString(), 'root index');
  assert.ok(!root.head.toLowerCase().includes('evil.example'));
});

test('a fragment sent in the target is dropped, a later ? stays in the query; short and long targets alike', async (t) => {
  const server = await start(t, { echo: exposed(describeRequest) });
  const long = 'x'.repeat(80); // past the length where the target is split by builtin searches instead of one pass
  for (const pad of ['', `&pad=${long}`]) {
    const cases: Array<[string, string, Record<string, string>]> = [
      [`/echo?a=1${pad}#frag`, '/echo', { a: '1', ...(pad ? { pad: long } : {}) }],
      [`/echo#frag?a=1${pad}`, '/echo', {}],
      [`/echo?a=1?b${pad}`, '/echo', { a: '1?b', ...(pad ? { pad: long } : {}) }],
      [`/echo?a=1${pad}#x?b=2`, '/echo', { a: '1', ...(pad ? { pad: long } : {}) }],
    ];
    for (const [target, path, query] of cases) {
      const res = await exchange(server.port, rawReq(server.port, 'GET', target));
      assert.equal(res.status, 200, target);
      const got = bodyJson(res);
      assert.equal(got.path, path, target);
      assert.deepEqual(got.query, query, target);
    }
  }
  // A long path with a fragment and no query.
  const res = await exchange(server.port, rawReq(server.port, 'GET', `/echo#${long}?a=1`));
  assert.equal(res.status, 200);
  assert.deepEqual(bodyJson(res).query, {});
});

// -- query and params ----------------------------------------------------------

test('query and params: repeated keys become arrays, + and %XX decode, bare keys are empty strings', async (t) => {
  const server = await start(t, { echo: exposed(describeRequest) });
  const res = await exchange(server.port, rawReq(server.port, 'GET', '/echo?a=1&b=2&a=3&a=4&s=hello+world&e=%E2%82%AC&bare&empty='));
  assert.equal(res.status, 200);
  const got = bodyJson(res);
  const expected = { a: ['1', '3', '4'], b: '2', s: 'hello world', e: '€', bare: '', empty: '' };
  assert.deepEqual(got.query, expected);
  assert.deepEqual(got.params, expected);
});

test('a urlencoded POST body is merged into params after the query; query keeps only the query', async (t) => {
  const server = await start(t, { echo: exposed(describeRequest) });
  const res = await exchange(server.port, rawReq(server.port, 'POST', '/echo?a=1&q=only', {
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: 'a=2&b=x+y&b=%C3%A9&c=',
  }));
  assert.equal(res.status, 200);
  const got = bodyJson(res);
  assert.deepEqual(got.query, { a: '1', q: 'only' });
  assert.deepEqual(got.params, { a: ['1', '2'], q: 'only', b: ['x y', 'é'], c: '' });
});

test('a urlencoded body can be read by fetch-style clients too (charset parameter on the type)', async (t) => {
  const server = await start(t, { echo: exposed(describeRequest) });
  const res = await get(server.url + '/echo', { method: 'POST', body: new URLSearchParams({ name: 'Ann', city: 'Zürich' }) });
  assert.equal(res.status, 200);
  assert.deepEqual(JSON.parse(res.text).params, { name: 'Ann', city: 'Zürich' });
});

test('multipart POST: fields in params, files as UploadedFile with filename, size and text()', async (t) => {
  let seen: Record<string, unknown> = {};
  const server = await start(t, {
    upload: exposed(async ({ params }: Context) => {
      const doc = params.doc;
      assert.ok(doc instanceof UploadedFile);
      const pics = params.pic;
      assert.ok(Array.isArray(pics));
      seen = {
        title: params.title,
        tag: params.tag,
        q: params.q,
        doc: { name: doc.name, filename: doc.filename, size: doc.size, type: doc.type, text: await doc.text(), inMemory: doc.path === undefined },
        pics: await Promise.all(pics.map(async (p) => (p instanceof UploadedFile ? [p.filename, p.size, (await p.bytes()).toString('hex')] : p))),
      };
      return 'ok';
    }),
  });
  const body = multipart([
    { name: 'title', value: 'Héllo' },
    { name: 'tag', value: 'a' },
    { name: 'doc', value: 'line one\nline two ñ\n', filename: 'notes.txt', type: 'text/markdown' },
    { name: 'tag', value: 'b' },
    { name: 'pic', value: Buffer.from([0, 1, 2, 255]), filename: 'a.bin', type: 'application/octet-stream' },
    { name: 'pic', value: Buffer.from([9]), filename: 'b.bin' },
  ]);
  const res = await exchange(server.port, rawReq(server.port, 'POST', '/upload?q=1', { headers: { 'Content-Type': MULTIPART_TYPE }, body }));
  assert.equal(res.status, 200, res.body.toString());
  assert.equal(res.body.toString(), 'ok');
  assert.deepEqual(seen, {
    title: 'Héllo',
    tag: ['a', 'b'],
    q: '1',
    doc: { name: 'doc', filename: 'notes.txt', size: Buffer.byteLength('line one\nline two ñ\n'), type: 'text/markdown', text: 'line one\nline two ñ\n', inMemory: true },
    pics: [['a.bin', 4, '000102ff'], ['b.bin', 1, '09']],
  });
});

test('an upload over request.spool_threshold is spooled to disk and the temp file is removed after the request', async (t) => {
  const big = Buffer.alloc(200_000);
  for (let i = 0; i < big.length; i++) big[i] = (i * 7 + 3) & 0xff;
  let tempPath: string | undefined;
  let existedDuringHandler = false;
  let sameBytes = false;
  const server = await start(t, {
    upload: exposed(async ({ params }: Context) => {
      const f = params.big;
      assert.ok(f instanceof UploadedFile);
      tempPath = f.path;
      existedDuringHandler = f.path !== undefined && existsSync(f.path);
      sameBytes = (await f.bytes()).equals(big);
      return `${f.filename} ${f.size}`;
    }, { 'request.spool_threshold': 1024 }),
  });
  const body = multipart([{ name: 'x', value: '1' }, { name: 'big', value: big, filename: 'big.bin' }]);
  const res = await exchange(server.port, rawReq(server.port, 'POST', '/upload', { headers: { 'Content-Type': MULTIPART_TYPE }, body }));
  assert.equal(res.status, 200, res.body.toString());
  assert.equal(res.body.toString(), `big.bin ${big.length}`);
  assert.ok(tempPath !== undefined, 'the upload was spooled to a temp file');
  assert.equal(existedDuringHandler, true);
  assert.equal(sameBytes, true);
  const path = tempPath;
  await waitFor(() => !existsSync(path), 'the temp file to be removed');
});

test('the spooled temp file is removed when the handler throws, too', async (t) => {
  let tempPath: string | undefined;
  const server = await start(t, {
    upload: exposed(({ params }: Context) => {
      tempPath = (params.big as UploadedFile).path;
      throw new Error('handler failed after the upload');
    }, { 'request.spool_threshold': 100 }),
  }, {}, { 'log.screen': false });
  const body = multipart([{ name: 'big', value: Buffer.alloc(5000, 1), filename: 'big.bin' }]);
  const res = await exchange(server.port, rawReq(server.port, 'POST', '/upload', { headers: { 'Content-Type': MULTIPART_TYPE }, body }));
  assert.equal(res.status, 500);
  assert.ok(tempPath !== undefined);
  const path = tempPath;
  await waitFor(() => !existsSync(path), 'the temp file to be removed');
});

// -- null-prototype params ----------------------------------------------------------

test('params and query have no prototype; __proto__ / constructor keys never touch Object.prototype', async (t) => {
  let info: Record<string, unknown> = {};
  const server = await start(t, {
    p: exposed(({ request, params }: Context) => {
      info = {
        paramsProto: Object.getPrototypeOf(params),
        queryProto: Object.getPrototypeOf(request.query),
        keys: Object.keys(params).sort(),
        own__proto__: Object.prototype.hasOwnProperty.call(params, '__proto__') ? params['__proto__'] : '(none)',
        bracket: params['__proto__[x]'],
        ctor: params['constructor[prototype][x]'],
        constructorValue: params['constructor'],
        toStringValue: params['toString'],
      };
      return 'ok';
    }),
  });
  const res = await exchange(server.port, rawReq(server.port, 'GET', '/p?__proto__[x]=1&constructor[prototype][x]=1&__proto__=x&__proto__%5Bpolluted%5D=1&toString=t'));
  assert.equal(res.status, 200, res.body.toString());
  assert.equal(info.paramsProto, null);
  assert.equal(info.queryProto, null);
  assert.equal(info.own__proto__, 'x');
  assert.equal(info.bracket, '1');
  assert.equal(info.ctor, '1');
  assert.equal(info.constructorValue, undefined);
  assert.equal(info.toStringValue, 't');
  assert.deepEqual(info.keys, ['__proto__', '__proto__[polluted]', '__proto__[x]', 'constructor[prototype][x]', 'toString'].sort());
  assertNoPollution();
});

test('__proto__ keys in urlencoded and multipart bodies stay plain keys', async (t) => {
  const seen: unknown[] = [];
  const server = await start(t, {
    p: exposed(({ params }: Context) => {
      seen.push(Object.getPrototypeOf(params), params['__proto__'], params['constructor[prototype][p]']);
      return 'ok';
    }),
  });
  const form = await exchange(server.port, rawReq(server.port, 'POST', '/p', {
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: '__proto__=a&__proto__[p]=1&constructor[prototype][p]=2',
  }));
  assert.equal(form.status, 200);
  const mp = await exchange(server.port, rawReq(server.port, 'POST', '/p', {
    headers: { 'Content-Type': MULTIPART_TYPE },
    body: multipart([{ name: '__proto__', value: 'b' }, { name: 'constructor[prototype][p]', value: '3' }]),
  }));
  assert.equal(mp.status, 200);
  assert.deepEqual(seen, [null, 'a', '2', null, 'b', '3']);
  assertNoPollution();
});

// -- body readers ----------------------------------------------------------------

test('text() decodes by the request charset (UTF-8 by default)', async (t) => {
  const server = await start(t, { t: exposed(async ({ request }: Context) => json(await request.text())) });
  const utf8 = await exchange(server.port, rawReq(server.port, 'POST', '/t', { headers: { 'Content-Type': 'text/plain' }, body: 'héllo ✓' }));
  assert.equal(bodyJson(utf8), 'héllo ✓');
  const latin1 = await exchange(server.port, rawReq(server.port, 'POST', '/t', { headers: { 'Content-Type': 'text/plain; charset=ISO-8859-1' }, body: Buffer.from([0x63, 0x61, 0x66, 0xe9]) }));
  assert.equal(bodyJson(latin1), 'café');
  const none = await exchange(server.port, rawReq(server.port, 'POST', '/t'));
  assert.equal(bodyJson(none), '');
});

test('json() parses the body; invalid JSON is a 400 and the handler does not get to answer', async (t) => {
  let after = 0;
  const server = await start(t, {
    j: exposed(async ({ request }: Context) => {
      const v = await request.json();
      after++;
      return json({ got: v });
    }),
  });
  const ok = await exchange(server.port, rawReq(server.port, 'POST', '/j', { headers: { 'Content-Type': 'application/json' }, body: '{"a":[1,2],"s":"é"}' }));
  assert.equal(ok.status, 200);
  assert.deepEqual(bodyJson(ok), { got: { a: [1, 2], s: 'é' } });
  for (const bad of ['{"a":', 'not json', '', "{'a':1}"]) {
    const res = await exchange(server.port, rawReq(server.port, 'POST', '/j', { headers: { 'Content-Type': 'application/json' }, body: bad }));
    assert.equal(res.status, 400, `body ${JSON.stringify(bad)}`);
    assert.match(res.body.toString(), /Invalid JSON/);
  }
  assert.equal(after, 1);
});

test('json() bodies with __proto__ keys do not pollute Object.prototype', async (t) => {
  const server = await start(t, {
    j: exposed(async ({ request }: Context) => {
      const v = (await request.json()) as Record<string, unknown>;
      return json({ protoIsObject: Object.getPrototypeOf(v) === Object.prototype, own: Object.keys(v) });
    }),
  });
  const res = await exchange(server.port, rawReq(server.port, 'POST', '/j', {
    headers: { 'Content-Type': 'application/json' },
    body: '{"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":1}}}',
  }));
  assert.equal(res.status, 200);
  assert.deepEqual(bodyJson(res), { protoIsObject: true, own: ['__proto__', 'constructor'] });
  assertNoPollution();
});

test('bytes() gives the exact body, every byte value, also when sent chunked', async (t) => {
  const all = Buffer.alloc(256 * 4);
  for (let i = 0; i < all.length; i++) all[i] = i & 0xff;
  const server = await start(t, {
    b: exposed(async ({ request, response }: Context) => {
      const buf = await request.bytes();
      const again = await request.bytes(); // read once, the same answer twice
      assert.equal(buf, again);
      response.headers.set('Content-Type', 'application/octet-stream');
      return buf;
    }),
  });
  const plain = await exchange(server.port, rawReq(server.port, 'POST', '/b', { body: all }));
  assert.equal(plain.status, 200);
  assert.ok(plain.body.equals(all));
  const chunkedBody = Buffer.concat([
    Buffer.from('200\r\n'), all.subarray(0, 0x200), Buffer.from('\r\n'),
    Buffer.from('200\r\n'), all.subarray(0x200), Buffer.from('\r\n'),
    Buffer.from('0\r\n\r\n'),
  ]);
  const chunked = await exchange(server.port, rawReq(server.port, 'POST', '/b', { headers: { 'Transfer-Encoding': 'chunked' }, body: chunkedBody }));
  assert.equal(chunked.status, 200);
  assert.ok(chunked.body.equals(all));
});

// -- cookies ---------------------------------------------------------------------

test('cookies: the Cookie header is parsed (first of a repeated name wins, quotes and %XX decoded, no prototype)', async (t) => {
  const server = await start(t, {
    c: exposed(({ request }: Context) => json({
      proto: Object.getPrototypeOf(request.cookies),
      cookies: { ...request.cookies },
      own: Object.prototype.hasOwnProperty.call(request.cookies, '__proto__'),
    })),
  });
  const res = await exchange(server.port, rawReq(server.port, 'GET', '/c', { headers: { Cookie: 'a=1; b=hello%20world; c="quoted"; a=2;  spaced = v ;novalue; __proto__=x; bad=%zz' } }));
  assert.equal(res.status, 200);
  const got = bodyJson(res);
  assert.equal(got.proto, null);
  assert.equal(got.own, true);
  assert.deepEqual(got.cookies, { a: '1', b: 'hello world', c: 'quoted', spaced: 'v', ['__proto__']: 'x', bad: '%zz' });
  const none = await exchange(server.port, rawReq(server.port, 'GET', '/c'));
  assert.deepEqual(bodyJson(none).cookies, {});
  assertNoPollution();
});

// -- signal ----------------------------------------------------------------------

test("request.signal aborts with 'DRUPE_CLIENT_CLOSED' when the client disconnects mid-handler", async (t) => {
  const started = deferred<void>();
  const aborted = deferred<unknown>();
  let abortedBefore: boolean | undefined;
  const server = await start(t, {
    slow: exposed(async ({ request }: Context) => {
      const signal = request.signal;
      abortedBefore = signal.aborted;
      const reason = new Promise<unknown>((resolve) => signal.addEventListener('abort', () => resolve(signal.reason), { once: true }));
      started.resolve();
      aborted.resolve(await reason);
      return 'nobody is listening';
    }),
  });
  const socket = net.connect({ port: server.port, host: '127.0.0.1' });
  socket.on('error', () => undefined);
  t.after(() => socket.destroy());
  socket.write(rawReq(server.port, 'GET', '/slow'));
  await within(started.promise, 'the handler to start');
  socket.destroy();
  const reason = await within(aborted.promise, 'request.signal to abort');
  assert.equal(abortedBefore, false);
  assert.ok(reason instanceof Error);
  assert.equal((reason as Error & { code?: string }).code, 'DRUPE_CLIENT_CLOSED');
  assert.equal((reason as Error).name, 'AbortError');
});

test('request.signal first read after the client already left is aborted', async (t) => {
  const started = deferred<void>();
  const result = deferred<{ aborted: boolean; code: unknown }>();
  const server = await start(t, {
    late: exposed(async ({ request }: Context) => {
      const socketClosed = new Promise<void>((resolve) => request.raw.socket.once('close', () => resolve()));
      started.resolve();
      await socketClosed;
      await new Promise((r) => setImmediate(r));
      const signal = request.signal; // first touched only now
      result.resolve({ aborted: signal.aborted, code: (signal.reason as { code?: unknown } | undefined)?.code });
      return 'late';
    }),
  });
  const socket = net.connect({ port: server.port, host: '127.0.0.1' });
  socket.on('error', () => undefined);
  t.after(() => socket.destroy());
  socket.write(rawReq(server.port, 'GET', '/late'));
  await within(started.promise, 'the handler to start');
  socket.destroy();
  assert.deepEqual(await within(result.promise, 'the handler to look at its signal'), { aborted: true, code: 'DRUPE_CLIENT_CLOSED' });
});

test('a client that disconnects mid-body: text() rejects, the signal aborts, the server goes on', async (t) => {
  const started = deferred<void>();
  const outcome = deferred<{ error: string; aborted: boolean }>();
  const server = await start(t, {
    read: exposed(async ({ request }: Context) => {
      const signal = request.signal;
      started.resolve();
      try {
        await request.text();
        outcome.resolve({ error: 'none', aborted: signal.aborted });
      } catch (err) {
        if (!signal.aborted) await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
        outcome.resolve({ error: (err as Error).name, aborted: signal.aborted });
        throw err;
      }
      return 'unreachable';
    }),
    ok: exposed(() => 'still serving'),
  }, {}, { 'log.screen': false });
  const socket = net.connect({ port: server.port, host: '127.0.0.1' });
  socket.on('error', () => undefined);
  t.after(() => socket.destroy());
  socket.write(rawReq(server.port, 'POST', '/read', { headers: { 'Content-Length': '1000', 'Content-Type': 'text/plain' }, body: 'only a little' }));
  await within(started.promise, 'the handler to start');
  socket.destroy();
  assert.deepEqual(await within(outcome.promise, 'text() to settle'), { error: 'ClientGoneError', aborted: true });
  const res = await exchange(server.port, rawReq(server.port, 'GET', '/ok'));
  assert.equal(res.body.toString(), 'still serving');
});

test('a body read only after the client left settles at once: bytes() and stream() reject with ClientGoneError, nothing waits forever', async (t) => {
  const late = lateReaders();
  const server = await start(t, {
    ...late.root,
    ok: exposed(() => 'still serving'),
  }, {}, { 'log.screen': false });
  for (const [i, path] of ['/bytes', '/stream'].entries()) {
    const socket = net.connect({ port: server.port, host: '127.0.0.1' });
    socket.on('error', () => undefined);
    t.after(() => socket.destroy());
    socket.write(rawReq(server.port, 'POST', path, { headers: { 'Content-Length': '1000', 'Content-Type': 'text/plain' }, body: 'only a little' }));
    await waitFor(() => late.started() === i + 1, `the handler of ${path} to start`);
    socket.destroy();
  }
  await waitFor(() => Object.keys(late.outcomes).length === 2, 'both late readers to settle');
  assert.deepEqual(late.outcomes, { bytes: 'ClientGoneError', stream: 'ClientGoneError' });
  const res = await exchange(server.port, rawReq(server.port, 'GET', '/ok'));
  assert.equal(res.body.toString(), 'still serving');
});

test('request.signal does not abort when the response completes normally', async (t) => {
  let signal: AbortSignal | undefined;
  const server = await start(t, {
    fine: exposed(({ request }: Context) => {
      signal = request.signal;
      return 'done';
    }),
  });
  const r = await rawRequest(server.port, [rawReq(server.port, 'GET', '/fine', { keepAlive: true }), rawReq(server.port, 'GET', '/fine', { headers: { Connection: 'close' } })]);
  assert.equal(r.responses.length, 2);
  assert.ok(signal !== undefined);
  assert.equal(signal.aborted, false);
});

// -- bad targets ------------------------------------------------------------------

test('invalid percent-encoding or invalid UTF-8 in the path → 400 with a reason, never 500', async (t) => {
  let calls = 0;
  const server = await start(t, { default: exposed(() => { calls++; return 'reached'; }) });
  for (const target of ['/%zz', '/a/%E0%A4%A', '/%C3%28', '/%FF', '/%', '/ok/%ED%A0%80', '/%C0%AF']) {
    const res = await exchange(server.port, rawReq(server.port, 'GET', target));
    assert.equal(res.status, 400, target);
    assert.match(res.body.toString(), /Invalid percent-encoding in path/, target);
    assert.ok(!/Traceback|at .*\.js/.test(res.body.toString()), `no stack for ${target}`);
  }
  assert.equal(calls, 0);
});

test('invalid percent-encoding or invalid UTF-8 in the query → 400 with a reason, even when the handler ignores the query', async (t) => {
  let calls = 0;
  const server = await start(t, { q: exposed(() => { calls++; return 'reached'; }) });
  for (const target of ['/q?a=%zz', '/q?a=%E0%A4%A', '/q?a=%C3%28', '/q?%FF=1', '/q?a=1&b=%', '/q?x=%ED%A0%80']) {
    const res = await exchange(server.port, rawReq(server.port, 'GET', target));
    assert.equal(res.status, 400, target);
    assert.match(res.body.toString(), /Invalid percent-encoding in query string/, target);
  }
  assert.equal(calls, 0);
  // The connection survives a 400 of this kind: nothing was wrong with the framing.
  const r = await rawRequest(server.port, [rawReq(server.port, 'GET', '/q?a=%zz', { keepAlive: true }), rawReq(server.port, 'GET', '/q?a=1')]);
  assert.deepEqual(r.responses.map((x) => x.status), [400, 200]);
});

test('invalid percent-encoding in a urlencoded body → 400', async (t) => {
  const server = await start(t, { f: exposed(() => 'reached') });
  const res = await exchange(server.port, rawReq(server.port, 'POST', '/f', { headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'a=%C3%28' }));
  assert.equal(res.status, 400);
  assert.match(res.body.toString(), /Invalid percent-encoding in form body/);
});

// -- body size limit -------------------------------------------------------------------

test('server.max_request_body_size: reading a chunked body past it → 413 with Connection: close', async (t) => {
  let bodyRead: string | undefined;
  const server = await start(t, {
    read: exposed(async ({ request }: Context) => {
      bodyRead = await request.text();
      return `read ${bodyRead.length}`;
    }),
  }, { '/': { 'server.max_request_body_size': 100 } });
  const chunk = (s: string): string => `${s.length.toString(16)}\r\n${s}\r\n`;
  const over = await rawRequest(server.port, rawReq(server.port, 'POST', '/read', {
    keepAlive: true,
    headers: { 'Transfer-Encoding': 'chunked', 'Content-Type': 'text/plain' },
    body: chunk('x'.repeat(60)) + chunk('y'.repeat(60)) + '0\r\n\r\n',
  }));
  assert.equal(over.responses.length, 1);
  assert.equal(over.responses[0]!.status, 413);
  assert.equal(over.responses[0]!.headers.connection, 'close');
  assert.match(over.responses[0]!.body.toString(), /too large/i);
  assert.equal(over.closedByServer, true);
  assert.equal(bodyRead, undefined);

  // At the limit exactly: fine.
  const at = await exchange(server.port, rawReq(server.port, 'POST', '/read', {
    headers: { 'Transfer-Encoding': 'chunked', 'Content-Type': 'text/plain' },
    body: chunk('x'.repeat(60)) + chunk('y'.repeat(40)) + '0\r\n\r\n',
  }));
  assert.equal(at.status, 200);
  assert.equal(at.body.toString(), 'read 100');
});

test('server.max_request_body_size: a declared length past it → 413 before the handler runs', async (t) => {
  let calls = 0;
  const server = await start(t, {
    read: exposed(async ({ request }: Context) => { calls++; return request.text(); }),
  }, { '/': { 'server.max_request_body_size': 100 } });
  const r = await rawRequest(server.port, rawReq(server.port, 'POST', '/read', { keepAlive: true, headers: { 'Content-Type': 'text/plain' }, body: 'z'.repeat(101) }));
  assert.equal(r.responses.length, 1);
  assert.equal(r.responses[0]!.status, 413);
  assert.equal(r.responses[0]!.headers.connection, 'close');
  assert.equal(r.closedByServer, true);
  assert.equal(calls, 0);
});

test('server.max_request_body_size also bounds form bodies read into params', async (t) => {
  let calls = 0;
  const server = await start(t, {
    form: exposed(() => { calls++; return 'reached'; }),
  }, { '/': { 'server.max_request_body_size': 50 } });
  const r = await rawRequest(server.port, rawReq(server.port, 'POST', '/form', {
    keepAlive: true,
    headers: { 'Transfer-Encoding': 'chunked', 'Content-Type': 'application/x-www-form-urlencoded' },
    body: `40\r\n${'a=1&'.repeat(16)}\r\n0\r\n\r\n`,
  }));
  assert.equal(r.responses.length, 1);
  assert.equal(r.responses[0]!.status, 413);
  assert.equal(r.responses[0]!.headers.connection, 'close');
  assert.equal(r.closedByServer, true);
  assert.equal(calls, 0);
});
