// serve() on other runtimes (issue 16 part 4): test/fixtures/runtime-server.mjs, which imports the
// built package (dist/), runs in a real node, bun and deno process, and this node test drives it
// over 127.0.0.1. Node runs the same cases as the reference. bun and deno are devDependencies
// (npm ci puts them in node_modules/.bin): a runtime that is missing fails its tests, never skips.
// What differs per runtime is asserted as it is, and docs/protocols.md says why.
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import zlib from 'node:zlib';
import { rawRequest, streamRequest, type StreamingResponse } from '../src/testing.js';
import { waitFor, within } from './helpers/async.js';
import { req } from './helpers/http.js';
import { GUARD, checkWebSocket, nextChunk, readUntil, startFixture, type Fixture, type Mode, type RuntimeName } from './helpers/runtime-fixture.js';

// serve() on each runtime's node:http, and app.fetch under Bun.serve and Deno.serve.
const RUNS: ReadonlyArray<readonly [RuntimeName, Mode]> = [['node', 'serve'], ['bun', 'serve'], ['deno', 'serve'], ['bun', 'fetch'], ['deno', 'fetch']];

for (const [runtime, mode] of RUNS) {
  const name = mode === 'serve' ? runtime : `${runtime} app.fetch`;
  describe(mode === 'serve' ? `serve() on ${runtime}` : `app.fetch under ${runtime === 'bun' ? 'Bun.serve' : 'Deno.serve'}`, () => {
    let dir = '';
    let fx: Fixture;
    // Each test waits for the start, so a runtime that is missing or fails to start fails every
    // test with the reason (a failed before() hook would only cancel them).
    let started: Promise<Fixture>;
    before(() => {
      dir = mkdtempSync(join(tmpdir(), `drupe-runtime-${runtime}-${mode}-`));
      started = startFixture(runtime, mode, dir);
      started.then((f) => { fx = f; }, () => undefined);
    });
    beforeEach(async () => { await started; });
    after(async () => {
      const f = await started.catch(() => undefined);
      if (f !== undefined && f.child.exitCode === null && f.child.signalCode === null && f.child.pid !== undefined) process.kill(f.child.pid, 'SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    });

    test(`${name}: a buffered body with Content-Length`, async () => {
      const r = await rawRequest(fx.port, req('/hello', { headers: { Connection: 'close' } }));
      const res = r.responses[0]!;
      assert.equal(res.status, 200);
      assert.equal(res.framing, 'content-length');
      assert.equal(res.headers['content-length'], '5');
      assert.equal(res.body.toString(), 'hello');
      assert.ok(res.complete);
    });

    test(`${name}: keep-alive, two requests on one HTTP/1.1 connection`, async () => {
      const r = await rawRequest(fx.port, [req('/hello'), req('/hello', { headers: { Connection: 'close' } })], { delayBetweenMs: 20 });
      assert.equal(r.responses.length, 2, r.text);
      for (const res of r.responses) assert.equal(res.body.toString(), 'hello');
    });

    test(`${name}: HTTP/1.0 with Connection: keep-alive`, async () => {
      const r = await rawRequest(fx.port, [req('/hello', { version: '1.0', headers: { Connection: 'keep-alive' } }), req('/hello', { version: '1.0' })], { delayBetweenMs: 20 });
      const first = r.responses[0]!;
      assert.equal(first.body.toString(), 'hello');
      if (runtime === 'bun') {
        // Bun ignores an HTTP/1.0 client's keep-alive and closes after the first response: its
        // node:http answers `Connection: close` (plain node:http on Bun does the same), Bun.serve
        // sends no Connection field (docs/protocols.md).
        assert.equal(first.headers.connection, mode === 'serve' ? 'close' : undefined);
        assert.equal(r.responses.length, 1, r.text);
      } else {
        assert.equal(first.headers.connection, 'keep-alive');
        assert.equal(r.responses.length, 2, r.text);
      }
      assert.equal(r.closedByServer, true);
      // HTTP/1.0 allows a request without Host: Bun.serve gives it a path-only url, which
      // app.fetch reads against localhost (it failed it before, and Bun answered its own 500).
      const hostless = await rawRequest(fx.port, req('/hello', { version: '1.0', host: null }));
      assert.equal(hostless.responses[0]?.status, 200, hostless.text);
      assert.equal(hostless.responses[0]?.body.toString(), 'hello');
    });

    test(`${name}: request bodies: Content-Length, chunked, Expect: 100-continue`, async () => {
      const sized = await rawRequest(fx.port, 'POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello');
      assert.equal(sized.responses[0]?.body.toString(), 'POST HTTP/1.1 5');
      const chunked = await rawRequest(fx.port, 'POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n3\r\nabc\r\n0\r\n\r\n');
      assert.equal(chunked.responses[0]?.body.toString(), 'POST HTTP/1.1 8');
      const expect = await rawRequest(fx.port, ['POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n', 'hello'], { delayBetweenMs: 50 });
      assert.deepEqual(expect.responses.map((res) => res.status), [100, 200], expect.text);
      assert.equal(expect.responses[1]?.body.toString(), 'POST HTTP/1.1 5');
    });

    test(`${name}: a malformed request gets 400 and a closed connection`, async () => {
      const r = await rawRequest(fx.port, 'GET / HTTP/1.1\r\nHost: a\r\nContent-Length: x\r\n\r\n');
      assert.equal(r.responses[0]?.status, 400, r.text);
      assert.equal(r.closedByServer, true);
    });

    test(`${name}: a streamed body arrives chunk by chunk, as produced`, async () => {
      const res = await streamRequest(fx.port, { path: '/stream?gate=s1', timeoutMs: GUARD });
      assert.equal(res.status, 200);
      assert.equal(res.framing, 'chunked');
      const it = res.chunks()[Symbol.asyncIterator]();
      // The producer is held at its gate: the first chunk has to come before it goes on.
      assert.equal(await readUntil(it, 'first;', 'the first chunk'), 'first;');
      fx.send('open s1');
      const done = await within(res.done(), 'the end of the stream', GUARD);
      assert.equal(done.body.toString(), 'first;second;third');
      assert.equal(done.complete, true);
      await fx.line('finally stream s1');
    });

    test(`${name}: a failure after commit is visible: no terminating chunk`, async () => {
      const res = await streamRequest(fx.port, { path: '/truncated', timeoutMs: GUARD });
      assert.equal(res.status, 200);
      assert.equal(res.framing, 'chunked');
      const done = await within(res.done(), 'the cut', GUARD);
      assert.equal(done.body.toString(), 'partial;');
      assert.equal(done.complete, false, 'a truncated body must not look complete');
      assert.equal(done.aborted, true);
      if (mode === 'serve') {
        // HTTP/1.0 has no chunks: the body is close-delimited and the cut reads as its end; only
        // the access line can tell (checked at the graceful close below).
        const old = await rawRequest(fx.port, req('/truncated', { version: '1.0' }));
        assert.equal(old.responses[0]?.headers['transfer-encoding'], undefined, old.text);
        assert.equal(old.responses[0]?.body.toString(), 'partial;');
      }
    });

    test(`${name}: sse() events arrive as they are produced`, async () => {
      const res = await streamRequest(fx.port, { path: '/events?gate=e1', timeoutMs: GUARD });
      assert.equal(res.status, 200);
      assert.match(res.headers['content-type'] ?? '', /^text\/event-stream/);
      assert.equal(res.headers['cache-control'], 'no-cache');
      const events = res.events()[Symbol.asyncIterator]();
      const first = await within(events.next(), 'the first event', GUARD);
      assert.equal(first.value?.data, 'one');
      fx.send('open e1');
      const second = await within(events.next(), 'the second event', GUARD);
      assert.deepEqual({ data: second.value?.data, event: second.value?.event, id: second.value?.id }, { data: 'two', event: 'update', id: '2' });
      assert.equal((await within(res.done(), 'the end', GUARD)).complete, true);
    });

    test(`${name}: serveFile, whole and by Range`, async () => {
      const ranges = [undefined, 'bytes=2-4', 'bytes=40-'];
      const ask = (range: string | undefined, close: boolean): string => req('/file', { headers: { ...(range === undefined ? {} : { Range: range }), ...(close ? { Connection: 'close' } : {}) } });
      // Bun.serve cuts a streamed response (a file is one) when the next request on its connection
      // arrives before it is done, as a bare Bun.serve does (docs/protocols.md): one connection each there.
      const responses = runtime === 'bun' && mode === 'fetch'
        ? await Promise.all(ranges.map(async (range) => (await rawRequest(fx.port, ask(range, true))).responses[0]))
        : (await rawRequest(fx.port, ranges.map((range, i) => ask(range, i === ranges.length - 1)), { delayBetweenMs: 20 })).responses;
      const [whole, part, none] = responses;
      assert.ok(responses.length === 3 && whole !== undefined && part !== undefined && none !== undefined, 'three responses');
      assert.equal(whole.status, 200);
      if (runtime === 'bun' && mode === 'fetch') {
        // Bun.serve sends a ReadableStream body chunked and drops the Content-Length the response
        // declares (docs/protocols.md); the bytes are the same.
        assert.equal(whole.framing, 'chunked');
        assert.equal(whole.headers['content-length'], undefined);
      } else {
        assert.equal(whole.headers['content-length'], '26');
      }
      assert.ok(whole.complete);
      assert.equal(whole.body.toString(), 'abcdefghijklmnopqrstuvwxyz');
      assert.equal(whole.headers['accept-ranges'], 'bytes');
      assert.equal(part.status, 206);
      assert.equal(part.headers['content-range'], 'bytes 2-4/26');
      assert.equal(part.body.toString(), 'cde');
      assert.equal(none.status, 416);
      assert.equal(none.headers['content-range'], 'bytes */26');
    });

    test(`${name}: gzip is flushed per chunk`, async () => {
      const res = await streamRequest(fx.port, { path: '/gzip?gate=g1', headers: { 'Accept-Encoding': 'gzip' }, timeoutMs: GUARD });
      assert.equal(res.headers['content-encoding'], 'gzip');
      const it = res.chunks()[Symbol.asyncIterator]();
      // What arrives before the gate opens inflates to the whole first chunk.
      let got = Buffer.alloc(0);
      let text = '';
      for (let i = 0; i < 100 && text.length < 240; i++) {
        got = Buffer.concat([got, Buffer.from(await nextChunk(it, 'a gzip chunk'), 'latin1')]);
        text = zlib.gunzipSync(got, { finishFlush: zlib.constants.Z_SYNC_FLUSH }).toString();
      }
      assert.equal(text, 'gzipped-one;'.repeat(20));
      fx.send('open g1');
      const done = await within(res.done(), 'the end', GUARD);
      assert.equal(done.complete, true);
      assert.equal(zlib.gunzipSync(done.body).toString(), 'gzipped-one;'.repeat(20) + 'gzipped-two;'.repeat(20));
    });

    test(`${name}: backpressure: a client that stops reading holds the producer`, async (t) => {
      const res = await streamRequest(fx.port, { path: '/flood', paused: true, timeoutMs: GUARD });
      assert.equal(res.status, 200);
      // Stop reading for a second (a pause, not a measurement): the producer must stop too, far
      // short of the 32 MiB it would make for a client that reads.
      await new Promise((r) => setTimeout(r, 1000));
      const produced = fx.lines.filter((l) => l.startsWith('flood ')).length;
      t.diagnostic(`${name}: ${produced} MiB produced while the client read nothing`);
      assert.ok(produced < 16, `produced ${produced} MiB for a client that reads nothing`);
      res.resume();
      const done = await within(res.done(), 'the whole flood', GUARD);
      assert.equal(done.complete, true);
      assert.equal(done.body.length, 32 * 1024 * 1024);
      await fx.line('flood 32');
    });

    test(`${name}: a client that goes away mid-stream aborts request.signal and finalizes the producer`, async () => {
      const res: StreamingResponse = await streamRequest(fx.port, { path: '/forever', timeoutMs: GUARD });
      const it = res.chunks()[Symbol.asyncIterator]();
      await readUntil(it, 'tick 1', 'two ticks');
      res.disconnect();
      await fx.line('finally forever aborted=true');
    });

    test(`${name}: HEAD never pulls past the commit point, and sends no body`, async () => {
      const r = await rawRequest(fx.port, req('/head', { method: 'HEAD' }) + req('/headfirst', { method: 'HEAD', headers: { Connection: 'close' } }), { methods: ['HEAD', 'HEAD'] });
      assert.equal(r.responses.length, 2, r.text);
      for (const res of r.responses) {
        assert.equal(res.status, 200);
        assert.equal(res.body.length, 0);
        // app.fetch answers such a HEAD over an empty stream; Bun.serve still adds
        // `Content-Length: 0` to it (the runtime's, not Drupe's: docs/protocols.md).
        assert.equal(res.headers['content-length'], runtime === 'bun' && mode === 'fetch' ? '0' : undefined);
      }
      await fx.line('finally headfirst');
      await rawRequest(fx.port, req('/marker?n=head', { headers: { Connection: 'close' } }));
      await fx.line('marker head');
      assert.ok(!fx.lines.includes('pulled head'), fx.lines.join('\n'));
      assert.ok(!fx.lines.includes('pulled headfirst again'), fx.lines.join('\n'));
    });

    if (mode === 'serve') {
      test(`${name}: WebSocket: echo, close codes both ways, 1009 past websocket.max_message_size`, async () => {
        await checkWebSocket(fx, `ws://127.0.0.1:${fx.port}`);
      });

      test(`${name}: SIGTERM under engine.signals() stops gracefully: an open stream finishes, exit 0`, async (t) => {
        const own = mkdtempSync(join(tmpdir(), `drupe-runtime-${runtime}-signals-`));
        t.after(() => rmSync(own, { recursive: true, force: true }));
        const sig = await startFixture(runtime, mode, own, ['signals']);
        t.after(() => {
          if (sig.child.exitCode === null && sig.child.signalCode === null && sig.child.pid !== undefined) process.kill(sig.child.pid, 'SIGKILL');
        });
        const res = await streamRequest(sig.port, { path: '/stream?gate=t1', timeoutMs: GUARD });
        const it = res.chunks()[Symbol.asyncIterator]();
        await readUntil(it, 'first;', 'the first chunk');
        process.kill(sig.child.pid!, 'SIGTERM');
        await waitFor(() => /SIGTERM received/.test(sig.stderr() + sig.lines.join('\n')), 'the engine to take the signal', GUARD);
        sig.send('open t1');
        const done = await within(res.done(), 'the end of the stream', GUARD);
        assert.equal(done.body.toString(), 'first;second;third');
        assert.equal(done.complete, true);
        assert.equal(await within(sig.exited, `${name} to exit`, GUARD), 0);
      });
    }

    test(`${name}: a graceful close lets an open stream finish, then the process ends`, async () => {
      const res = await streamRequest(fx.port, { path: '/stream?gate=c1', timeoutMs: GUARD });
      const it = res.chunks()[Symbol.asyncIterator]();
      await readUntil(it, 'first;', 'the first chunk');
      fx.send('close');
      fx.send('open c1');
      const done = await within(res.done(), 'the end of the stream', GUARD);
      assert.equal(done.body.toString(), 'first;second;third');
      assert.equal(done.complete, true);
      await fx.line('closed');
      assert.equal(await within(fx.exited, `${name} to exit`, GUARD), 0);
      // The access log, flushed by the close, has a line for each request, with its outcome.
      const access = readFileSync(join(dir, 'access.log'), 'utf8');
      assert.match(access, /"GET \/hello HTTP\/1\.1" 200 5 /);
      const truncated = access.split('\n').find((l) => l.includes('"GET /truncated HTTP/1.1" 200 '));
      assert.match(truncated ?? '', /outcome=error/);
      // The client saw the chunked cut (above): no note. (Bun's node:http leaves
      // `res.chunkedEncoding` false on a chunked body; the log reads its other flag.)
      assert.doesNotMatch(truncated ?? '', /truncation=/);
      if (mode === 'serve') {
        const old = access.split('\n').find((l) => l.includes('"GET /truncated HTTP/1.0" 200 '));
        assert.match(old ?? '', /outcome=error ttfb=\S+ truncation=invisible$/, 'a close-delimited cut is named in the log');
      }
      assert.match(access, /"GET \/forever HTTP\/1\.1" 200 .*outcome=client-closed/);
      // A web Request carries no HTTP version: under app.fetch every request is HTTP/1.1 to Drupe.
      assert.match(access, mode === 'serve' ? /"GET \/hello HTTP\/1\.0" 200 5 / : /"GET \/hello HTTP\/1\.1" 200 5 /);
    });
  });
}

// tree.fetch under each runtime's own server: the fixture's app at /app beside another at /other.
for (const runtime of ['bun', 'deno'] as const) {
  test(`tree.fetch under ${runtime === 'bun' ? 'Bun.serve' : 'Deno.serve'}: the longest script name's app answers, scriptName right, a plain 404 elsewhere`, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), `drupe-runtime-${runtime}-tree-`));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const fx = await startFixture(runtime, 'tree', dir);
    t.after(() => {
      if (fx.child.exitCode === null && fx.child.signalCode === null && fx.child.pid !== undefined) process.kill(fx.child.pid, 'SIGKILL');
    });
    const r = await rawRequest(fx.port, [
      req('/app/where'), req('/other/'), req('/apps/where'), req('/app/nothing'), req('/nowhere', { method: 'HEAD' }), req('/app/hello', { headers: { Connection: 'close' } }),
    ], { delayBetweenMs: 20, methods: ['GET', 'GET', 'GET', 'GET', 'HEAD', 'GET'] });
    assert.equal(r.responses.length, 6, r.text);
    const [where, other, notFound, appNotFound, head, hello] = r.responses as [typeof r.responses[0], typeof r.responses[0], typeof r.responses[0], typeof r.responses[0], typeof r.responses[0], typeof r.responses[0]];
    assert.equal(where.body.toString(), '/app|/where|HTTP/1.1');
    assert.equal(other.body.toString(), 'other /other|/');
    assert.equal(notFound.status, 404);
    assert.equal(notFound.body.toString(), 'Not Found\n');
    assert.equal(notFound.headers['content-type'], 'text/plain;charset=utf-8');
    // A path the app takes but has no handler for: the app's own 404 page, not the tree's.
    assert.equal(appNotFound.status, 404);
    assert.match(appNotFound.headers['content-type'] ?? '', /^text\/html/);
    assert.equal(head.status, 404);
    assert.equal(head.body.length, 0);
    assert.equal(hello.body.toString(), 'hello');
    // A streamed body through the tree: as produced, the producer held at its gate.
    const res = await streamRequest(fx.port, { path: '/app/stream?gate=tree', timeoutMs: GUARD });
    const it = res.chunks()[Symbol.asyncIterator]();
    assert.equal(await readUntil(it, 'first;', 'the first chunk'), 'first;');
    fx.send('open tree');
    const done = await within(res.done(), 'the end of the stream', GUARD);
    assert.equal(done.body.toString(), 'first;second;third');
    assert.equal(done.complete, true);
    await fx.line('finally stream tree');
  });
}
