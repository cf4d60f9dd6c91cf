// Request input hardening (issue 14, items 4 and 8; docs/security.md
// HOSTILE 25–27): JSON nested past `request.max_json_depth` and JSON objects
// with more keys than `request.max_params`; bodies in a Content-Encoding
// Drupe does not decode; chunk extensions counted against
// `server.max_request_body_size`. Raw sockets to 127.0.0.1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import zlib from 'node:zlib';
import { App, DrupeError, exposed, type Config, type Context } from '../src/index.js';
import type { ParsedResponse } from '../src/testing.js';
import { start } from './helpers/server.js';
import { one, raw, rawReq } from './helpers/http.js';
import { waitFor } from './helpers/async.js';

const QUIET: Config = { 'log.screen': false };
const JSON_IN: Config = { 'tools.json_in.on': true };

/** `{"a":` × n, then 1, then `}` × n. */
function nested(n: number): string {
  return '{"a":'.repeat(n) + '1' + '}'.repeat(n);
}

function post(port: number, path: string, body: string | Buffer, headers: Record<string, string>): Promise<ParsedResponse> {
  return one(port, 'POST', path, headers, { body });
}

function assertStatus(res: ParsedResponse, status: number, what: string, message?: RegExp): void {
  assert.equal(res.status, status, `${what}: ${res.status} ${res.body.toString().slice(0, 300)}`);
  if (message !== undefined) assert.match(res.body.toString(), message, `${what}: the page says why`);
}

/** Reports what json_in left in params, and request.json() when asked to. */
const tree = {
  params: exposed(({ params }: Context) => `keys=${Object.keys(params).length}`),
  // typeof only: a handler that walked the value would recurse as deep as it goes.
  json: exposed(async ({ request }: Context) => `json=${typeof (await request.json())}`),
  text: exposed(async ({ request }: Context) => `text=${(await request.text()).length}`),
  bytes: exposed(async ({ request }: Context) => `bytes=${(await request.bytes()).length}`),
  stream: exposed(async ({ request }: Context) => {
    let n = 0;
    for await (const chunk of request.stream()) n += (chunk as Buffer).length;
    return `stream=${n}`;
  }),
  ignore: exposed(() => 'did not read'),
  /** Reads the body only once node has parsed all of it. */
  late: exposed(async ({ request }: Context) => {
    await waitFor(() => request.raw.complete, 'node to parse the whole body');
    return `late=${(await request.bytes()).length}`;
  }),
};

// ---------------------------------------------------------------------------
// Item 4: JSON depth and keys

test('HOSTILE 25: JSON nested 5,000 deep to a tools.json_in route → 400 naming the depth limit, not a 500', async (t) => {
  const server = await start(t, tree, { '/': JSON_IN }, QUIET);
  const res = await post(server.port, '/params', nested(5000), { 'Content-Type': 'application/json' });
  assertStatus(res, 400, 'json_in, 5,000 deep', /nested too deeply.*100/);
  // An array nesting counts the same as an object's.
  assertStatus(await post(server.port, '/params', '['.repeat(5000) + ']'.repeat(5000), { 'Content-Type': 'application/json' }), 400, 'json_in, arrays 5,000 deep', /nested too deeply/);
  // At the limit (100 by default) it is read as before.
  assertStatus(await post(server.port, '/params', nested(100), { 'Content-Type': 'application/json' }), 200, 'json_in, 100 deep', /^keys=1$/);
});

test('HOSTILE 25: request.json() in a handler obeys the same depth limit', async (t) => {
  const server = await start(t, tree, {}, QUIET);
  assertStatus(await post(server.port, '/json', nested(5000), { 'Content-Type': 'application/json' }), 400, 'request.json(), 5,000 deep', /nested too deeply.*100/);
  assertStatus(await post(server.port, '/json', nested(101), { 'Content-Type': 'application/json' }), 400, 'request.json(), 101 deep');
  assertStatus(await post(server.port, '/json', nested(100), { 'Content-Type': 'application/json' }), 200, 'request.json(), 100 deep');
});

