// Streams that fail or lose their client (S5, S6 of docs/contract.md; HOSTILE 20–22, 24; issue 3 parts 6, 7, 12),
// asserted on raw bytes over real sockets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import {
  RequestAbortedError, abortable, exposed, sleep,
  type Config, type Context,
} from '../src/index.js';
import { rawRequest, streamRequest, type StreamingResponse } from '../src/testing.js';
import { startApp } from './helpers/server.js';
import { deferred, tick, waitFor, within } from './helpers/async.js';
import { req } from './helpers/http.js';
import { requestIdOf, startLogged } from './helpers/streaming.js';

const STREAM: Config = { 'response.stream': true };

/** The raw chunked bytes of one HTTP chunk. */
const chunkOf = (s: string): string => `${Buffer.byteLength(s).toString(16)}\r\n${s}\r\n`;

function codeOf(reason: unknown): string | undefined {
  return reason instanceof RequestAbortedError ? reason.code : undefined;
}

// ---------------------------------------------------------------------------
// S5: truncation is visible

test('S5 / HOSTILE 21: a generator that throws after its first yield → first chunk, no terminator, socket destroyed, never reused', async (t) => {
  let finallyRan = 0;
  const root = {
    sync: exposed(function* () {
      try {
        yield 'first';
        throw new Error('sync generator broke');
      } finally {
        finallyRan++;
      }
    }),
    async: exposed(async function* () {
      try {
        yield 'first';
        await tick();
        throw new Error('async generator broke');
      } finally {
        finallyRan++;
      }
    }),
    next: exposed(() => 'next'),
  };
  const logged = await startLogged(t, root, {}, STREAM);
  for (const path of ['/sync', '/async']) {
    const r = await rawRequest(logged.server.port, req(path) + req('/next'));
    assert.ok(r.closedByServer, path);
    assert.equal(r.responses.length, 1, `${path}: the connection is not reused`);
    const res = r.responses[0]!;
    assert.equal(res.status, 200, path);
    assert.equal(res.framing, 'chunked', path);
    assert.equal(res.complete, false, path);
    assert.ok(r.text.includes(chunkOf('first')), path);
    assert.ok(r.text.endsWith(chunkOf('first')), `${path}: nothing after the first chunk: ${JSON.stringify(r.text)}`);
    assert.ok(!r.text.includes('0\r\n\r\n'), path);
    assert.ok(!r.text.includes('next'), path);
  }
  assert.equal(finallyRan, 2);

  // The client tool tells the cut body from a complete one.
  const s = await streamRequest(logged.server.port, { path: '/sync' });
  const done = await s.done();
  assert.equal(done.complete, false);
  assert.equal(done.aborted, true);
  assert.equal(done.body.toString(), 'first');

  const { access, error } = await logged.logs();
  const lines = access.trim().split('\n').filter((l) => l.includes('"GET /sync') || l.includes('"GET /async'));
  assert.equal(lines.length, 3, access);
  for (const line of lines) {
    assert.match(line, / 200 5 /, `status and the bytes actually sent: ${line}`);
    assert.match(line, /outcome=error/, line);
    assert.match(line, /ttfb=\d/, line);
    const id = requestIdOf(line);
    const entry = error.split(/\n(?=\d{4}-\d\d-\d\dT)/).find((e) => e.includes(`[${id}]`));
    assert.ok(entry !== undefined, `the error log names request ${id}: ${error}`);
    assert.match(entry, /generator broke/);
    assert.match(entry, /^\s+at /m, 'with the stack');
  }
  assert.equal((error.match(/(?<!a)sync generator broke/g) ?? []).length, 2, 'logged once per failure');
});

