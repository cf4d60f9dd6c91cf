// Every guarantee of docs/streaming.md, on HTTP/2 (issue 16 part 2): an App's listener
// mounted on node:http2 (cleartext, prior knowledge), observed frame by frame with
// drupe/testing's h2 client. HOSTILE 44 (a client that never reads).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createGunzip, gunzipSync } from 'node:zlib';
import { HTTPRedirect, HeadersSentError, NotFound, exposed, json, serveFile, sse, type Config, type Context } from '../src/index.js';
import { h2Connect, h2Request, parseEventStream } from '../src/testing.js';
import { startH2 } from './helpers/h2.js';
import { deferred, tick, waitFor, within } from './helpers/async.js';

const STREAM: Config = { 'response.stream': true };
const { NGHTTP2_INTERNAL_ERROR } = http2.constants;

test('B4 on h2: buffered bodies go out whole with their Content-Length and END_STREAM', async (t) => {
  const root = {
    text: exposed(() => 'héllo'),
    data: exposed(() => json({ a: 1 })),
    bytes: exposed(() => Buffer.from([1, 2, 3])),
    joined: exposed(function* () { yield 'a'; yield 'b'; }),
    empty: exposed(({ response }: Context) => { response.status = 204; return ''; }),
  };
  const h2 = await startH2(t, root);
  const cases: Array<[string, number, string | undefined, number]> = [
    ['/text', 200, '6', 6], ['/data', 200, '7', 7], ['/bytes', 200, '3', 3], ['/joined', 200, '2', 2], ['/empty', 204, undefined, 0],
  ];
  for (const [path, status, length, size] of cases) {
    const res = await h2Request(h2.port, { path });
    assert.equal(res.status, status, path);
    assert.equal(res.headers['content-length'], length, path);
    const done = await res.done();
    assert.equal(done.end.kind, 'END_STREAM', path);
    assert.equal(done.body.length, size, path);
  }
});

test('S1 on h2: until the first chunk, an error is a real status (500, 404, 303) with END_STREAM', async (t) => {
  const root = {
    boom: exposed(async function* () { await tick(); throw new Error('before the first chunk'); }, STREAM),
    missing: exposed(function* () { throw new NotFound(); }, STREAM),
    moved: exposed(async function* () { await tick(); throw new HTTPRedirect('/elsewhere'); }, STREAM),
    early: exposed(({ response }: Context) => { response.status = 201; response.headers.set('X-Set', 'before'); return (function* () { yield 'made'; })(); }, STREAM),
  };
  const h2 = await startH2(t, root);
  for (const [path, status] of [['/boom', 500], ['/missing', 404], ['/moved', 303]] as const) {
    const res = await h2Request(h2.port, { path });
    assert.equal(res.status, status, path);
    const done = await res.done();
    assert.equal(done.end.kind, 'END_STREAM', `${path}: a complete error page, not a cut`);
    if (status === 303) assert.equal(res.headers.location, `http://127.0.0.1:${h2.port}/elsewhere`);
  }
  const early = await h2Request(h2.port, { path: '/early' });
  assert.equal(early.status, 201);
  assert.equal(early.headers['x-set'], 'before');
  assert.equal(early.headers['x-accel-buffering'], 'no', 'S8');
  assert.equal(early.headers['x-content-type-options'], 'nosniff', 'S8');
  assert.equal(await early.text(), 'made');
});

test('S2 on h2: a header set after commit throws HeadersSentError at that line; the stream goes on when caught', async (t) => {
  let caught: unknown;
  const root = {
    index: exposed(function* ({ response }: Context) {
      yield 'committed;';
      try {
        response.headers.set('X-Late', 'no');
      } catch (err) {
        caught = err;
      }
      yield 'went on';
    }, STREAM),
  };
  const h2 = await startH2(t, root);
  const res = await h2Request(h2.port, { path: '/' });
  const done = await res.done();
  assert.ok(caught instanceof HeadersSentError);
  assert.equal(res.headers['x-late'], undefined);
  assert.equal(done.end.kind, 'END_STREAM');
  assert.equal(done.body.toString(), 'committed;went on');
});

