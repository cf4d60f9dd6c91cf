// tools.json_in and tools.json_out (issue 4 part 7) over real sockets:
// Content-Type matching (HOSTILE 12), 415/400, params without pollution
// (HOSTILE 11), JSON bodies from any value, NDJSON from (async) iterables,
// buffered and streamed, with an in-band error line on failure.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import zlib from 'node:zlib';
import { HTTPError, exposed, json, type Config, type Context } from '../src/index.js';
import { rawRequest, streamRequest, type ParsedResponse } from '../src/testing.js';
import { startApp } from './helpers/server.js';
import { deferred, waitFor, within } from './helpers/async.js';
import { req } from './helpers/http.js';
import { TERMINATOR } from './helpers/streaming.js';

const JSON_IN: Config = { 'tools.json_in.on': true };
const JSON_OUT: Config = { 'tools.json_out.on': true };

async function send(port: number, path: string, body: string | undefined, headers: Record<string, string> = {}, method = 'POST'): Promise<ParsedResponse> {
  const h: Record<string, string> = { Connection: 'close', ...headers };
  if (body !== undefined) h['Content-Length'] = String(Buffer.byteLength(body));
  const r = await rawRequest(port, req(path, { method, headers: h }) + (body ?? ''));
  assert.equal(r.responses.length, 1, r.text);
  return r.responses[0]!;
}

/** A handler that reports what it saw: params (sorted) and request.json(). */
const echo = exposed(async ({ request, params }: Context) => {
  const keys = Object.keys(params).sort();
  const seen: Record<string, unknown> = {};
  for (const k of keys) seen[k] = params[k];
  const isJson = request.hasBody && /json/i.test(request.headers['content-type'] ?? '');
  const body = isJson ? await request.json() : null;
  const same = isJson ? (await request.json()) === body : null;
  return JSON.stringify({ params: seen, json: body, same, login: request.login ?? null });
});

function parsed(res: ParsedResponse): { params: Record<string, unknown>; json: unknown; same: boolean | null } {
  assert.equal(res.status, 200, res.body.toString());
  return JSON.parse(res.body.toString());
}

// ---------------------------------------------------------------------------
// json_in

test('json_in: an object body is parsed once (request.json() is cached) and its keys become params', async (t) => {
  const server = await startApp({ echo }, { '/': JSON_IN });
  t.after(() => server.close());
  const body = JSON.stringify({ name: 'Ann', count: 3, ok: true, tags: ['a', 1], nested: { x: 1 }, nothing: null });
  const out = parsed(await send(server.port, '/echo?name=query&q=1', body, { 'Content-Type': 'application/json' }));
  assert.deepEqual(out.json, JSON.parse(body));
  assert.equal(out.same, true, 'request.json() returns the same value each time');
  // JSON wins over the query string; values are strings, as from a form; nested values as JSON text; null is left out.
  assert.deepEqual(out.params, { count: '3', name: 'Ann', nested: '{"x":1}', ok: 'true', q: '1', tags: ['a', '1'] });
});

test('json_in: the media type must be exactly JSON (HOSTILE 12): case, parameters and whitespace ignored, look-alikes refused', async (t) => {
  const server = await startApp({ echo }, { '/': JSON_IN });
  t.after(() => server.close());
  for (const type of ['application/json', 'application/JSON; charset=utf-8', 'Application/Json;', 'application/json ; charset="UTF-8"', 'application/json\t']) {
    const out = parsed(await send(server.port, '/echo', '{"a":"1"}', { 'Content-Type': type }));
    assert.deepEqual(out.params, { a: '1' }, type);
  }
  for (const type of ['application/jsonx', 'text/json', 'application/x-www-form-urlencoded', 'text/plain', 'application/json-patch+json', 'json']) {
    const res = await send(server.port, '/echo', '{"a":"1"}', { 'Content-Type': type });
    assert.equal(res.status, 415, type);
  }
  assert.equal((await send(server.port, '/echo', '{"a":"1"}')).status, 415, 'no Content-Type at all');
});

