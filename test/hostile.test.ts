// Hostile input and faults (docs/security.md, items 1–17 and 23): each item
// is a test over a raw socket to 127.0.0.1, checking the answer a trusted
// server gives. Node's parser (llhttp) already rejects much of this; these
// tests prove Drupe did not undo that and covers the rest.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { exposed, HTTPRedirect, type Config, type Context } from '../src/index.js';
import { rawRequest, streamRequest, type RawResult } from '../src/testing.js';
import { assertRefused } from './helpers/http.js';
import { startApp, type TestServer } from './helpers/server.js';

/** A hang guard, never a timing assertion. */
const GUARD_MS = 10_000;

function get(path: string, extra = ''): string {
  return `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${extra}\r\n`;
}

/** A request that asks the server to close after answering, so the client needs no idle wait. */
function getOnce(path: string): string {
  return get(path, 'Connection: close\r\n');
}

function post(path: string, headers: Record<string, string>, body: string | Buffer): Buffer {
  const lines = [`POST ${path} HTTP/1.1`, 'Host: 127.0.0.1'];
  for (const [n, v] of Object.entries(headers)) lines.push(`${n}: ${v}`);
  return Buffer.concat([Buffer.from(lines.join('\r\n') + '\r\n\r\n', 'latin1'), typeof body === 'string' ? Buffer.from(body, 'latin1') : body]);
}

/** A POST that asks the server to close after answering. */
function postOnce(path: string, headers: Record<string, string>, body: string | Buffer): Buffer {
  return post(path, { ...headers, Connection: 'close' }, body);
}

/** An answer that is neither a success nor a server error, and never a hang. */
function assertClientError(res: RawResult, what: string): void {
  assert.equal(res.timedOut, false, `${what}: no hang`);
  assert.ok(res.responses.length >= 1, `${what}: an answer, got ${JSON.stringify(res.text.slice(0, 300))}`);
  for (const r of res.responses) {
    assert.ok(r.status >= 400 && r.status < 500, `${what}: 4xx, got ${r.status}`);
  }
}

/** The server is still up and serving after the abuse. */
async function assertAlive(server: TestServer): Promise<void> {
  const res = await rawRequest(server.port, getOnce('/alive'));
  assert.equal(res.responses[0]?.status, 200);
  assert.equal(res.responses[0]?.body.toString(), 'alive');
}

/** A tree that records every handler call, for "the handler never ran". */
function recordingTree(calls: string[]) {
  return {
    index: exposed(async ({ request }: Context) => {
      calls.push(`${request.method} ${request.path}`);
      const body = await request.text();
      return `read ${body.length}`;
    }),
    smuggled: exposed(({ request }: Context) => {
      calls.push(`${request.method} ${request.path}`);
      return 'smuggled!';
    }),
    alive: exposed(() => 'alive'),
  };
}

const QUIET: Config = { 'log.screen': false };

// ---------------------------------------------------------------------------
// Request framing and headers

test('HOSTILE 1: Content-Length with Transfer-Encoding, or a disguised Transfer-Encoding → 400, Connection: close, handler never called', async (t) => {
  const calls: string[] = [];
  const server = await startApp(recordingTree(calls), {}, QUIET);
  t.after(() => server.close());
  const cases: Record<string, Buffer> = {
    'CL + TE': post('/', { 'Content-Length': '5', 'Transfer-Encoding': 'chunked' }, '0\r\n\r\n'),
    'TE + CL': post('/', { 'Transfer-Encoding': 'chunked', 'Content-Length': '3' }, '0\r\n\r\n'),
    'chunked-false': post('/', { 'Transfer-Encoding': 'chunked-false' }, '5\r\nhello\r\n0\r\n\r\n'),
    'eee, chunked': post('/', { 'Transfer-Encoding': 'eee, chunked' }, '5\r\nhello\r\n0\r\n\r\n'),
    'chunked twice': Buffer.from('POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'),
    'two lengths': Buffer.from('POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!'),
  };
  for (const [what, bytes] of Object.entries(cases)) {
    const res = await rawRequest(server.port, bytes);
    assertRefused(res, 400, what);
  }
  assert.deepEqual(calls, [], 'no handler ran');
  await assertAlive(server);
});

test('HOSTILE 1: Transfer-Encoding gzip → one answer, no crash, no success', async (t) => {
  const calls: string[] = [];
  const server = await startApp(recordingTree(calls), {}, QUIET);
  t.after(() => server.close());
  for (const te of ['gzip', 'gzip, chunked', 'chunked, gzip']) {
    const body = te.endsWith('chunked') ? '5\r\nhello\r\n0\r\n\r\n' : 'hello';
    const res = await rawRequest(server.port, post('/', { 'Transfer-Encoding': te }, body));
    assertRefused(res, 400, te);
  }
  await assertAlive(server);
});

