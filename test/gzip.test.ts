// tools.gzip (issue 4 part 5) over real sockets: Accept-Encoding negotiation
// with q-values, Vary, what is skipped, buffered bodies with a correct
// Content-Length, streamed bodies flushed after every chunk (S9), and a
// failed compressed stream that stays visibly truncated (S5).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import zlib from 'node:zlib';
import { HTTPError, exposed, json, serveFile, sse, type Config, type Context } from '../src/index.js';
import { rawRequest, streamRequest, type ParsedResponse } from '../src/testing.js';
import { startApp } from './helpers/server.js';
import { deferred, waitFor, within } from './helpers/async.js';
import { req } from './helpers/http.js';
import { TERMINATOR } from './helpers/streaming.js';

const GZIP: Config = { 'tools.gzip.on': true };
const TEXT = 'Drupe compresses this line. '.repeat(40); // 1120 bytes, well over min_size
type Coding = 'gzip' | 'br' | 'deflate';

function decompress(coding: string | undefined, data: Buffer): Buffer {
  if (coding === 'gzip') return zlib.gunzipSync(data);
  if (coding === 'br') return zlib.brotliDecompressSync(data);
  if (coding === 'deflate') return zlib.inflateSync(data);
  return data;
}

/** Decompress what arrived of a stream that may be unfinished (no trailer). */
function decompressPartial(coding: Coding, data: Buffer): Buffer {
  const C = zlib.constants;
  if (coding === 'gzip') return zlib.gunzipSync(data, { finishFlush: C.Z_SYNC_FLUSH });
  if (coding === 'deflate') return zlib.inflateSync(data, { finishFlush: C.Z_SYNC_FLUSH });
  return zlib.brotliDecompressSync(data, { finishFlush: C.BROTLI_OPERATION_FLUSH });
}

/** A client-side decompressor fed chunk by chunk: `feed` returns the text that chunk decodes to. */
function incremental(coding: Coding): { feed(data: Buffer): Promise<string> } {
  const d = coding === 'gzip' ? zlib.createGunzip() : coding === 'deflate' ? zlib.createInflate() : zlib.createBrotliDecompress();
  const out: Buffer[] = [];
  d.on('data', (b: Buffer) => out.push(b));
  return {
    async feed(data) {
      d.write(data);
      await new Promise<void>((resolve) => d.flush(() => resolve()));
      await new Promise((resolve) => setImmediate(resolve));
      return Buffer.concat(out.splice(0)).toString('utf8');
    },
  };
}