test('json_in: invalid JSON is a 400; an unknown charset a 415; a body over the limit a 413', async (t) => {
  const server = await startApp({ echo }, { '/': { ...JSON_IN, 'server.max_request_body_size': 100 } });
  t.after(() => server.close());
  for (const bad of ['{', '{"a":1,}', "{'a':1}", 'undefined', 'NaN']) {
    const res = await send(server.port, '/echo', bad, { 'Content-Type': 'application/json' });
    assert.equal(res.status, 400, bad);
    assert.match(res.body.toString(), /Invalid JSON/);
  }
  assert.equal((await send(server.port, '/echo', '{}', { 'Content-Type': 'application/json; charset=x-nope' })).status, 415);
  assert.equal((await send(server.port, '/echo', JSON.stringify({ a: 'x'.repeat(200) }), { 'Content-Type': 'application/json' })).status, 413);
});

test('json_in: __proto__ and constructor keys pollute nothing (HOSTILE 11)', async (t) => {
  const server = await startApp({ echo }, { '/': JSON_IN });
  t.after(() => server.close());
  const body = '{"__proto__":{"polluted":"yes"},"constructor":{"prototype":{"polluted":"yes"}},"toString":"x"}';
  const out = parsed(await send(server.port, '/echo', body, { 'Content-Type': 'application/json' }));
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  assert.equal((Object.prototype as Record<string, unknown>).polluted, undefined);
  assert.deepEqual(out.params, { __proto__: '{"polluted":"yes"}', constructor: '{"prototype":{"polluted":"yes"}}', toString: 'x' });
});

test('json_in: arrays and scalars are not merged into params; to_params false merges nothing; GET without a body passes', async (t) => {
  const root = { echo, raw: { echo } };
  const server = await startApp(root, { '/': JSON_IN, '/raw': { 'tools.json_in.to_params': false } });
  t.after(() => server.close());
  const arr = parsed(await send(server.port, '/echo', '[1,2]', { 'Content-Type': 'application/json' }));
  assert.deepEqual(arr.json, [1, 2]);
  assert.deepEqual(arr.params, {});
  const scalar = parsed(await send(server.port, '/echo', '"hi"', { 'Content-Type': 'application/json' }));
  assert.equal(scalar.json, 'hi');
  const off = parsed(await send(server.port, '/raw/echo', '{"a":"1"}', { 'Content-Type': 'application/json' }));
  assert.deepEqual(off.json, { a: '1' });
  assert.deepEqual(off.params, {});
  const getRes = parsed(await send(server.port, '/echo?x=1', undefined, {}, 'GET'));
  assert.deepEqual(getRes.params, { x: '1' });
});

test('json_in: force false lets other bodies through untouched (a form still fills params); content_type lists the JSON types', async (t) => {
  const root = {
    loose: { echo, text: exposed(async ({ request }: Context) => `text:${await request.text()}`) },
    api: { echo },
  };
  const server = await startApp(root, {
    '/loose': { ...JSON_IN, 'tools.json_in.force': false },
    '/api': { ...JSON_IN, 'tools.json_in.content_type': ['application/vnd.api+json'] },
  });
  t.after(() => server.close());
  const text = await send(server.port, '/loose/text', 'plain words', { 'Content-Type': 'text/plain' });
  assert.equal(text.body.toString(), 'text:plain words');
  const form = parsed(await send(server.port, '/loose/echo', 'a=1&b=2', { 'Content-Type': 'application/x-www-form-urlencoded' }));
  assert.deepEqual(form.params, { a: '1', b: '2' });
  const json1 = parsed(await send(server.port, '/loose/echo', '{"j":"1"}', { 'Content-Type': 'application/json' }));
  assert.deepEqual(json1.params, { j: '1' });
  const vnd = parsed(await send(server.port, '/api/echo', '{"v":"1"}', { 'Content-Type': 'application/vnd.api+json' }));
  assert.deepEqual(vnd.params, { v: '1' });
  assert.equal((await send(server.port, '/api/echo', '{"v":"1"}', { 'Content-Type': 'application/json' })).status, 415);
});

// ---------------------------------------------------------------------------
// json_out