test('HOSTILE 2: space before the colon, obs-fold, bare CR or LF, \\r\\n\\rX → 400', async (t) => {
  const calls: string[] = [];
  const server = await startApp(recordingTree(calls), {}, QUIET);
  t.after(() => server.close());
  const cases: Record<string, string> = {
    'space before colon': 'GET / HTTP/1.1\r\nHost : 127.0.0.1\r\n\r\n',
    'space before colon (CL)': 'POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length : 5\r\n\r\nhello',
    'obs-fold': 'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-A: a\r\n  folded\r\n\r\n',
    'obs-fold (tab)': 'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-A: a\r\n\tfolded\r\n\r\n',
    'bare CR': 'GET / HTTP/1.1\r\nHost: 127.0.0.1\rX-A: b\r\n\r\n',
    'bare LF in a header': 'GET / HTTP/1.1\r\nHost: 127.0.0.1\nX-A: b\r\n\r\n',
    'bare LF everywhere': 'GET / HTTP/1.1\nHost: 127.0.0.1\n\n',
    '\\r\\n\\rX': 'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\rX',
    'NUL in a value': 'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-A: a\0b\r\n\r\n',
  };
  for (const [what, bytes] of Object.entries(cases)) {
    const res = await rawRequest(server.port, bytes);
    assertRefused(res, 400, what);
  }
  assert.deepEqual(calls, []);
  await assertAlive(server);
});

test('HOSTILE 3: broken chunk framing → 400, and a request smuggled behind it never reaches a handler', async (t) => {
  const calls: string[] = [];
  const server = await startApp(recordingTree(calls), {}, QUIET);
  t.after(() => server.close());
  const smuggled = 'GET /smuggled HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n';
  const cases: Record<string, string> = {
    'size not hex': 'zz\r\nhello\r\n0\r\n\r\n',
    'negative size': '-1\r\nhello\r\n0\r\n\r\n',
    'size overflow': 'fffffffffffffffff1\r\nhello\r\n0\r\n\r\n',
    'data longer than its size': '5\r\nhelloXX\r\n0\r\n\r\n',
    'bare LF framing': '5\nhello\n0\n\n',
    '0x prefix': '0x5\r\nhello\r\n0\r\n\r\n',
  };
  for (const [what, chunks] of Object.entries(cases)) {
    // The handler that reads the body, and one that does not: neither may let the smuggled request through.
    for (const path of ['/', '/alive']) {
      const res = await rawRequest(server.port, post(path, { 'Transfer-Encoding': 'chunked' }, chunks + smuggled));
      assertRefused(res, 400, `${what} (${path})`);
      assert.ok(!res.text.includes('smuggled!'), `${what}: the smuggled request was not answered`);
    }
  }
  assert.ok(!calls.some((c) => c.includes('/smuggled')), `the smuggled request reached no handler: ${JSON.stringify(calls)}`);
  await assertAlive(server);
});

test('HOSTILE 4: header block or URL over the limit → 431; chunk extensions over 16 KiB → 413', async (t) => {
  const calls: string[] = [];
  const server = await startApp(recordingTree(calls), {}, QUIET);
  t.after(() => server.close());
  const big = 'a'.repeat(20 * 1024);
  assertRefused(await rawRequest(server.port, get('/', `X-Big: ${big}\r\n`)), 431, 'one big header');
  assertRefused(await rawRequest(server.port, get('/', Array.from({ length: 400 }, (_, i) => `X-H${i}: ${'b'.repeat(50)}\r\n`).join(''))), 431, 'many headers');
  assertRefused(await rawRequest(server.port, get(`/?q=${big}`)), 431, 'a long URL');
  assertRefused(await rawRequest(server.port, get(`/${big}`)), 431, 'a long path');
  assert.deepEqual(calls, []);
  const ext = post('/', { 'Transfer-Encoding': 'chunked' }, `5;ext=${'e'.repeat(20 * 1024)}\r\nhello\r\n0\r\n\r\n`);
  assertRefused(await rawRequest(server.port, ext), 413, 'chunk extensions');
  await assertAlive(server);
});

test('HOSTILE 4: server.max_header_size lowers the header limit → 431', async (t) => {
  const server = await startApp(recordingTree([]), {}, { ...QUIET, 'server.max_header_size': 2048 });
  t.after(() => server.close());
  assertRefused(await rawRequest(server.port, get('/', `X-Big: ${'a'.repeat(4096)}\r\n`)), 431, 'header over 2 KiB');
  await assertAlive(server);
});

test('HOSTILE 5: a body over server.max_request_body_size → 413, Connection: close, declared or chunked, read or not', async (t) => {
  const calls: string[] = [];
  const tree = { ...recordingTree(calls), ignore: exposed(() => 'did not read') };
  const server = await startApp(tree, {}, { ...QUIET, 'server.max_request_body_size': 64 });
  t.after(() => server.close());
  assertRefused(await rawRequest(server.port, post('/', { 'Content-Length': '65' }, 'x'.repeat(65))), 413, 'declared, read');
  assertRefused(await rawRequest(server.port, post('/ignore', { 'Content-Length': '1000' }, '')), 413, 'declared, not read');
  assert.deepEqual(calls, [], 'a declared length over the limit is refused before the handler');
  const chunked = `40\r\n${'x'.repeat(64)}\r\n1\r\nx\r\n0\r\n\r\n`;
  assertRefused(await rawRequest(server.port, post('/', { 'Transfer-Encoding': 'chunked' }, chunked)), 413, 'chunked, read');
  assertRefused(await rawRequest(server.port, post('/ignore', { 'Transfer-Encoding': 'chunked' }, chunked)), 413, 'chunked, not read');
  await assertAlive(server);
});