test('S5: a Node Readable or a web ReadableStream that errors mid-way is truncated the same way', async (t) => {
  let readableDestroyed = false;
  const root = {
    readable: exposed(() => {
      let n = 0;
      return new Readable({
        read() {
          if (n++ === 0) this.push('first');
          else setImmediate(() => this.destroy(new Error('readable broke')));
        },
        destroy(err, cb) { readableDestroyed = true; cb(err); },
      });
    }),
    web: exposed(() => {
      let n = 0;
      return new ReadableStream<string>({
        pull(controller) {
          if (n++ === 0) controller.enqueue('first');
          else controller.error(new Error('web stream broke'));
        },
      });
    }),
  };
  const logged = await startLogged(t, root, {}, STREAM);
  for (const path of ['/readable', '/web']) {
    const r = await rawRequest(logged.server.port, req(path));
    assert.ok(r.closedByServer, path);
    const res = r.responses[0]!;
    assert.equal(res.complete, false, path);
    assert.deepEqual(res.chunks.map(String), ['first'], path);
    assert.ok(!r.text.includes('0\r\n\r\n'), path);
  }
  assert.ok(readableDestroyed);
  const { error, access } = await logged.logs();
  assert.match(error, /readable broke/);
  assert.match(error, /web stream broke/);
  assert.equal(access.trim().split('\n').filter((l) => l.includes('outcome=error')).length, 2, access);
});

test('S5: response.on_stream_error (config) and response.onStreamError (handler) write one last in-band chunk before the cut', async (t) => {
  const failing = function* (): Generator<string> {
    yield '{"n":1}\n';
    throw new Error('db went away');
  };
  const root = {
    config: exposed(() => failing()),
    handler: exposed(({ response }: Context) => {
      response.onStreamError = (err) => `{"handlerError":${JSON.stringify((err as Error).message)}}\n`;
      return failing();
    }),
    none: exposed(({ response }: Context) => {
      response.onStreamError = () => undefined;
      return failing();
    }),
    throws: exposed(({ response }: Context) => {
      response.onStreamError = () => { throw new Error('the hook itself broke'); };
      return failing();
    }),
  };
  const logged = await startLogged(t, root, {
    '/': { 'response.stream': true, 'response.on_stream_error': (err) => `{"error":${JSON.stringify((err as Error).message)}}\n` },
  });
  const port = logged.server.port;
  const expectCut = async (path: string, chunks: string[]): Promise<void> => {
    const r = await rawRequest(port, req(path));
    assert.ok(r.closedByServer, path);
    const res = r.responses[0]!;
    assert.equal(res.complete, false, path);
    // Line by line (NDJSON): node 24 and later may send the last line in the same HTTP chunk.
    assert.deepEqual(res.body.toString().split(/(?<=\n)/), chunks, path);
    assert.ok(!r.text.includes('0\r\n\r\n'), path);
  };
  await expectCut('/config', ['{"n":1}\n', '{"error":"db went away"}\n']);
  await expectCut('/handler', ['{"n":1}\n', '{"handlerError":"db went away"}\n']);
  await expectCut('/none', ['{"n":1}\n']);
  await expectCut('/throws', ['{"n":1}\n']);
  const { error } = await logged.logs();
  assert.match(error, /the hook itself broke/);
});

test('S5: a non-HTTP error before the first yield is still a plain 500 page (nothing was sent yet)', async (t) => {
  const root = { index: exposed(function* () { throw new Error('early failure'); yield 'never'; }) };
  const server = await startApp(root, {}, { ...STREAM, 'request.show_tracebacks': false });
  t.after(() => server.close());
  const r = await rawRequest(server.port, req('/', { headers: { Connection: 'close' } }));
  const res = r.responses[0]!;
  assert.equal(res.status, 500);
  assert.equal(res.framing, 'content-length');
  assert.ok(res.complete);
  assert.ok(!res.body.toString().includes('early failure'));
});

// ---------------------------------------------------------------------------
// S6: disconnects clean up (HOSTILE 20)

/** Read until `n` chunks arrived, then drop the connection. */
async function readThenDisconnect(res: StreamingResponse, n: number): Promise<string[]> {
  const got: string[] = [];
  for await (const c of res.chunks()) {
    got.push(c.data.toString());
    if (got.length >= n) break;
  }
  res.disconnect();
  return got;
}