test('json_out: any JSON value becomes an application/json body', async (t) => {
  const values: Record<string, unknown> = {
    object: { id: 7, name: 'Ann' },
    array: [1, 'two', null],
    number: 42,
    zero: 0,
    string: 'hi',
    boolean: false,
    nul: null,
    nested: { a: [{ b: { c: true } }] },
  };
  const root: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(values)) root[name] = exposed(() => value);
  root.later = exposed(async () => ({ async: true }));
  const server = await startApp(root, { '/': JSON_OUT });
  t.after(() => server.close());
  for (const [name, value] of Object.entries({ ...values, later: { async: true } })) {
    const res = await send(server.port, '/' + name, undefined, {}, 'GET');
    assert.equal(res.status, 200, name);
    assert.equal(res.headers['content-type'], 'application/json', name);
    assert.equal(res.headers['content-length'], String(res.body.length), name);
    assert.deepEqual(JSON.parse(res.body.toString()), value, name);
  }
});

test('json_out: bodies are left alone (bytes, json(), streams), undefined stays empty, a Content-Type the handler set is kept', async (t) => {
  const root = {
    bytes: exposed(() => Buffer.from('raw bytes')),
    wrapped: exposed(() => json({ already: 'json' })),
    nothing: exposed(({ response }: Context) => { response.status = 204; }),
    typed: exposed(({ response }: Context) => { response.headers.set('Content-Type', 'application/vnd.api+json'); return { data: [] }; }),
    custom: { index: exposed(() => ({ a: 1 })) },
  };
  const server = await startApp(root, { '/': JSON_OUT, '/custom': { 'tools.json_out.content_type': 'application/problem+json' } });
  t.after(() => server.close());
  assert.equal((await send(server.port, '/bytes', undefined, {}, 'GET')).body.toString(), 'raw bytes');
  assert.equal((await send(server.port, '/wrapped', undefined, {}, 'GET')).body.toString(), '{"already":"json"}');
  const nothing = await send(server.port, '/nothing', undefined, {}, 'GET');
  assert.equal(nothing.status, 204);
  assert.equal(nothing.body.length, 0);
  const typed = await send(server.port, '/typed', undefined, {}, 'GET');
  assert.equal(typed.headers['content-type'], 'application/vnd.api+json');
  assert.equal(typed.body.toString(), '{"data":[]}');
  assert.equal((await send(server.port, '/custom/', undefined, {}, 'GET')).headers['content-type'], 'application/problem+json');
});

test('json_out: without the tool a plain object is a 500 that says to use json() or tools.json_out; an unserializable value is a 500', async (t) => {
  const root = { plain: exposed(() => ({ a: 1 })), big: exposed(() => ({ n: 1n }), JSON_OUT) };
  const server = await startApp(root, {}, { 'request.show_tracebacks': true });
  t.after(() => server.close());
  const plain = await send(server.port, '/plain', undefined, {}, 'GET');
  assert.equal(plain.status, 500);
  assert.match(plain.body.toString(), /json_out/);
  assert.equal((await send(server.port, '/big', undefined, {}, 'GET')).status, 500);
});

test('json_out: HEAD gets the GET headers and length, no body', async (t) => {
  const server = await startApp({ index: exposed(() => ({ list: [1, 2, 3] })) }, { '/': JSON_OUT });
  t.after(() => server.close());
  const getRes = await send(server.port, '/', undefined, {}, 'GET');
  const head = await send(server.port, '/', undefined, {}, 'HEAD');
  assert.equal(head.status, 200);
  assert.equal(head.headers['content-length'], getRes.headers['content-length']);
  assert.equal(head.headers['content-type'], 'application/json');
  assert.equal(head.body.length, 0);
});

test('json_out: a generator of values is NDJSON; buffered it has a Content-Length', async (t) => {
  const root = {
    gen: exposed(function* () { yield { n: 1 }; yield 'two'; yield [3]; yield null; }),
    set: exposed(() => new Set([1, 2])),
  };
  const server = await startApp(root, { '/': JSON_OUT });
  t.after(() => server.close());
  const res = await send(server.port, '/gen', undefined, {}, 'GET');
  assert.equal(res.headers['content-type'], 'application/x-ndjson');
  assert.equal(res.framing, 'content-length');
  assert.equal(res.body.toString(), '{"n":1}\n"two"\n[3]\nnull\n');
  assert.equal((await send(server.port, '/set', undefined, {}, 'GET')).body.toString(), '1\n2\n');
});