test('HOSTILE 6: Expect: 100-continue with a declared length over the limit → 413 without 100 Continue', async (t) => {
  const calls: string[] = [];
  const server = await startApp(recordingTree(calls), {}, { ...QUIET, 'server.max_request_body_size': 64 });
  t.after(() => server.close());
  const res = await rawRequest(server.port, post('/', { 'Content-Length': '1000', Expect: '100-continue' }, ''));
  assertRefused(res, 413, 'expect over the limit');
  assert.ok(!res.text.includes('100 Continue'), 'no 100 Continue was sent');
  assert.deepEqual(calls, []);
  // Under the limit the client is told to go on.
  const ok = await streamRequest(server.port, { method: 'POST', path: '/', body: 'small', headers: { Expect: '100-continue' } });
  assert.equal(ok.interim[0]?.status, 100);
  assert.equal(await ok.text(), 'read 5');
});

test('HOSTILE 7: slow headers, slow body, connect-and-send-nothing → 408 / close', async (t) => {
  const server = await startApp(recordingTree([]), {}, { ...QUIET, 'server.headers_timeout': 1, 'server.request_timeout': 2 });
  t.after(() => server.close());
  const opts = { timeoutMs: GUARD_MS, idleMs: GUARD_MS };
  const cases: Record<string, string | Buffer> = {
    'slow headers': 'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ',
    'slow body': post('/', { 'Content-Length': '100' }, 'partial'),
    'nothing at all': Buffer.alloc(0),
  };
  const results = await Promise.all(Object.values(cases).map((bytes) => rawRequest(server.port, bytes, opts)));
  Object.keys(cases).forEach((what, i) => {
    const res = results[i]!;
    assert.equal(res.timedOut, false, `${what}: cut before the guard`);
    assert.equal(res.closedByServer, true, `${what}: closed`);
    for (const r of res.responses) assert.equal(r.status, 408, `${what}: only a 408 may be sent`);
  });
});

// ---------------------------------------------------------------------------
// URLs, dispatch and parameters

test('HOSTILE 8: invalid percent-encoding or invalid UTF-8 in path or query → 400, never 500', async (t) => {
  const tree = {
    index: exposed(({ params }: Context) => `params ${JSON.stringify(params)}`),
    default: exposed(({ args }: Context) => `args ${JSON.stringify(args)}`),
    alive: exposed(() => 'alive'),
  };
  const server = await startApp(tree, {}, QUIET);
  t.after(() => server.close());
  const targets = [
    '/%zz', '/%E0%A4%A', '/%C3%28', '/a/%zz/b', '/%', '/%C0%AF', '/%ED%A0%80',
    '/?a=%zz', '/?a=%E0%A4%A', '/?a=%C3%28', '/?%C3%28=1', '/?a=%', '/?a=%ED%A0%80',
    '/x/?a=%zz',
  ];
  for (const target of targets) {
    const res = await rawRequest(server.port, getOnce(target));
    assert.equal(res.responses.length, 1, target);
    assert.equal(res.responses[0]!.status, 400, `${target} → 400`);
  }
  // Raw bytes that are not UTF-8 (or not ASCII at all) in the target: node refuses them.
  for (const raw of ['/\xc3\x28', '/?a=\xc3\x28', '/\xff']) {
    const res = await rawRequest(server.port, Buffer.from(`GET ${raw} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`, 'latin1'));
    assert.equal(res.responses[0]?.status, 400, JSON.stringify(raw));
  }
  await assertAlive(server);
});