test('S6 / HOSTILE 20: a disconnect aborts request.signal (DRUPE_CLIENT_CLOSED), stops pulling, and runs the sync generator\'s finally', async (t) => {
  let pulls = 0;
  let pullsAtAbort = -1;
  let pullsAtFinally = -1;
  let reason: unknown;
  const root = {
    index: exposed(({ request }: Context) => {
      const signal = request.signal;
      signal.addEventListener('abort', () => { reason = signal.reason; pullsAtAbort = pulls; });
      return (function* () {
        try {
          for (;;) {
            pulls++;
            yield `chunk ${pulls};`;
          }
        } finally {
          pullsAtFinally = pulls;
        }
      })();
    }),
  };
  const logged = await startLogged(t, root, {}, STREAM);
  const res = await streamRequest(logged.server.port, { path: '/' });
  await readThenDisconnect(res, 3);
  await waitFor(() => pullsAtFinally >= 0, "the generator's finally");
  assert.equal(codeOf(reason), 'DRUPE_CLIENT_CLOSED');
  assert.ok(pullsAtAbort >= 3);
  assert.equal(pullsAtFinally, pullsAtAbort, 'no pull after the abort');
  await tick(50);
  assert.equal(pulls, pullsAtFinally, 'no pull later either');
  const { access } = await logged.logs();
  assert.match(access, /outcome=client-closed/);
});

test("S6: an async generator's finally runs after its pending next() settles, and it is never pulled again", async (t) => {
  const events: string[] = [];
  const gate = deferred();
  const aborted = deferred();
  const root = {
    index: exposed(({ request }: Context) => {
      request.signal.addEventListener('abort', () => { events.push('abort'); aborted.resolve(); });
      return (async function* () {
        try {
          events.push('pull 1');
          yield 'first';
          events.push('pull 2');
          await gate.promise;
          events.push('pending next settled');
          yield 'second';
          events.push('pull 3');
          yield 'third';
        } finally {
          events.push('finally');
        }
      })();
    }),
  };
  const server = await startApp(root, {}, STREAM);
  t.after(() => server.close());
  const res = await streamRequest(server.port, { path: '/' });
  assert.deepEqual(await readThenDisconnect(res, 1), ['first']);
  await within(aborted.promise, 'request.signal to abort');
  await tick(20);
  assert.ok(!events.includes('finally'), 'finally waits for the pending next()');
  gate.resolve();
  await waitFor(() => events.includes('finally'), "the generator's finally");
  assert.deepEqual(events, ['pull 1', 'pull 2', 'abort', 'pending next settled', 'finally']);
});

test('S6: a generator waiting in sleep(60_000, request.signal) finishes its finally promptly after the disconnect', async (t) => {
  const finished = deferred<string | undefined>();
  const root = {
    index: exposed(({ request }: Context) => (async function* () {
      let code: string | undefined;
      try {
        yield 'first';
        await sleep(60_000, request.signal);
        yield 'never';
      } catch (err) {
        code = codeOf(err);
        throw err;
      } finally {
        finished.resolve(code);
      }
    })()),
  };
  const server = await startApp(root, {}, STREAM);
  t.after(() => server.close());
  const res = await streamRequest(server.port, { path: '/' });
  await readThenDisconnect(res, 1);
  // A guard, not a timing: the 60 s sleep must not be what ends the generator.
  const code = await within(finished.promise, 'finally after the disconnect', 5000);
  assert.equal(code, 'DRUPE_CLIENT_CLOSED');
});