test('S3 on h2: a Content-Length the handler declares is sent and enforced (too few bytes → RST_STREAM(INTERNAL_ERROR))', async (t) => {
  const root = {
    exact: exposed(function* ({ response }: Context) { response.headers.set('Content-Length', '4'); yield 'ab'; yield 'cd'; }, STREAM),
    short: exposed(function* ({ response }: Context) { response.headers.set('Content-Length', '10'); yield 'ab'; }, STREAM),
  };
  const h2 = await startH2(t, root);
  const exact = await h2Request(h2.port, { path: '/exact' });
  assert.equal(exact.headers['content-length'], '4');
  const ok = await exact.done();
  assert.equal(ok.end.kind, 'END_STREAM');
  assert.equal(ok.body.toString(), 'abcd');
  const short = await h2Request(h2.port, { path: '/short' });
  const cut = await short.done();
  assert.deepEqual(cut.end, { kind: 'RST_STREAM', code: NGHTTP2_INTERNAL_ERROR, name: 'NGHTTP2_INTERNAL_ERROR' });
});

test('S4 / HOSTILE 44 on h2: a client that stops reading holds the producer back through flow control; its other streams are not stalled', async (t) => {
  const TOTAL = 2000; // 1 KiB chunks: 2 MiB if nothing held the producer back
  let produced = 0;
  const root = {
    flood: exposed(function* () {
      const chunk = 'x'.repeat(1024);
      for (let i = 0; i < TOTAL; i++) {
        produced++;
        yield chunk;
      }
    }, STREAM),
    hello: exposed(() => 'hello'),
  };
  const h2 = await startH2(t, root);
  // A small window per stream, a large one for the connection: the paused stream cannot use it all up.
  const connection = await h2Connect(h2.port, { settings: { initialWindowSize: 8192 }, connectionWindow: 4 * 1024 * 1024 });
  t.after(() => connection.disconnect());
  const res = await h2Request(connection, { path: '/flood', paused: true });
  assert.equal(res.status, 200);
  // Wait until the producer stops (bounded): it is held, not finished.
  let last = -1;
  let still = 0;
  await waitFor(() => {
    still = produced === last ? still + 1 : 0;
    last = produced;
    return still >= 20 || produced === TOTAL;
  }, 'the producer to stop');
  const held = produced;
  assert.ok(held < TOTAL / 10, `the producer was held back (${held} of ${TOTAL} chunks produced while the client read nothing)`);
  // Other streams on the same connection go on.
  const other = await h2Request(connection, { path: '/hello' });
  assert.equal(await other.text(), 'hello');
  assert.equal(produced, held, 'still held');
  res.resume();
  const done = await res.done();
  assert.equal(done.end.kind, 'END_STREAM');
  assert.equal(done.body.length, TOTAL * 1024);
  assert.equal(produced, TOTAL);
  t.diagnostic(`chunks produced while the client read nothing: ${held} of ${TOTAL} (1 KiB each; stream window 8 KiB)`);
});

test('S5 on h2: response.onStreamError adds one last DATA frame, then RST_STREAM(INTERNAL_ERROR)', async (t) => {
  const root = {
    index: exposed(function* ({ response }: Context) {
      response.onStreamError = (err) => `{"error":${JSON.stringify((err as Error).message)}}\n`;
      yield '{"n":1}\n';
      throw new Error('db went away');
    }, STREAM),
  };
  const h2 = await startH2(t, root);
  const res = await h2Request(h2.port, { path: '/' });
  const done = await res.done();
  assert.equal(done.body.toString(), '{"n":1}\n{"error":"db went away"}\n');
  assert.equal(done.end.kind, 'RST_STREAM');
  assert.equal(done.end.kind === 'RST_STREAM' && done.end.code, NGHTTP2_INTERNAL_ERROR);
});

test("S1 'immediately' on h2: an error before the first chunk is a cut after the headers (RST_STREAM), as on HTTP/1.1", async (t) => {
  const root = { index: exposed(async function* () { await tick(); throw new Error('no first chunk'); }, { ...STREAM, 'response.stream_commit': 'immediately' }) };
  const h2 = await startH2(t, root);
  const res = await h2Request(h2.port, { path: '/' });
  assert.equal(res.status, 200);
  const done = await res.done();
  assert.equal(done.end.kind, 'RST_STREAM');
});