test('HOSTILE 25: request.max_json_depth sets the limit; brackets inside strings do not count', async (t) => {
  const server = await start(t, tree, { '/': { ...JSON_IN, 'request.max_json_depth': 3 } }, QUIET);
  const type = { 'Content-Type': 'application/json' };
  assertStatus(await post(server.port, '/params', '{"a":{"b":[1]}}', type), 200, 'depth 3');
  assertStatus(await post(server.port, '/params', '{"a":{"b":[[1]]}}', type), 400, 'depth 4', /nested too deeply \(limit 3/);
  assertStatus(await post(server.port, '/params', '{"a":"[[[[{{{{","b":"\\"[[[["}', type), 200, 'brackets in strings, escaped quotes too');
  assertStatus(await post(server.port, '/json', '[[[[1]]]]', type), 400, 'request.json(), depth 4');
});

test('HOSTILE 25: request.max_json_depth is checked at start-up (a count from 1 to 1000)', () => {
  const check = (value: unknown): void => {
    assert.throws(() => new App(tree, { '/': { 'request.max_json_depth': value } as Config }), (err: unknown) => {
      assert.ok(err instanceof DrupeError, String(err));
      assert.equal(err.code, 'DRUPE_ERR_CONFIG_VALUE', err.message);
      assert.match(err.message, /request\.max_json_depth/);
      return true;
    }, `refused: ${String(value)}`);
  };
  for (const bad of [0, -1, 1.5, 1001, '64', null]) check(bad);
  assert.doesNotThrow(() => new App(tree, { '/': { 'request.max_json_depth': 10 } }));
  assert.doesNotThrow(() => new App(tree, { '/': { 'request.max_json_depth': 1000 } }));
});

test('HOSTILE 25: request.max_params applies to the JSON keys json_in merges into params → 400 past it', async (t) => {
  const server = await start(t, { ...tree, few: { params: tree.params } }, { '/': JSON_IN, '/few': { 'request.max_params': 5 } }, QUIET);
  const type = { 'Content-Type': 'application/json' };
  const keys = (n: number): string => JSON.stringify(Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, i])));
  assertStatus(await post(server.port, '/params', keys(100_000), type), 400, '100,000 keys', /Too many parameters \(limit 1000\)/);
  assertStatus(await post(server.port, '/params', keys(1001), type), 400, '1,001 keys', /Too many parameters \(limit 1000\)/);
  assertStatus(await post(server.port, '/params', keys(1000), type), 200, '1,000 keys', /^keys=1000$/);
  assertStatus(await post(server.port, '/few/params', keys(6), type), 400, '6 keys, limit 5', /limit 5/);
  assertStatus(await post(server.port, '/few/params', keys(5), type), 200, '5 keys, limit 5', /^keys=5$/);
});

// ---------------------------------------------------------------------------
// Item 8: a Content-Encoding Drupe does not decode

const gz = (s: string): Buffer => zlib.gzipSync(Buffer.from(s));

function assertUnsupportedEncoding(res: ParsedResponse, what: string): void {
  assertStatus(res, 415, what, /Content-Encoding/);
  assert.equal(res.headers['accept-encoding'], 'identity', `${what}: Accept-Encoding says what is accepted`);
}

test('HOSTILE 26: a form body in a Content-Encoding Drupe does not decode → 415 before the handler', async (t) => {
  const calls: string[] = [];
  const server = await start(t, { params: exposed(({ params }: Context) => { calls.push('params'); return Object.keys(params).join(','); }) }, {}, QUIET);
  const form = { 'Content-Type': 'application/x-www-form-urlencoded' };
  assertUnsupportedEncoding(await post(server.port, '/params', gz('a=1&b=2'), { ...form, 'Content-Encoding': 'gzip' }), 'urlencoded, gzip');
  assertUnsupportedEncoding(await post(server.port, '/params', 'a=1&b=2', { ...form, 'Content-Encoding': 'br' }), 'urlencoded, br (even if the bytes look plain)');
  const boundary = 'XyZ';
  const mp = `--${boundary}\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--${boundary}--\r\n`;
  assertUnsupportedEncoding(await post(server.port, '/params', mp, { 'Content-Type': `multipart/form-data; boundary=${boundary}`, 'Content-Encoding': 'deflate' }), 'multipart, deflate');
  assert.deepEqual(calls, [], 'the handler never ran');
  // identity is no encoding at all.
  assertStatus(await post(server.port, '/params', 'a=1&b=2', { ...form, 'Content-Encoding': 'identity' }), 200, 'urlencoded, identity', /^a,b$/);
  assertStatus(await post(server.port, '/params', 'a=1', { ...form, 'Content-Encoding': 'Identity' }), 200, 'urlencoded, Identity', /^a$/);
});