test('S6: abortable(promise, request.signal) rejects with the signal\'s reason on disconnect', async (t) => {
  const settled = deferred<{ same: boolean; code: string | undefined }>();
  const root = {
    index: exposed(({ request }: Context) => (async function* () {
      yield 'first';
      try {
        await abortable(new Promise<never>(() => {}), request.signal);
      } catch (err) {
        settled.resolve({ same: err === request.signal.reason, code: codeOf(err) });
      }
    })()),
  };
  const server = await startApp(root, {}, STREAM);
  t.after(() => server.close());
  const res = await streamRequest(server.port, { path: '/' });
  await readThenDisconnect(res, 1);
  const result = await within(settled.promise, 'abortable to reject');
  assert.deepEqual(result, { same: true, code: 'DRUPE_CLIENT_CLOSED' });

  // And without a socket: an already-aborted signal rejects at once, a live one passes the value through.
  const ac = new AbortController();
  assert.equal(await abortable(Promise.resolve(7), ac.signal), 7);
  const why = new Error('stop');
  ac.abort(why);
  await assert.rejects(abortable(Promise.resolve(7), ac.signal), (err) => err === why);
  await assert.rejects(sleep(60_000, ac.signal), (err) => err === why);
});

test('S6: on disconnect a Node Readable is destroyed and a web ReadableStream is cancelled, even while idle', async (t) => {
  const readableDestroyed = deferred();
  const cancelled = deferred<unknown>();
  let readablePulls = 0;
  let webPulls = 0;
  const root = {
    readable: exposed(() => new Readable({
      read() {
        // One chunk, then nothing: the stream sits idle when the client leaves.
        if (readablePulls++ === 0) this.push('first');
      },
      destroy(err, cb) { readableDestroyed.resolve(); cb(err); },
    })),
    web: exposed(() => new ReadableStream<string>({
      pull(controller) {
        if (webPulls++ === 0) controller.enqueue('first');
        return new Promise(() => {}); // idle
      },
      cancel(reason) { cancelled.resolve(reason); },
    })),
  };
  const server = await startApp(root, {}, STREAM);
  t.after(() => server.close());

  const r1 = await streamRequest(server.port, { path: '/readable' });
  assert.deepEqual(await readThenDisconnect(r1, 1), ['first']);
  await within(readableDestroyed.promise, 'the Readable to be destroyed');

  const r2 = await streamRequest(server.port, { path: '/web' });
  assert.deepEqual(await readThenDisconnect(r2, 1), ['first']);
  const reason = await within(cancelled.promise, 'the ReadableStream to be cancelled');
  void reason;
});

test('S6: a disconnect before the first chunk (lazy commit pending) also aborts and cleans up, logged as client-closed', async (t) => {
  const finished: Array<string | undefined> = [];
  let started = 0;
  const waiting = (rethrow: boolean) => exposed(({ request }: Context) => (async function* () {
    try {
      started++;
      await sleep(60_000, request.signal);
      yield 'never';
    } catch (err) {
      finished.push(codeOf(err));
      if (rethrow) throw err; // request.signal's reason, rethrown: no 500, no error logged
    }
  })());
  const logged = await startLogged(t, { returns: waiting(false), rethrows: waiting(true) }, {}, STREAM);
  const net = await import('node:net');
  for (const path of ['/returns', '/rethrows']) {
    const before = started;
    const socket = net.connect(logged.server.port, '127.0.0.1');
    socket.on('error', () => {});
    socket.write(req(path));
    await waitFor(() => started > before, `the generator of ${path} to start`);
    socket.destroy();
    await waitFor(() => finished.length > before, `the generator of ${path} to see the abort`);
  }
  assert.deepEqual(finished, ['DRUPE_CLIENT_CLOSED', 'DRUPE_CLIENT_CLOSED']);
  const { access, error } = await logged.logs();
  const lines = access.trim().split('\n');
  assert.equal(lines.length, 2, access);
  for (const line of lines) assert.match(line, /outcome=client-closed/);
  assert.equal(error, '', 'a client that left is not a server error');
});

// ---------------------------------------------------------------------------
// HOSTILE 22: many clients that stop reading