test('HOSTILE 9: absolute-form targets and //evil.example/x dispatch on the path only; no redirect to another host', async (t) => {
  const where = ({ request }: Context) => `path=${request.path} host=${request.host}`;
  const tree = {
    x: exposed(where),
    dir: { index: exposed(where) },
    evil_example: { x: exposed(where), index: exposed(where) },
    alive: exposed(() => 'alive'),
  };
  const server = await startApp(tree, {}, QUIET);
  t.after(() => server.close());
  const host = `127.0.0.1:${server.port}`;
  const at = (target: string): string => `GET ${target} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`;

  const abs = await rawRequest(server.port, at('http://evil.example/x'));
  assert.equal(abs.responses[0]!.status, 200);
  assert.equal(abs.responses[0]!.body.toString(), `path=/x host=${host}`);

  const absQuery = await rawRequest(server.port, at('http://evil.example/x?a=1'));
  assert.equal(absQuery.responses[0]!.body.toString(), `path=/x host=${host}`);

  // The trailing-slash redirect of an index reached through absolute-form stays on the Host.
  const redirect = await rawRequest(server.port, at('http://evil.example/dir'));
  assert.equal(redirect.responses[0]!.status, 301);
  assert.equal(redirect.responses[0]!.headers.location, `http://${host}/dir/`);

  for (const target of ['//evil.example/x', '//evil.example', '//evil.example/', '///evil.example', '/\\evil.example', 'http://evil.example//evil.example']) {
    const res = await rawRequest(server.port, at(target));
    assert.equal(res.responses.length, 1, target);
    const r = res.responses[0]!;
    assert.ok(r.status < 500, `${target}: no server error (${r.status})`);
    const location = r.headers.location;
    if (location !== undefined) {
      assert.ok(location.startsWith(`http://${host}/`), `${target}: Location stays on this host: ${location}`);
    }
    assert.ok(!/^Location:\s*\/\//im.test(r.head), `${target}: never a scheme-relative Location`);
  }
  const scheme = await rawRequest(server.port, at('//evil.example/x'));
  assert.equal(scheme.responses[0]!.body.toString(), `path=//evil.example/x host=${host}`, 'dispatched on the path');
  await assertAlive(server);
});

test('HOSTILE 10: /constructor, /__proto__, /toString, /hasOwnProperty, /_private → 404', async (t) => {
  class Sub {
    _private = exposed(() => 'private!');
    page = exposed(() => 'page');
  }
  class Root {
    sub = new Sub();
    index = exposed(() => 'home');
    _private = exposed(() => 'private!');
    _cp_config = {};
    alive = exposed(() => 'alive');
    notExposed(): string { return 'not exposed!'; }
  }
  const server = await startApp(new Root(), {}, QUIET);
  t.after(() => server.close());
  const paths = [
    '/constructor', '/__proto__', '/toString', '/hasOwnProperty', '/_private', '/valueOf', '/isPrototypeOf',
    '/propertyIsEnumerable', '/toLocaleString', '/__defineGetter__', '/__lookupGetter__', '/prototype',
    '/constructor/constructor', '/constructor/prototype', '/__proto__/constructor', '/_cp_config', '/notExposed',
    '/sub/_private', '/sub/constructor', '/sub/__proto__', '/index/constructor', '/sub/page/constructor',
    '/%5F%5Fproto%5F%5F', '/%5Fprivate', '/con%73tructor', '/index/call', '/index/apply', '/index/bind', '/sub/page/name',
  ];
  for (const path of paths) {
    const res = await rawRequest(server.port, getOnce(path));
    assert.equal(res.responses.length, 1, path);
    const r = res.responses[0]!;
    // A trailing-slash redirect could only ever point at another 404; what matters is that nothing ran.
    assert.equal(r.status, 404, `${path} → 404`);
    assert.ok(!/private!|not exposed!|function|class /.test(r.body.toString()), `${path}: nothing of the code leaks`);
  }
  await assertAlive(server);
});

test('HOSTILE 11: prototype pollution attempts in query, form and JSON bodies → no pollution, no hang, null-prototype params', async (t) => {
  const seen: Array<{ proto: unknown; keys: string[] }> = [];
  const report = ({ params }: Context) => {
    seen.push({ proto: Object.getPrototypeOf(params), keys: Object.keys(params) });
    const copy: Record<string, unknown> = {};
    Object.assign(copy, params);
    return `keys ${JSON.stringify(Object.keys(params))} polluted=${String(({} as Record<string, unknown>).polluted)}`;
  };
  const tree = {
    index: exposed(report),
    json: exposed(async ({ request }: Context) => {
      const value = (await request.json()) as Record<string, unknown>;
      // JSON.parse makes `__proto__` an own key, never the object's prototype.
      return `own ${JSON.stringify(Object.keys(value))} proto-is-object=${String(Object.getPrototypeOf(value) === Object.prototype)} polluted=${String(({} as Record<string, unknown>).polluted)}`;
    }),
    alive: exposed(() => 'alive'),
  };
  const server = await startApp(tree, {}, QUIET);
  t.after(() => server.close());
  const queries = [
    '__proto__=x', '__proto__[polluted]=1', '__proto__.polluted=1', 'constructor[prototype][polluted]=1',
    'constructor.prototype.polluted=1', 'a[length]=100000000', 'length=100000000', '__proto__=1&__proto__=2',
    'hasOwnProperty=1&toString=2&valueOf=3', '%5F%5Fproto%5F%5F[polluted]=1',
  ];
  for (const q of queries) {
    const res = await rawRequest(server.port, getOnce(`/?${q}`));
    assert.equal(res.timedOut, false, q);
    assert.equal(res.responses[0]?.status, 200, q);
    assert.match(res.responses[0]!.body.toString(), /polluted=undefined$/, q);
    // The same as a form body.
    const form = await rawRequest(server.port, postOnce('/', { 'Content-Type': 'application/x-www-form-urlencoded', 'Content-Length': String(q.length) }, q));
    assert.equal(form.responses[0]?.status, 200, `form ${q}`);
    assert.match(form.responses[0]!.body.toString(), /polluted=undefined$/, `form ${q}`);
  }
  const boundary = 'XyZ';
  const multipart = [
    `--${boundary}\r\nContent-Disposition: form-data; name="__proto__"\r\n\r\n{"polluted":1}\r\n`,
    `--${boundary}\r\nContent-Disposition: form-data; name="__proto__[polluted]"\r\n\r\n1\r\n`,
    `--${boundary}\r\nContent-Disposition: form-data; name="constructor"\r\n\r\nx\r\n`,
    `--${boundary}--\r\n`,
  ].join('');
  const mp = await rawRequest(server.port, postOnce('/', { 'Content-Type': `multipart/form-data; boundary=${boundary}`, 'Content-Length': String(multipart.length) }, multipart));
  assert.equal(mp.responses[0]?.status, 200);
  assert.match(mp.responses[0]!.body.toString(), /polluted=undefined$/);

  for (const body of ['{"__proto__":{"polluted":1}}', '{"constructor":{"prototype":{"polluted":1}}}', '{"a":{"__proto__":{"polluted":1}}}']) {
    const res = await rawRequest(server.port, postOnce('/json', { 'Content-Type': 'application/json', 'Content-Length': String(body.length) }, body));
    assert.equal(res.responses[0]?.status, 200, body);
    assert.match(res.responses[0]!.body.toString(), /proto-is-object=true polluted=undefined$/, body);
  }

  assert.ok(seen.length > 0);
  for (const s of seen) assert.equal(s.proto, null, 'params objects have no prototype');
  assert.equal(({} as Record<string, unknown>).polluted, undefined, 'Object.prototype untouched');
  assert.equal((Object.prototype as Record<string, unknown>).polluted, undefined);
  assert.equal(Object.getOwnPropertyNames(Object.prototype).includes('polluted'), false);
  await assertAlive(server);
});

test('HOSTILE 12: Content-Type variants are parsed by the parser their type really names, never mis-parsed', async (t) => {
  const tree = {
    index: exposed(async ({ request, params }: Context) => {
      const keys = Object.keys(params);
      // A body the form parser left alone is still there to read.
      const rest = request.bodyTaken ? '(taken)' : await request.text();
      return `params ${JSON.stringify(keys)} body ${rest}`;
    }),
    json: exposed(async ({ request, params }: Context) => `json ${JSON.stringify(await request.json())} params ${JSON.stringify(Object.keys(params))}`),
    alive: exposed(() => 'alive'),
  };
  const server = await startApp(tree, {}, QUIET);
  t.after(() => server.close());
  const send = async (path: string, type: string, body: string): Promise<string> => {
    const res = await rawRequest(server.port, postOnce(path, { 'Content-Type': type, 'Content-Length': String(Buffer.byteLength(body)) }, body));
    assert.equal(res.timedOut, false, type);
    assert.equal(res.responses.length, 1, type);
    const r = res.responses[0]!;
    assert.ok(r.status < 500, `${type}: never a server error (${r.status})`);
    return `${r.status} ${r.body.toString()}`;
  };
  // The real form types (case-insensitive, parameters and OWS allowed) are parsed as forms.
  for (const type of ['application/x-www-form-urlencoded', 'APPLICATION/X-WWW-FORM-URLENCODED', 'application/x-www-form-urlencoded;', 'application/x-www-form-urlencoded; charset=utf-8', 'application/x-www-form-urlencoded\t;charset=utf-8']) {
    assert.equal(await send('/', type, 'a=1&b=2'), '200 params ["a","b"] body (taken)', JSON.stringify(type));
  }
  // Look-alikes are not forms: the body stays raw.
  for (const type of ['application/x-www-form-urlencodedx', 'application/x-www-form-urlencoded-x', 'application/x-www-form-\turlencoded', 'xapplication/x-www-form-urlencoded', 'application/json', 'application/JSON', 'application/jsonx', 'text/plain', 'application/octet-stream']) {
    assert.equal(await send('/', type, 'a=1&b=2'), '200 params [] body a=1&b=2', JSON.stringify(type));
  }
  // A multipart look-alike is not fed to the multipart parser.
  const boundary = 'B0undary';
  const mp = `--${boundary}\r\nContent-Disposition: form-data; name="field"\r\n\r\nvalue\r\n--${boundary}--\r\n`;
  assert.equal(await send('/', `multipart/form-data; boundary=${boundary}`, mp), '200 params ["field"] body (taken)');
  assert.equal(await send('/', `multipart/form-data;\tboundary=${boundary}`, mp), '200 params ["field"] body (taken)');
  for (const type of [`multipart/form-datax; boundary=${boundary}`, `multipart/form-data-x; boundary=${boundary}`, `multipart/mixed; boundary=${boundary}`]) {
    const answer = await send('/', type, mp);
    assert.ok(answer.startsWith('200 params [] body --'), `${type}: ${answer}`);
  }
  // request.json() reads JSON whatever the exact spelling of its type, and forms are never JSON-parsed by accident.
  assert.equal(await send('/json', 'application/JSON', '{"a":1}'), '200 json {"a":1} params []');
  assert.equal(await send('/json', 'application/json; charset=utf-8', '{"a":1}'), '200 json {"a":1} params []');
  assert.match(await send('/json', 'application/json', 'a=1'), /^400 /, 'invalid JSON is a 400');
  await assertAlive(server);
});

test('HOSTILE 13: 100,000 repeated parameters or 10,000 multipart parts → bounded work and a 4xx', async (t) => {
  const tree = {
    index: exposed(({ params }: Context) => `n=${Object.keys(params).length}`),
    alive: exposed(() => 'alive'),
  };
  // A header limit large enough for the query to reach Drupe's own parameter limit.
  const server = await startApp(tree, {}, { ...QUIET, 'server.max_header_size': 1024 * 1024 });
  t.after(() => server.close());
  const many = 'a=1&'.repeat(100_000);
  const query = await rawRequest(server.port, getOnce(`/?${many}`), { timeoutMs: GUARD_MS });
  assert.equal(query.timedOut, false);
  assert.equal(query.responses[0]?.status, 400, 'too many query parameters');
  assert.match(query.responses[0]!.body.toString(), /Too many parameters/);

  const form = await rawRequest(server.port, postOnce('/', { 'Content-Type': 'application/x-www-form-urlencoded', 'Content-Length': String(many.length) }, many), { timeoutMs: GUARD_MS });
  assertClientError(form, 'form body');
  assert.equal(form.responses[0]!.status, 400);

  const boundary = 'b';
  const part = `--${boundary}\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n`;
  const parts = part.repeat(10_000) + `--${boundary}--\r\n`;
  const mp = await rawRequest(server.port, postOnce('/', { 'Content-Type': `multipart/form-data; boundary=${boundary}`, 'Content-Length': String(parts.length) }, parts), { timeoutMs: GUARD_MS });
  assertClientError(mp, 'multipart parts');
  assert.equal(mp.responses[0]!.status, 413);

  // Without the larger header limit the query never gets past node's parser.
  const small = await startApp(tree, {}, QUIET);
  t.after(() => small.close());
  const refused = await rawRequest(small.port, get(`/?${many}`), { timeoutMs: GUARD_MS });
  assert.equal(refused.responses[0]?.status, 431);

  // Under the limits all is well.
  const fine = await rawRequest(server.port, getOnce(`/?${'a=1&'.repeat(500)}b=2`));
  assert.equal(fine.responses[0]?.body.toString(), 'n=2');
  await assertAlive(server);
});

// ---------------------------------------------------------------------------
// Responses

test('HOSTILE 14: CR/LF in a header value from user data → 500 generic page, never a split header; a bad status text → 500, never a hung client', async (t) => {
  const tree = {
    header: exposed(({ params, response }: Context) => { response.headers.set('X-User', String(params.v)); return 'set'; }),
    append: exposed(({ params, response }: Context) => { response.headers.append('X-User', String(params.v)); return 'appended'; }),
    cookie: exposed(({ params, response }: Context) => { response.setCookie('c', String(params.v)); return 'cookie'; }),
    cookie_name: exposed(({ params, response }: Context) => { response.setCookie(String(params.v), 'x'); return 'cookie'; }),
    header_name: exposed(({ params, response }: Context) => { response.headers.set(String(params.v), 'x'); return 'named'; }),
    status: exposed(({ params, response }: Context) => { response.status = String(params.v); return 'status'; }),
    numeric: exposed(({ response }: Context) => { response.status = 1000; return 'status'; }),
    redirect: exposed(({ params }: Context) => { throw new HTTPRedirect(String(params.v)); }),
    streamed: exposed(({ params, response }: Context) => {
      response.headers.set('X-User', String(params.v));
      return (function* () { yield 'never'; })();
    }, { 'response.stream': true }),
    alive: exposed(() => 'alive'),
  };
  const server = await startApp(tree, {}, { ...QUIET, environment: 'production' });
  t.after(() => server.close());
  const evil = encodeURIComponent('a\r\nSet-Cookie: evil=1\r\n\r\n<script>x</script>');
  const check = async (target: string, expect: number): Promise<void> => {
    const res = await rawRequest(server.port, getOnce(target));
    assert.equal(res.timedOut, false, `${target}: no hang`);
    assert.equal(res.responses.length, 1, `${target}: one response, got ${JSON.stringify(res.text.slice(0, 400))}`);
    const r = res.responses[0]!;
    assert.equal(r.status, expect, target);
    assert.equal(r.complete, true, `${target}: complete`);
    assert.equal(r.headers['set-cookie'], undefined, `${target}: no injected header`);
    assert.ok(!/evil=1|<script>/i.test(r.head), `${target}: nothing of the value in the head`);
    if (expect === 500) {
      const body = r.body.toString();
      assert.match(body, /500/);
      assert.ok(!/evil|script|X-User|CR|stack|\.js/i.test(body), `${target}: a generic page: ${body}`);
    }
  };
  await check(`/header?v=${evil}`, 500);
  await check(`/append?v=${evil}`, 500);
  // A cookie value is percent-encoded: one harmless Set-Cookie, no split.
  const cookie = await rawRequest(server.port, getOnce(`/cookie?v=${evil}`));
  assert.equal(cookie.responses.length, 1);
  assert.equal(cookie.responses[0]!.status, 200);
  assert.deepEqual(cookie.responses[0]!.rawHeaders.filter(([n]) => n.toLowerCase() === 'set-cookie').map(([, v]) => v), [`c=${evil}`]);
  assert.ok(!/\r\nevil|<script>/i.test(cookie.responses[0]!.head));
  await check(`/cookie-name?v=${encodeURIComponent('c\r\nSet-Cookie: evil=1')}`, 500);
  await check(`/header-name?v=${encodeURIComponent('X-A\r\nSet-Cookie: evil=1')}`, 500);
  await check(`/header-name?v=${encodeURIComponent('X A')}`, 500);
  await check(`/streamed?v=${evil}`, 500);
  await check(`/status?v=${encodeURIComponent('200 OK\r\nSet-Cookie: evil=1')}`, 500);
  await check(`/status?v=${encodeURIComponent('200\nX')}`, 500);
  await check(`/status?v=${encodeURIComponent('abc')}`, 500);
  await check(`/status?v=${encodeURIComponent('99 Low')}`, 500);
  await check('/numeric', 500);
  // A redirect URL with CR/LF never becomes a header.
  const res = await rawRequest(server.port, getOnce(`/redirect?v=${encodeURIComponent('/next\r\nSet-Cookie: evil=1')}`));
  assert.equal(res.responses.length, 1);
  assert.equal(res.responses[0]!.headers['set-cookie'], undefined);
  assert.ok(!/\r\nSet-Cookie/i.test(res.responses[0]!.head));
  // A valid custom status text still works.
  const ok = await rawRequest(server.port, getOnce(`/status?v=${encodeURIComponent('299 Fine By Me')}`));
  assert.match(ok.responses[0]!.head, /^HTTP\/1\.1 299 Fine By Me\r\n/);
  await assertAlive(server);
});

test('HOSTILE 15: a wrong Content-Length from the handler → our own length when buffered; a destroyed, never reused connection when streamed', async (t) => {
  const tree = {
    longer: exposed(({ response }: Context) => { response.headers.set('Content-Length', '100'); return 'short'; }),
    shorter: exposed(({ response }: Context) => { response.headers.set('Content-Length', '2'); return 'hello'; }),
    garbage: exposed(({ response }: Context) => { response.headers.set('Content-Length', 'abc'); return 'hello'; }),
    te: exposed(({ response }: Context) => { response.headers.set('Transfer-Encoding', 'chunked'); return 'hello'; }),
    streamShort: exposed(({ response }: Context) => {
      response.headers.set('Content-Length', '100');
      return (function* () { yield 'only'; yield ' nine'; })();
    }, { 'response.stream': true }),
    streamLong: exposed(({ response }: Context) => {
      response.headers.set('Content-Length', '3');
      return (function* () { yield 'ab'; yield 'cdef'; })();
    }, { 'response.stream': true }),
    alive: exposed(() => 'alive'),
  };
  const server = await startApp(tree, {}, QUIET);
  t.after(() => server.close());

  for (const [path, body] of [['/longer', 'short'], ['/shorter', 'hello'], ['/garbage', 'hello'], ['/te', 'hello']] as const) {
    const res = await rawRequest(server.port, [get(path), get('/alive')], { delayBetweenMs: 50 });
    assert.equal(res.responses.length, 2, `${path}: the connection is still usable for a second request`);
    const [first, second] = res.responses;
    assert.equal(first!.status, 200, path);
    assert.equal(first!.headers['content-length'], String(Buffer.byteLength(body)), `${path}: the framework's own length`);
    assert.equal(first!.headers['transfer-encoding'], undefined);
    assert.equal(first!.body.toString(), body);
    assert.equal(second!.body.toString(), 'alive');
    assert.equal(res.closedByServer, false);
  }

  for (const path of ['/streamShort', '/streamLong']) {
    // A second request pipelined behind it must never be answered on that connection.
    const res = await rawRequest(server.port, [get(path), get('/alive')], { delayBetweenMs: 50 });
    assert.equal(res.closedByServer, true, `${path}: connection destroyed`);
    assert.equal(res.responses.length, 1, `${path}: never reused: ${JSON.stringify(res.text)}`);
    const r = res.responses[0]!;
    assert.equal(r.status, 200);
    assert.equal(r.framing, 'content-length');
    assert.equal(r.complete, false, `${path}: the body is visibly incomplete`);
    assert.ok(r.body.length < Number(r.headers['content-length']), path);
  }
  const short = await streamRequest(server.port, { path: '/streamShort' });
  const result = await short.done();
  assert.equal(result.aborted, true);
  assert.equal(result.body.toString(), 'only nine');
  await assertAlive(server);
});

test('HOSTILE 16: redirects to //evil, http://a\\@b, javascript: → never a scheme-relative Location; the HTML body escaped', async (t) => {
  const tree = {
    go: exposed(({ params }: Context) => { throw new HTTPRedirect(String(params.to)); }),
    alive: exposed(() => 'alive'),
  };
  const server = await startApp(tree, {}, { ...QUIET, environment: 'production' });
  t.after(() => server.close());
  const host = `127.0.0.1:${server.port}`;
  const targets = ['//evil', '//evil/x', '///evil', '/\\evil', '\\\\evil', '\\/evil', ' //evil', '\t//evil', '//evil\\@good',
    'http://a\\@b', 'https:evil', 'http:/evil', 'javascript:alert(1)', 'JavaScript:alert(1)', 'data:text/html,<b>x</b>', 'vbscript:x'];
  for (const to of targets) {
    const res = await rawRequest(server.port, `GET /go?to=${encodeURIComponent(to)} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
    assert.equal(res.responses.length, 1, to);
    const r = res.responses[0]!;
    const location = r.headers.location;
    if (location === undefined) {
      // Refused outright (an unsafe scheme): an error, never a redirect.
      assert.ok(r.status >= 400, `${to}: refused (${r.status})`);
      assert.ok(r.status < 300 || r.status >= 400);
      continue;
    }
    assert.ok(r.status >= 300 && r.status < 400, to);
    assert.ok(!location.startsWith('//') && !location.startsWith('\\'), `${to}: not scheme-relative: ${location}`);
    assert.match(location, /^https?:\/\/[^/\\]/, `${to}: an absolute http(s) URL: ${location}`);
    assert.ok(!/^(javascript|data|vbscript):/i.test(location), to);
    const parsed = new URL(location);
    if (to.replace(/^\s+/, '').match(/^[/\\]/)) assert.equal(parsed.host, host, `${to}: a path-like target stays on this host: ${location}`);
  }
  // The body is HTML-escaped.
  const res = await rawRequest(server.port, `GET /go?to=${encodeURIComponent("/it's?a=1&b=<2>")} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
  const body = res.responses[0]!.body.toString();
  assert.ok(body.includes('it&#39;s'), body);
  assert.ok(body.includes('a=1&amp;b='), body);
  assert.ok(!/<2>|it's/.test(body), body);
  await assertAlive(server);
});

test('HOSTILE 17: in production a 500 says nothing about the code', async (t) => {
  const secret = 'SECRET_TOKEN_4711';
  class Root {
    boom = exposed(function boomHandler() { throw new Error(`database password ${secret} rejected`); });
    asyncBoom = exposed(async () => { throw new TypeError(`async ${secret}`); });
    badBody = exposed(() => ({ secret }) as unknown as string);
    genBoom = exposed(() => (function* () { yield 'x'; throw new RangeError(`gen ${secret}`); })());
    alive = exposed(() => 'alive');
  }
  const server = await startApp(new Root(), {}, { ...QUIET, environment: 'production' });
  t.after(() => server.close());
  for (const path of ['/boom', '/asyncBoom', '/badBody', '/genBoom']) {
    const res = await rawRequest(server.port, getOnce(path));
    assert.equal(res.responses.length, 1, path);
    const r = res.responses[0]!;
    assert.equal(r.status, 500, path);
    const text = r.head + r.body.toString();
    for (const leak of [secret, 'boomHandler', 'Error:', 'TypeError', 'RangeError', 'DrupeError', 'DRUPE_', ' at ', '.js', '.ts', '/work', 'node:', 'json(', 'plain object', 'traceback']) {
      assert.ok(!text.includes(leak), `${path}: the 500 mentions ${JSON.stringify(leak)}:\n${text}`);
    }
  }
  await assertAlive(server);
});

// ---------------------------------------------------------------------------
// Load

test('HOSTILE 23: hundreds of pipelined requests in one packet → answered in order, bounded memory', async (t) => {
  const tree = {
    echo: exposed(async ({ params }: Context) => {
      const i = Number(params.i);
      // Finish out of order: later requests are often ready first.
      if (i % 3 === 0) await new Promise((resolve) => setTimeout(resolve, 2));
      else if (i % 3 === 1) await Promise.resolve();
      return `echo ${i}`;
    }),
    alive: exposed(() => 'alive'),
  };
  const server = await startApp(tree, {}, QUIET);
  t.after(() => server.close());
  const n = 500;
  const packet = Buffer.from(Array.from({ length: n }, (_, i) => get(`/echo?i=${i}`)).join(''));
  global.gc?.();
  const before = process.memoryUsage().heapUsed;
  const res = await rawRequest(server.port, packet, { idleMs: 1000, timeoutMs: GUARD_MS * 2 });
  assert.equal(res.timedOut, false);
  assert.equal(res.responses.length, n, 'every request answered');
  res.responses.forEach((r, i) => {
    assert.equal(r.status, 200);
    assert.equal(r.body.toString(), `echo ${i}`, `response ${i} in order`);
  });
  const grown = process.memoryUsage().heapUsed - before;
  assert.ok(grown < 64 * 1024 * 1024, `heap grew by ${grown} bytes for ${n} small pipelined requests`);
  await assertAlive(server);
});

test('HOSTILE 23: a pipelining client that never reads its answers is throttled (bounded memory), and the server stays responsive', async (t) => {
  let handled = 0;
  const tree = {
    big: exposed(() => { handled++; return 'x'.repeat(64 * 1024); }),
    alive: exposed(() => 'alive'),
  };
  const server = await startApp(tree, {}, QUIET);
  t.after(() => server.close());
  const net = await import('node:net');
  const socket = net.connect({ port: server.port, host: '127.0.0.1' });
  socket.unref();
  t.after(() => socket.destroy());
  await new Promise<void>((resolve) => socket.once('connect', resolve));
  socket.pause(); // never read
  const n = 2000;
  socket.write(Array.from({ length: n }, () => get('/big')).join(''));
  // Meanwhile the server keeps answering others.
  await assertAlive(server);
  // Wait until the server stops taking requests from that connection (the guard fails the test if it never does).
  let last = -1;
  for (let waited = 0; handled !== last; waited += 200) {
    assert.ok(waited < GUARD_MS, `still handling requests after ${waited} ms (${handled})`);
    last = handled;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  // Answers wait for the socket one at a time, so a client that reads nothing gets only what the socket buffers hold.
  assert.ok(handled < n / 2, `handled ${handled} of ${n} requests for a client that reads nothing`);
  await assertAlive(server);
});