test('json_out streamed: one NDJSON line per chunk, each sent before the next value is produced', async (t) => {
  const gate = deferred();
  let second = false;
  const root = {
    feed: exposed(async function* () {
      yield { n: 1 };
      await gate.promise;
      second = true;
      yield { n: 2 };
    }, { 'response.stream': true }),
  };
  const server = await startApp(root, { '/': JSON_OUT });
  t.after(() => server.close());
  const res = await streamRequest(server.port, { path: '/feed' });
  assert.equal(res.headers['content-type'], 'application/x-ndjson');
  assert.equal(res.framing, 'chunked');
  const it = res.chunks()[Symbol.asyncIterator]();
  const first = await within(it.next(), 'the first line');
  assert.equal(first.done, false);
  assert.equal(first.value!.data.toString(), '{"n":1}\n');
  assert.equal(second, false);
  gate.resolve();
  const done = await res.done();
  assert.ok(done.complete);
  assert.equal(done.body.toString(), '{"n":1}\n{"n":2}\n');
});

test('json_out streamed: a failure mid-way ends with an {"error":…} line, then the cut (no terminator)', async (t) => {
  const fail = (err: Error) => exposed(async function* () {
    yield { n: 1 };
    await new Promise((resolve) => setImmediate(resolve));
    throw err;
  }, { 'response.stream': true });
  const root = {
    hidden: fail(new Error('secret detail')),
    http: fail(new HTTPError(503, 'busy, try later')),
    shown: { index: fail(new Error('visible detail')) },
    own: { index: fail(new Error('x')) },
  };
  const server = await startApp(root, {
    '/': { ...JSON_OUT, 'request.show_tracebacks': false },
    '/shown': { 'request.show_tracebacks': true },
    '/own': { 'response.on_stream_error': () => '{"mine":true}\n' },
  });
  t.after(() => server.close());
  const expected: Record<string, string> = {
    '/hidden': '{"n":1}\n{"error":"The stream failed"}\n',
    '/http': '{"n":1}\n{"error":"busy, try later"}\n',
    '/shown/': '{"n":1}\n{"error":"visible detail"}\n',
    '/own/': '{"n":1}\n{"mine":true}\n',
  };
  for (const [path, body] of Object.entries(expected)) {
    const r = await rawRequest(server.port, req(path));
    const res = r.responses[0]!;
    assert.equal(res.status, 200, path);
    assert.equal(res.complete, false, path);
    assert.ok(!r.text.endsWith(TERMINATOR), path);
    assert.equal(res.body.toString(), body, path);
  }
});

test('json_out streamed: a client that leaves finalizes the generator', async (t) => {
  let finalized = false;
  const root = {
    feed: exposed(async function* () {
      try {
        for (let n = 0; ; n++) {
          yield { n };
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
      } finally {
        finalized = true;
      }
    }, { 'response.stream': true }),
  };
  const server = await startApp(root, { '/': JSON_OUT });
  t.after(() => server.close());
  const res = await streamRequest(server.port, { path: '/feed' });
  await within(res.chunks()[Symbol.asyncIterator]().next(), 'a first line');
  res.disconnect();
  await waitFor(() => finalized, 'the generator finally block');
});

test('json_in and json_out together, with gzip: a JSON API round trip', async (t) => {
  const root = {
    sum: exposed(async ({ request }: Context) => {
      const { numbers } = (await request.json()) as { numbers: number[] };
      return { sum: numbers.reduce((a, b) => a + b, 0), numbers };
    }),
  };
  const server = await startApp(root, { '/': { ...JSON_IN, ...JSON_OUT, 'tools.gzip.on': true } });
  t.after(() => server.close());
  const numbers = Array.from({ length: 200 }, (_, i) => i);
  const res = await send(server.port, '/sum', JSON.stringify({ numbers }), { 'Content-Type': 'application/json', 'Accept-Encoding': 'gzip' });
  assert.equal(res.status, 200);
  assert.equal(res.headers['content-type'], 'application/json');
  assert.equal(res.headers['content-encoding'], 'gzip');
  assert.deepEqual(JSON.parse(zlib.gunzipSync(res.body).toString()), { sum: 19900, numbers });
});