test('HOSTILE 22: 200 clients that stop reading an endless stream: bounded memory, every generator finalised when they go', async (t) => {
  const CLIENTS = 200;
  let started = 0;
  let finalised = 0;
  let pulls = 0;
  const root = {
    index: exposed(() => (function* () {
      started++;
      const chunk = Buffer.alloc(16 * 1024, 0x7a);
      try {
        for (;;) {
          pulls++;
          yield chunk;
        }
      } finally {
        finalised++;
      }
    })()),
  };
  const server = await startApp(root, {}, STREAM);
  t.after(() => server.close());

  global.gc?.();
  const rssBefore = process.memoryUsage().rss;
  const clients = await Promise.all(Array.from({ length: CLIENTS }, () => streamRequest(server.port, { path: '/', paused: true, timeoutMs: 20_000 })));
  await waitFor(() => started === CLIENTS, 'every generator to start', 20_000);
  // Let the producers run into backpressure: the pull count levels off.
  let last = -1;
  while (pulls !== last) {
    last = pulls;
    await tick(200);
  }
  const rssAfter = process.memoryUsage().rss;
  const growth = rssAfter - rssBefore;
  assert.ok(growth < 200 * 1024 * 1024, `rss grew by ${(growth / 1048576).toFixed(1)} MiB for ${CLIENTS} stalled clients`);
  assert.ok(pulls * 16 * 1024 < CLIENTS * 8 * 1024 * 1024, `produced ${pulls} chunks in all: bounded per connection`);
  assert.equal(finalised, 0);
  for (const c of clients) c.disconnect();
  await waitFor(() => finalised === CLIENTS, `all ${CLIENTS} generators finalised (${finalised} so far)`, 20_000);
});

// ---------------------------------------------------------------------------
// HOSTILE 24: shutdown with streams in flight

test('shutdown: server.close() aborts request.signal of a stream in flight with DRUPE_SERVER_CLOSING; a generator that listens ends cleanly', async (t) => {
  const reason = deferred<string | undefined>();
  let finallyRan = false;
  const root = {
    index: exposed(({ request }: Context) => (async function* () {
      try {
        for (;;) {
          yield 'tick\n';
          await sleep(60_000, request.signal);
        }
      } catch (err) {
        reason.resolve(codeOf(err));
        yield 'bye\n';
      } finally {
        finallyRan = true;
      }
    })()),
  };
  const server = await startApp(root, {}, STREAM);
  t.after(() => server.close());
  const res = await streamRequest(server.port, { path: '/' });
  const first = await res.chunks()[Symbol.asyncIterator]().next();
  assert.equal(first.value?.data.toString(), 'tick\n');
  const closed = server.close();
  assert.equal(await within(reason.promise, 'the abort reason'), 'DRUPE_SERVER_CLOSING');
  const done = await res.done();
  assert.ok(done.complete, 'the stream ended with its terminator');
  assert.equal(done.body.toString(), 'tick\nbye\n');
  await within(closed, 'server.close() to resolve');
  assert.ok(finallyRan);
});

test('shutdown: a stream that ignores the signal is cut at server.shutdown_timeout and close() resolves', async (t) => {
  let signalReason: string | undefined;
  const finallyRan = deferred();
  const root = {
    index: exposed(({ request }: Context) => {
      request.signal.addEventListener('abort', () => { signalReason = codeOf(request.signal.reason); });
      return (async function* () {
        try {
          for (;;) {
            yield 'still here\n';
            await tick(20); // ignores the signal
          }
        } finally {
          finallyRan.resolve();
        }
      })();
    }),
  };
  const server = await startApp(root, {}, { ...STREAM, 'server.shutdown_timeout': 1 });
  t.after(() => server.close());
  const res = await streamRequest(server.port, { path: '/', timeoutMs: 10_000 });
  let received = 0;
  const reading = (async () => { for await (const c of res.chunks()) received += c.data.length; })();
  await waitFor(() => received > 0, 'the stream to flow');
  await within(server.close(), 'server.close() to resolve after the deadline', 8000);
  assert.equal(signalReason, 'DRUPE_SERVER_CLOSING');
  await reading;
  const done = await res.done();
  assert.equal(done.complete, false, 'cut, without a terminator');
  await within(finallyRan.promise, "the generator's finally");
});