async function fetchRaw(port: number, path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<ParsedResponse> {
  const r = await rawRequest(port, req(path, { method, headers: { Connection: 'close', ...headers } }));
  assert.equal(r.responses.length, 1, r.text);
  return r.responses[0]!;
}

// ---------------------------------------------------------------------------
// Negotiation

const NEGOTIATION: Array<[string | undefined, string | undefined]> = [
  [undefined, undefined], // no header: no compression
  ['', undefined],
  ['gzip', 'gzip'],
  ['br', 'br'],
  ['deflate', 'deflate'],
  ['GZIP', 'gzip'],
  ['x-gzip', 'gzip'],
  ['gzip;q=0', undefined],
  ['gzip; q=0.000', undefined],
  ['*;q=0', undefined],
  ['identity;q=0', undefined], // nothing else acceptable: identity is sent anyway, never an error
  ['gzip, identity;q=0', 'gzip'],
  ['gzip, br;q=0.5', 'gzip'],
  ['gzip;q=0.5, br;q=0.5', 'br'], // equal q: br before gzip
  ['deflate, gzip', 'gzip'],
  ['deflate;q=1, gzip;q=0.9', 'deflate'],
  ['*', 'br'],
  ['br;q=0, *', 'gzip'],
  ['br;q=0, gzip;q=0, *;q=0.1', 'deflate'],
  ['gzip;q=0.001', 'gzip'],
  ['gzip;q=0.5, identity', undefined], // identity preferred
  ['gzip;q=2', undefined], // an invalid weight: the entry is ignored
  ['gzip;q=abc, br', 'br'],
  ['compress, sdch', undefined],
  ['gzip, deflate, br, zstd', 'br'],
];

test('Accept-Encoding is negotiated with q-values; the body decompresses to the original; Vary: Accept-Encoding always', async (t) => {
  const server = await startApp({ index: exposed(() => TEXT) }, { '/': GZIP });
  t.after(() => server.close());
  for (const [accept, expected] of NEGOTIATION) {
    const res = await fetchRaw(server.port, '/', accept === undefined ? {} : { 'Accept-Encoding': accept });
    const what = `Accept-Encoding: ${String(accept)}`;
    assert.equal(res.status, 200, what);
    assert.equal(res.headers['content-encoding'], expected, what);
    assert.equal(res.headers.vary, 'Accept-Encoding', what);
    assert.equal(res.framing, 'content-length', what);
    assert.equal(Number(res.headers['content-length']), res.body.length, what);
    assert.equal(decompress(expected, res.body).toString(), TEXT, what);
    if (expected !== undefined) assert.ok(res.body.length < TEXT.length, what);
  }
});

test('tools.gzip.encodings limits and orders the codings offered', async (t) => {
  const server = await startApp({ index: exposed(() => TEXT) }, { '/': { ...GZIP, 'tools.gzip.encodings': ['gzip', 'deflate'] } });
  t.after(() => server.close());
  assert.equal((await fetchRaw(server.port, '/', { 'Accept-Encoding': 'br' })).headers['content-encoding'], undefined);
  assert.equal((await fetchRaw(server.port, '/', { 'Accept-Encoding': 'br, gzip, deflate' })).headers['content-encoding'], 'gzip');
});

test('buffered: Content-Length is the compressed length; HEAD sends the same headers and no body; fetch decodes it', async (t) => {
  const big = 'a larger body, compressed off the main thread; '.repeat(5000);
  const server = await startApp({
    index: exposed(() => TEXT),
    data: exposed(() => json({ rows: Array.from({ length: 50 }, (_, i) => ({ i })) })),
    big: exposed(() => big),
  }, { '/': GZIP });
  t.after(() => server.close());
  const getRes = await fetchRaw(server.port, '/', { 'Accept-Encoding': 'gzip' });
  const head = await fetchRaw(server.port, '/', { 'Accept-Encoding': 'gzip' }, 'HEAD');
  assert.equal(getRes.headers['content-length'], String(getRes.body.length));
  assert.equal(head.headers['content-length'], getRes.headers['content-length']);
  assert.equal(head.headers['content-encoding'], 'gzip');
  assert.equal(head.headers.vary, 'Accept-Encoding');
  assert.equal(head.body.length, 0);
  // A JsonBody is compressed too, and keeps application/json.
  const data = await fetchRaw(server.port, '/data', { 'Accept-Encoding': 'br' });
  assert.equal(data.headers['content-encoding'], 'br');
  assert.equal(data.headers['content-type'], 'application/json');
  assert.equal(JSON.parse(decompress('br', data.body).toString()).rows.length, 50);
  for (const coding of ['gzip', 'br', 'deflate'] as const) {
    const res = await fetchRaw(server.port, '/big', { 'Accept-Encoding': coding });
    assert.equal(res.headers['content-encoding'], coding);
    assert.equal(res.headers['content-length'], String(res.body.length));
    assert.equal(decompress(coding, res.body).toString(), big);
  }
  // fetch (undici) sends its own Accept-Encoding and decodes transparently.
  const viaFetch = await fetch(server.url + '/');
  assert.ok(['gzip', 'br', 'deflate'].includes(viaFetch.headers.get('content-encoding')!));
  assert.equal(await viaFetch.text(), TEXT);
});

test('a buffered generator is compressed whole, with the Content-Type it set before yielding', async (t) => {
  const root = {
    text: exposed(function* () { yield TEXT; yield TEXT; }),
    png: exposed(function* ({ response }: Context) {
      response.headers.set('Content-Type', 'image/png');
      yield TEXT;
    }),
  };
  const server = await startApp(root, { '/': GZIP });
  t.after(() => server.close());
  const text = await fetchRaw(server.port, '/text', { 'Accept-Encoding': 'gzip' });
  assert.equal(text.framing, 'content-length');
  assert.equal(text.headers['content-encoding'], 'gzip');
  assert.equal(decompress('gzip', text.body).toString(), TEXT + TEXT);
  const png = await fetchRaw(server.port, '/png', { 'Accept-Encoding': 'gzip' });
  assert.equal(png.headers['content-encoding'], undefined);
  assert.equal(png.headers.vary, undefined);
  assert.equal(png.body.toString(), TEXT);
});

// ---------------------------------------------------------------------------
// What is skipped

test('skipped: small bodies (min_size), types outside mime_types, bodies already encoded, 204 and 304', async (t) => {
  const pre = zlib.gzipSync(TEXT);
  const root = {
    small: exposed(() => 'tiny'),
    png: exposed(({ response }: Context) => { response.headers.set('Content-Type', 'image/png'); return TEXT; }),
    encoded: exposed(({ response }: Context) => { response.headers.set('Content-Encoding', 'gzip'); response.headers.set('Content-Type', 'text/plain'); return pre; }),
    empty: exposed(({ response }: Context) => { response.status = 204; }),
    unchanged: exposed(({ response }: Context) => { response.status = 304; return ''; }),
    custom: exposed(({ response }: Context) => { response.headers.set('Content-Type', 'application/vnd.api+json; charset=utf-8'); return TEXT; }),
    tiny: { index: exposed(() => 'tiny') },
  };
  const server = await startApp(root, {
    '/': GZIP,
    '/custom': { 'tools.gzip.mime_types': ['application/*+json'] },
    '/tiny': { 'tools.gzip.min_size': 0 },
  });
  t.after(() => server.close());
  const ae = { 'Accept-Encoding': 'gzip, br' };
  const small = await fetchRaw(server.port, '/small', ae);
  assert.equal(small.headers['content-encoding'], undefined);
  assert.equal(small.headers.vary, undefined, 'the same bytes for every client: nothing varies');
  assert.equal(small.body.toString(), 'tiny');
  const png = await fetchRaw(server.port, '/png', ae);
  assert.equal(png.headers['content-encoding'], undefined);
  assert.equal(png.headers.vary, undefined);
  const encoded = await fetchRaw(server.port, '/encoded', ae);
  assert.equal(encoded.headers['content-encoding'], 'gzip');
  assert.deepEqual(encoded.body, pre, 'not compressed twice');
  const empty = await fetchRaw(server.port, '/empty', ae);
  assert.equal(empty.status, 204);
  assert.equal(empty.headers['content-encoding'], undefined);
  assert.equal(empty.body.length, 0);
  const unchanged = await fetchRaw(server.port, '/unchanged', ae);
  assert.equal(unchanged.status, 304);
  assert.equal(unchanged.headers['content-encoding'], undefined);
  // mime_types with a wildcard inside the subtype; min_size 0 compresses even 4 bytes.
  const custom = await fetchRaw(server.port, '/custom', ae);
  assert.equal(custom.headers['content-encoding'], 'br');
  const tiny = await fetchRaw(server.port, '/tiny/', ae);
  assert.equal(tiny.headers['content-encoding'], 'br');
  assert.equal(decompress('br', tiny.body).toString(), 'tiny');
  // identity refused: a small body is compressed after all.
  const refused = await fetchRaw(server.port, '/small', { 'Accept-Encoding': 'gzip, identity;q=0' });
  assert.equal(refused.headers['content-encoding'], 'gzip');
  assert.equal(decompress('gzip', refused.body).toString(), 'tiny');
});

test("Vary keeps the handler's own fields; a strong ETag becomes weak when compressed", async (t) => {
  const root = exposed(({ response }: Context) => {
    response.headers.set('Vary', 'Cookie');
    response.headers.set('ETag', '"v1"');
    return TEXT;
  });
  const server = await startApp({ index: root }, { '/': GZIP });
  t.after(() => server.close());
  const gz = await fetchRaw(server.port, '/', { 'Accept-Encoding': 'gzip' });
  assert.equal(gz.headers.vary, 'Cookie, Accept-Encoding');
  assert.equal(gz.headers.etag, 'W/"v1"');
  const plain = await fetchRaw(server.port, '/');
  assert.equal(plain.headers.vary, 'Cookie, Accept-Encoding');
  assert.equal(plain.headers.etag, '"v1"');
});

test('with tools.etags: the compressed response has a weak ETag, and If-None-Match with it is a 304', async (t) => {
  const server = await startApp({ index: exposed(() => TEXT) }, { '/': { ...GZIP, 'tools.etags.on': true, 'tools.etags.autotags': true } });
  t.after(() => server.close());
  const first = await fetchRaw(server.port, '/', { 'Accept-Encoding': 'gzip' });
  const tag = first.headers.etag!;
  assert.match(tag, /^W\/"/);
  const again = await fetchRaw(server.port, '/', { 'Accept-Encoding': 'gzip', 'If-None-Match': tag });
  assert.equal(again.status, 304);
  assert.equal(again.body.length, 0);
  assert.equal(again.headers['content-encoding'], undefined);
});

test('a file: compressed and sent chunked (never whole in memory), no Accept-Ranges; a Range request gets identity bytes', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'drupe-gzip-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'page.txt');
  const content = 'line of a text file\n'.repeat(5000);
  writeFileSync(path, content);
  const server = await startApp({ file: exposed(() => serveFile(path)) }, { '/': GZIP });
  t.after(() => server.close());
  const res = await fetchRaw(server.port, '/file', { 'Accept-Encoding': 'gzip' });
  assert.equal(res.status, 200);
  assert.equal(res.headers['content-encoding'], 'gzip');
  assert.equal(res.framing, 'chunked');
  assert.equal(res.headers['content-length'], undefined);
  assert.equal(res.headers['accept-ranges'], undefined);
  assert.ok(res.complete);
  assert.equal(decompress('gzip', res.body).toString(), content);
  const head = await fetchRaw(server.port, '/file', { 'Accept-Encoding': 'gzip' }, 'HEAD');
  assert.equal(head.headers['content-encoding'], 'gzip');
  assert.equal(head.headers['content-length'], undefined);
  assert.equal(head.body.length, 0);
  const range = await fetchRaw(server.port, '/file', { 'Accept-Encoding': 'gzip', Range: 'bytes=0-9' });
  assert.equal(range.status, 206);
  assert.equal(range.headers['content-encoding'], undefined);
  assert.equal(range.body.toString(), content.slice(0, 10));
  const plain = await fetchRaw(server.port, '/file');
  assert.equal(plain.headers['content-length'], String(content.length));
  assert.equal(plain.headers['accept-ranges'], 'bytes');
});

// ---------------------------------------------------------------------------
// Streamed bodies: flushed per chunk (S9), truncated on failure (S5)

for (const coding of ['gzip', 'br', 'deflate'] as const) {
  test(`streamed ${coding}: the first chunk decompresses on the client before the generator yields the second`, async (t) => {
    const gate = deferred();
    let yieldedSecond = false;
    const root = {
      index: exposed(async function* () {
        yield 'first part;';
        await gate.promise;
        yieldedSecond = true;
        yield 'second part;';
      }, { 'response.stream': true }),
    };
    const server = await startApp(root, { '/': GZIP });
    t.after(() => server.close());
    const res = await streamRequest(server.port, { path: '/', headers: { 'Accept-Encoding': coding } });
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-encoding'], coding);
    assert.equal(res.headers.vary, 'Accept-Encoding');
    assert.equal(res.framing, 'chunked');
    const client = incremental(coding);
    const it = res.chunks()[Symbol.asyncIterator]();
    let text = '';
    while (!text.includes('first part;')) {
      const c = await within(it.next(), 'the first compressed chunk');
      assert.equal(c.done, false, 'the stream ended before the first part decoded');
      text += await client.feed(c.value.data);
    }
    assert.equal(text, 'first part;');
    assert.equal(yieldedSecond, false, 'decoded before the generator went on');
    gate.resolve();
    for (;;) {
      const c = await within(it.next(), 'the rest of the stream');
      if (c.done) break;
      text += await client.feed(c.value.data);
    }
    const done = await res.done();
    assert.ok(done.complete);
    assert.equal(text, 'first part;second part;');
    assert.equal(decompress(coding, done.body).toString(), 'first part;second part;', 'a complete stream, trailer included');
  });
}

test('an SSE stream through gzip: each event decodes as it arrives', async (t) => {
  const gates = [deferred(), deferred()];
  const root = {
    events: exposed(() => sse((async function* () {
      yield { event: 'tick', data: '1' };
      await gates[0]!.promise;
      yield { event: 'tick', data: '2' };
      await gates[1]!.promise;
    })())),
  };
  const server = await startApp(root, { '/': GZIP });
  t.after(() => server.close());
  const res = await streamRequest(server.port, { path: '/events', headers: { 'Accept-Encoding': 'gzip' } });
  assert.equal(res.headers['content-encoding'], 'gzip');
  assert.match(res.headers['content-type']!, /^text\/event-stream/);
  const client = incremental('gzip');
  const it = res.chunks()[Symbol.asyncIterator]();
  let text = '';
  for (const [gate, expected] of [[gates[0]!, 'data: 1'], [gates[1]!, 'data: 2']] as const) {
    while (!text.includes(expected)) {
      const c = await within(it.next(), expected);
      assert.equal(c.done, false);
      text += await client.feed(c.value.data);
    }
    gate.resolve();
  }
  assert.ok((await res.done()).complete);
  assert.equal(text, 'event: tick\ndata: 1\n\nevent: tick\ndata: 2\n\n');
});

for (const coding of ['gzip', 'br', 'deflate'] as const) {
  test(`a compressed (${coding}) stream that fails mid-way is truncated: no chunked terminator, no ${coding} trailer`, async (t) => {
    const root = {
      index: exposed(async function* () {
        yield 'good part;';
        await new Promise((resolve) => setImmediate(resolve));
        throw new Error('boom');
      }, { 'response.stream': true }),
    };
    const server = await startApp(root, { '/': GZIP });
    t.after(() => server.close());
    const r = await rawRequest(server.port, req('/', { headers: { 'Accept-Encoding': coding } }));
    const res = r.responses[0]!;
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-encoding'], coding);
    assert.equal(res.framing, 'chunked');
    assert.equal(res.complete, false);
    assert.ok(r.closedByServer);
    assert.ok(!r.text.endsWith(TERMINATOR));
    assert.equal(decompressPartial(coding, res.body).toString(), 'good part;');
    assert.throws(() => decompress(coding, res.body), 'the compressed stream is unfinished too');
  });

  test(`a failed SSE stream through ${coding}: the in-band error event decodes, then the cut`, async (t) => {
    const root = {
      events: exposed(() => sse((async function* () {
        yield { data: 'one' };
        await new Promise((resolve) => setImmediate(resolve));
        throw new Error('boom');
      })())),
    };
    const server = await startApp(root, { '/': GZIP });
    t.after(() => server.close());
    const r = await rawRequest(server.port, req('/events', { headers: { 'Accept-Encoding': coding } }));
    const res = r.responses[0]!;
    assert.equal(res.headers['content-encoding'], coding);
    assert.equal(res.complete, false);
    const text = decompressPartial(coding, res.body).toString();
    assert.equal(text, 'data: one\n\nevent: stream-error\ndata: The stream failed\n\n');
    assert.throws(() => decompress(coding, res.body));
  });
}

test('a compressed stream failing before its first chunk with stream_commit immediately: the error event is a valid compressed start', async (t) => {
  const root = {
    events: exposed(() => sse((async function* () {
      await new Promise((resolve) => setImmediate(resolve));
      throw new Error('boom');
    })()), { 'response.stream_commit': 'immediately' }),
  };
  const server = await startApp(root, { '/': GZIP });
  t.after(() => server.close());
  const r = await rawRequest(server.port, req('/events', { headers: { 'Accept-Encoding': 'gzip' } }));
  const res = r.responses[0]!;
  assert.equal(res.status, 200);
  assert.equal(res.headers['content-encoding'], 'gzip');
  assert.equal(res.complete, false);
  assert.equal(decompressPartial('gzip', res.body).toString(), 'event: stream-error\ndata: The stream failed\n\n');
});

test('a client that leaves a compressed stream: the generator is finalized and no more chunks are pulled', async (t) => {
  let pulled = 0;
  let finalized = false;
  const root = {
    index: exposed(async function* () {
      try {
        for (;;) {
          pulled++;
          yield `chunk ${pulled};`;
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
      } finally {
        finalized = true;
      }
    }, { 'response.stream': true }),
  };
  const server = await startApp(root, { '/': GZIP });
  t.after(() => server.close());
  const res = await streamRequest(server.port, { path: '/', headers: { 'Accept-Encoding': 'gzip' } });
  assert.equal(res.headers['content-encoding'], 'gzip');
  const it = res.chunks()[Symbol.asyncIterator]();
  await within(it.next(), 'a first chunk');
  res.disconnect();
  await waitFor(() => finalized, 'the generator finally block');
  const at = pulled;
  await new Promise((resolve) => setTimeout(resolve, 30));
  assert.equal(pulled, at);
});

test("streamed: a Content-Type set in the generator before its first yield decides; the handler's Content-Length is dropped", async (t) => {
  const root = {
    png: exposed(async function* ({ response }: Context) {
      response.headers.set('Content-Type', 'image/png');
      yield TEXT;
    }, { 'response.stream': true }),
    sized: exposed(({ response }: Context) => {
      response.headers.set('Content-Length', String(TEXT.length));
      return (function* () { yield TEXT; })();
    }, { 'response.stream': true }),
    early: exposed(async function* () {
      throw new HTTPError(409, 'not now');
    }, { 'response.stream': true }),
  };
  const server = await startApp(root, { '/': GZIP });
  t.after(() => server.close());
  const png = await fetchRaw(server.port, '/png', { 'Accept-Encoding': 'gzip' });
  assert.equal(png.headers['content-encoding'], undefined);
  assert.equal(png.body.toString(), TEXT);
  const sized = await fetchRaw(server.port, '/sized', { 'Accept-Encoding': 'gzip' });
  assert.equal(sized.headers['content-encoding'], 'gzip');
  assert.equal(sized.headers['content-length'], undefined);
  assert.equal(sized.framing, 'chunked');
  assert.ok(sized.complete);
  assert.equal(decompress('gzip', sized.body).toString(), TEXT);
  // An HTTP error before the first chunk is the plain error page, not compressed.
  const early = await fetchRaw(server.port, '/early', { 'Accept-Encoding': 'gzip' });
  assert.equal(early.status, 409);
  assert.equal(early.headers['content-encoding'], undefined);
  assert.match(early.body.toString(), /not now/);
});

test('streamed HEAD gets the headers a GET would, and the generator runs only to its first chunk', async (t) => {
  let ran = 0;
  const root = { index: exposed(function* () { ran++; yield TEXT; ran++; yield TEXT; }, { 'response.stream': true }) };
  const server = await startApp(root, { '/': GZIP });
  t.after(() => server.close());
  const head = await fetchRaw(server.port, '/', { 'Accept-Encoding': 'br' }, 'HEAD');
  assert.equal(head.status, 200);
  assert.equal(head.headers['content-encoding'], 'br');
  assert.equal(head.headers.vary, 'Accept-Encoding');
  assert.equal(head.body.length, 0);
  assert.equal(ran, 1);
});

test('bad option values are refused at start-up: a wrong type, and an out-of-range level', async () => {
  const { App } = await import('../src/index.js');
  assert.throws(() => new App({ index: exposed(() => 'x') }, { '/': { ...GZIP, 'tools.gzip.mime_types': 'text/*' } }), /expected a list/);
  assert.throws(() => new App({ index: exposed(() => 'x') }, { '/': { ...GZIP, 'tools.gzip.level': '9' } }), /expected a number/);
  assert.throws(() => new App({ index: exposed(() => TEXT) }, { '/': { ...GZIP, 'tools.gzip.level': 42 } }), {
    code: 'DRUPE_ERR_CONFIG_VALUE',
    message: "Config key 'tools.gzip.level' in section '/': expected an integer -1 … 9, got 42",
  });
});