test('S7 on h2: HEAD sends the headers and END_STREAM, and pulls no further than the commit point', async (t) => {
  let pulls = 0;
  let closed = 0;
  const root = {
    index: exposed(function* () {
      try {
        for (;;) {
          pulls++;
          yield 'x';
        }
      } finally {
        closed++;
      }
    }, STREAM),
  };
  const h2 = await startH2(t, root);
  const res = await h2Request(h2.port, { method: 'HEAD', path: '/' });
  assert.equal(res.status, 200);
  assert.equal(res.headers['content-length'], undefined, 'no length invented');
  const done = await res.done();
  assert.equal(done.end.kind, 'END_STREAM');
  assert.equal(done.body.length, 0);
  assert.equal(pulls, 1, 'pulled once, to its commit point');
  await waitFor(() => closed === 1, 'the producer closed');
});

test('S9 on h2: through tools.gzip, each chunk decompresses on the client before the producer yields the next', async (t) => {
  const gate = deferred();
  let yieldedSecond = false;
  const root = {
    index: exposed(async function* () {
      yield 'first part;';
      await gate.promise;
      yieldedSecond = true;
      yield 'second part;';
    }, { ...STREAM, 'tools.gzip.on': true }),
  };
  const h2 = await startH2(t, root);
  const res = await h2Request(h2.port, { path: '/', headers: { 'accept-encoding': 'gzip' } });
  assert.equal(res.headers['content-encoding'], 'gzip');
  const gunzip = createGunzip();
  let text = '';
  gunzip.on('data', (d: Buffer) => { text += d.toString(); });
  const it = res.chunks()[Symbol.asyncIterator]();
  while (!text.includes('first part;')) {
    const c = await within(it.next(), 'the first compressed DATA');
    assert.equal(c.done, false, 'the stream ended before the first part decoded');
    gunzip.write(c.value.data);
    await new Promise<void>((resolve) => gunzip.flush(() => resolve()));
  }
  assert.equal(yieldedSecond, false, 'decoded before the generator went on');
  gate.resolve();
  const done = await res.done();
  assert.equal(done.end.kind, 'END_STREAM');
  assert.equal(gunzipSync(done.body).toString(), 'first part;second part;');
});

test('S10 on h2: sse() events arrive as they are sent, text/event-stream, no Connection field', async (t) => {
  const gate = deferred();
  const root = {
    events: exposed(() => sse((async function* () {
      yield { event: 'tick', data: '1' };
      await gate.promise;
      yield { event: 'tick', data: '2' };
    })())),
  };
  const h2 = await startH2(t, root);
  const res = await h2Request(h2.port, { path: '/events' });
  assert.match(String(res.headers['content-type']), /^text\/event-stream/);
  assert.equal(res.headers.connection, undefined);
  const it = res.events()[Symbol.asyncIterator]();
  const first = await within(it.next(), 'the first event');
  assert.deepEqual([first.value?.event, first.value?.data], ['tick', '1']);
  gate.resolve();
  const done = await res.done();
  assert.equal(done.end.kind, 'END_STREAM');
  assert.deepEqual(parseEventStream(done.body).map((e) => e.data), ['1', '2']);
});

test('B7 on h2: serveFile sends the file with its Content-Length; Range gets 206 and its part', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'drupe-h2-files-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const content = Buffer.alloc(200_000, 'abcdefghij');
  writeFileSync(join(dir, 'big.txt'), content);
  const root = { default: exposed((ctx: Context) => serveFile(join(dir, ...ctx.args))) };
  const h2 = await startH2(t, root);
  const whole = await h2Request(h2.port, { path: '/big.txt' });
  assert.equal(whole.status, 200);
  assert.equal(whole.headers['content-length'], String(content.length));
  const all = await whole.done();
  assert.equal(all.end.kind, 'END_STREAM');
  assert.ok(all.body.equals(content));
  const part = await h2Request(h2.port, { path: '/big.txt', headers: { range: 'bytes=10-19' } });
  assert.equal(part.status, 206);
  assert.equal(part.headers['content-range'], `bytes 10-19/${content.length}`);
  assert.equal(part.headers['content-length'], '10');
  const some = await part.done();
  assert.equal(some.end.kind, 'END_STREAM');
  assert.equal(some.body.toString(), 'abcdefghij');
});