test('HOSTILE 26: a JSON body in an undecoded Content-Encoding → 415 from tools.json_in', async (t) => {
  const server = await start(t, tree, { '/': JSON_IN }, QUIET);
  const type = { 'Content-Type': 'application/json' };
  assertUnsupportedEncoding(await post(server.port, '/params', gz('{"a":1}'), { ...type, 'Content-Encoding': 'gzip' }), 'json_in, gzip');
  assertUnsupportedEncoding(await post(server.port, '/params', '{"a":1}', { ...type, 'Content-Encoding': 'x-custom' }), 'json_in, x-custom');
  assertUnsupportedEncoding(await post(server.port, '/params', '{"a":1}', { ...type, 'Content-Encoding': 'identity, gzip' }), 'json_in, identity then gzip');
  assertStatus(await post(server.port, '/params', '{"a":1}', { ...type, 'Content-Encoding': 'identity' }), 200, 'json_in, identity', /^keys=1$/);
});

test('HOSTILE 26: request.text(), json(), bytes() and stream() refuse an undecoded Content-Encoding with a 415', async (t) => {
  const server = await start(t, tree, {}, QUIET);
  const headers = { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' };
  for (const path of ['/text', '/json', '/bytes', '/stream']) {
    assertUnsupportedEncoding(await post(server.port, path, gz('{"a":1}'), headers), `${path}, gzip`);
    // Chunked too: the refusal does not depend on the framing.
    const body = gz('{"a":1}');
    const chunked = Buffer.concat([Buffer.from(`${body.length.toString(16)}\r\n`), body, Buffer.from('\r\n0\r\n\r\n')]);
    assertUnsupportedEncoding(await post(server.port, path, chunked, { ...headers, 'Transfer-Encoding': 'chunked' }), `${path}, gzip, chunked`);
    assertStatus(await post(server.port, path, '{"a":1}', { 'Content-Type': 'application/json', 'Content-Encoding': 'identity' }), 200, `${path}, identity`, /=(7|object)$/);
  }
  // A handler that does not read the body is not refused for its encoding.
  assertStatus(await post(server.port, '/ignore', gz('x'), headers), 200, 'not read');
});

// ---------------------------------------------------------------------------
// Item 8: chunk extensions count toward the body limit

/** `data` as 1-byte chunks, each carrying an extension of `ext` bytes. */
function chunkedWithExtensions(data: number, ext: number): Buffer {
  const chunk = `1;e=${'x'.repeat(ext)}\r\nx\r\n`;
  return Buffer.from(chunk.repeat(data) + '0\r\n\r\n', 'latin1');
}

test('HOSTILE 27: 4 MiB of chunk extensions on a 1,000-byte body count toward server.max_request_body_size → 413', async (t) => {
  const server = await start(t, tree, {}, { ...QUIET, 'server.max_request_body_size': 64 * 1024 });
  const body = chunkedWithExtensions(1000, 4300);
  assert.ok(body.length > 4 * 1024 * 1024);
  // '/late': the extensions node parsed before anyone read the body count too.
  for (const path of ['/bytes', '/text', '/stream', '/ignore', '/late']) {
    const r = await raw(server.port, rawReq(server.port, 'POST', path, { headers: { 'Transfer-Encoding': 'chunked' }, body }));
    assert.equal(r.timedOut, false, `${path}: no hang`);
    assert.equal(r.responses.length, 1, `${path}: one answer: ${r.text.slice(0, 300)}`);
    assertStatus(r.responses[0]!, 413, path, /too large/);
    assert.equal(r.responses[0]!.headers.connection, 'close', `${path}: Connection: close`);
  }
  // Extensions within bounds, and ordinary chunk framing, are still accepted.
  const fine = chunkedWithExtensions(1000, 16);
  assertStatus(await post(server.port, '/bytes', fine, { 'Transfer-Encoding': 'chunked' }), 200, 'small extensions', /^bytes=1000$/);
  const data = Buffer.alloc(60 * 1024, 'y');
  const pieces: Buffer[] = [];
  for (let i = 0; i < data.length; i += 1024) pieces.push(Buffer.from('400\r\n'), data.subarray(i, i + 1024), Buffer.from('\r\n'));
  pieces.push(Buffer.from('0\r\n\r\n'));
  assertStatus(await post(server.port, '/bytes', Buffer.concat(pieces), { 'Transfer-Encoding': 'chunked' }), 200, '60 KiB in 1 KiB chunks', /^bytes=61440$/);
});
