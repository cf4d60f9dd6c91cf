// Server-sent events: sse(events, options) over the streamed-body machinery (S10 of docs/contract.md; issue 3 part 11).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NotFound, exposed, formatEvent, sse, type Context, type SseMessage } from '../src/index.js';
import { rawRequest, streamRequest, type SseEvent } from '../src/testing.js';
import { shapeSelf, type BodyShape, type ChunkSource } from '../src/body/body.js';
import { Response } from '../src/http/response.js';
import { startApp } from './helpers/server.js';
import { deferred, waitFor, within } from './helpers/async.js';
import { one, req } from './helpers/http.js';
import { startLogged } from './helpers/streaming.js';

/**
 * The events of a body, each with its blank line, in order. Events, not HTTP chunks: node 24
 * and later send the writes of one tick as one HTTP chunk, so events yielded without a pause
 * may share one. The contract is about the bytes and their order.
 */
const eventsOf = (res: { body: Buffer }): string[] => res.body.toString().split(/(?<=\n\n)/);

async function collect(events: AsyncIterable<SseEvent>): Promise<SseEvent[]> {
  const out: SseEvent[] = [];
  for await (const e of events) out.push(e);
  return out;
}

test('sse() answers text/event-stream, no-cache, streamed and unbuffered by proxies', async (t) => {
  const root = { feed: exposed(() => sse(['hello'])) };
  const server = await startApp(root);
  t.after(() => server.close());
  const res = await one(server.port, 'GET', '/feed');
  assert.equal(res.status, 200);
  assert.match(res.headers['content-type'] ?? '', /^text\/event-stream/);
  assert.equal(res.headers['cache-control'], 'no-cache');
  assert.equal(res.headers['x-accel-buffering'], 'no');
  assert.equal(res.framing, 'chunked', 'streamed without any response.stream config');
  assert.equal(res.headers['content-length'], undefined);
  assert.ok(res.complete);
  assert.equal(res.body.toString(), 'data: hello\n\n');
});

test("sse(): the handler's own Content-Type and Cache-Control win", async (t) => {
  const root = {
    feed: exposed(({ response }: Context) => {
      response.headers.set('Cache-Control', 'no-store');
      response.headers.set('Content-Type', 'text/event-stream');
      return sse(['x']);
    }),
  };
  const server = await startApp(root);
  t.after(() => server.close());
  const res = await one(server.port, 'GET', '/feed');
  assert.equal(res.headers['cache-control'], 'no-store');
  assert.equal(res.headers['content-type'], 'text/event-stream');
});

test('sse(): strings and { data, event, id, retry } are formatted per the spec, event by event in order', async (t) => {
  const messages: Array<string | SseMessage> = [
    'plain',
    { data: 'with fields', event: 'update', id: '7', retry: 2500 },
    { data: { n: 1, list: [1, 2] } },
    { data: 42, event: 'number' },
    { data: '' },
  ];
  const root = { feed: exposed(() => sse((async function* () { for (const m of messages) yield m; })())) };
  const server = await startApp(root);
  t.after(() => server.close());

  const raw = await one(server.port, 'GET', '/feed');
  assert.deepEqual(eventsOf(raw), [
    'data: plain\n\n',
    'event: update\nid: 7\nretry: 2500\ndata: with fields\n\n',
    'data: {"n":1,"list":[1,2]}\n\n',
    'event: number\ndata: 42\n\n',
    'data: \n\n',
  ]);
  assert.ok(raw.complete);

  const res = await streamRequest(server.port, { path: '/feed' });
  assert.deepEqual(await collect(res.events()), [
    { data: 'plain' },
    { data: 'with fields', event: 'update', id: '7', retry: 2500 },
    { data: '{"n":1,"list":[1,2]}' },
    { data: '42', event: 'number' },
    { data: '' },
  ]);
  assert.ok((await res.done()).complete);
});

test('sse(): multi-line data becomes several data: lines, whatever the line ending (LF, CRLF, CR)', async (t) => {
  const root = { feed: exposed(() => sse(['a\nb', 'c\r\nd', 'e\rf', 'g\n\nh', { data: 'trailing\n' }])) };
  const server = await startApp(root);
  t.after(() => server.close());
  const raw = await one(server.port, 'GET', '/feed');
  assert.deepEqual(eventsOf(raw), [
    'data: a\ndata: b\n\n',
    'data: c\ndata: d\n\n',
    'data: e\ndata: f\n\n',
    'data: g\ndata: \ndata: h\n\n',
    'data: trailing\ndata: \n\n',
  ]);
  const res = await streamRequest(server.port, { path: '/feed' });
  assert.deepEqual((await collect(res.events())).map((e) => e.data), ['a\nb', 'c\nd', 'e\nf', 'g\n\nh', 'trailing\n']);
  // The same formatting, as a function.
  assert.equal(formatEvent({ data: 'x\r\ny', event: 'e', id: '1' }), 'event: e\nid: 1\ndata: x\ndata: y\n\n');
});

test('sse(): CR or LF in an event name or an id is refused: the in-band error event, then the cut', async (t) => {
  let finallyRan = 0;
  const feed = (bad: SseMessage) => exposed(() => sse((function* () {
    try {
      yield 'ok';
      yield bad;
      yield 'never';
    } finally {
      finallyRan++;
    }
  })()));
  const root = {
    eventLf: feed({ data: 'x', event: 'a\nb' }),
    eventCr: feed({ data: 'x', event: 'a\rdata: injected' }),
    idCrlf: feed({ data: 'x', id: '1\r\n2' }),
  };
  const logged = await startLogged(t, root);
  for (const path of ['/eventLf', '/eventCr', '/idCrlf']) {
    const r = await rawRequest(logged.server.port, req(path));
    assert.ok(r.closedByServer, path);
    const res = r.responses[0]!;
    assert.equal(res.complete, false, path);
    assert.deepEqual(eventsOf(res), ['data: ok\n\n', 'event: stream-error\ndata: The stream failed\n\n'], path);
    assert.ok(!r.text.includes('injected'), path);
    assert.ok(!r.text.includes('0\r\n\r\n'), path);
  }
  await waitFor(() => finallyRan === 3, "each events generator's finally");
  const { error } = await logged.logs();
  assert.equal((error.match(/DRUPE_ERR_SSE_FIELD|must not contain CR/g) ?? []).length >= 3, true, error);
});

test('sse(): the retry option is sent first', async (t) => {
  const root = { feed: exposed(() => sse(['one'], { retry: 3000 })) };
  const server = await startApp(root);
  t.after(() => server.close());
  const raw = await one(server.port, 'GET', '/feed');
  assert.ok(raw.body.toString().startsWith('retry: 3000\n\n'), raw.body.toString());
  assert.equal(raw.body.toString(), 'retry: 3000\n\ndata: one\n\n');
  const res = await streamRequest(server.port, { path: '/feed' });
  assert.deepEqual(await collect(res.events()), [{ data: '', retry: 3000 }, { data: 'one' }]);
});

test('sse(): heartbeat comments appear while the producer is idle, then events resume', async (t) => {
  const gate = deferred();
  const root = {
    feed: exposed(() => sse((async function* () {
      yield 'first';
      await gate.promise;
      yield 'second';
    })(), { heartbeat: 50 })),
  };
  const server = await startApp(root);
  t.after(() => server.close());
  const res = await streamRequest(server.port, { path: '/feed' });
  const seen: SseEvent[] = [];
  for await (const e of res.events({ comments: true })) {
    seen.push(e);
    // Release the producer only once two heartbeats were seen while it was idle.
    if (seen.filter((s) => s.comment !== undefined).length === 2) gate.resolve();
  }
  const data = seen.filter((s) => s.comment === undefined).map((s) => s.data);
  assert.deepEqual(data, ['first', 'second']);
  const firstIdx = seen.findIndex((s) => s.data === 'first');
  const secondIdx = seen.findIndex((s) => s.data === 'second');
  const beats = seen.slice(firstIdx + 1, secondIdx);
  assert.ok(beats.length >= 2);
  for (const b of beats) assert.equal(b.comment, 'keep-alive');
  assert.ok((await res.done()).complete);
});

test('sse(): heartbeat: 0 sends none', async (t) => {
  const gate = deferred();
  const pulled = deferred();
  const root = {
    feed: exposed(() => sse((async function* () {
      yield 'first';
      pulled.resolve();
      await gate.promise;
      yield 'second';
    })(), { heartbeat: 0 })),
  };
  const server = await startApp(root);
  t.after(() => server.close());
  const res = await streamRequest(server.port, { path: '/feed' });
  await within(pulled.promise, 'the producer to go idle');
  await new Promise((resolve) => setTimeout(resolve, 100));
  gate.resolve();
  const seen = await collect(res.events({ comments: true }));
  assert.deepEqual(seen, [{ data: 'first' }, { data: 'second' }]);
});

test('sse(): request.lastEventId is the Last-Event-ID header', async (t) => {
  const root = {
    feed: exposed(({ request }: Context) => sse([`resume after ${request.lastEventId ?? 'nothing'}`])),
  };
  const server = await startApp(root);
  t.after(() => server.close());
  const withId = await one(server.port, 'GET', '/feed', { 'Last-Event-ID': '42' });
  assert.equal(withId.body.toString(), 'data: resume after 42\n\n');
  const without = await one(server.port, 'GET', '/feed');
  assert.equal(without.body.toString(), 'data: resume after nothing\n\n');
});

test('sse(): a failure after the first event sends the error event in-band (onError customizes it, undefined sends none), then cuts', async (t) => {
  const failing = async function* (): AsyncGenerator<SseMessage> {
    yield { data: 'one', id: '1' };
    throw new Error('feed broke');
  };
  const root = {
    standard: exposed(() => sse(failing())),
    custom: exposed(() => sse(failing(), { onError: (err) => ({ event: 'failed', data: { message: (err as Error).message }, retry: 10_000 }) })),
    silent: exposed(() => sse(failing(), { onError: () => undefined })),
  };
  const logged = await startLogged(t, root);
  const port = logged.server.port;
  const check = async (path: string, expected: string[]): Promise<void> => {
    const r = await rawRequest(port, req(path));
    assert.ok(r.closedByServer, path);
    const res = r.responses[0]!;
    assert.equal(res.complete, false, path);
    assert.deepEqual(eventsOf(res), expected, path);
    assert.ok(!r.text.includes('0\r\n\r\n'), path);
  };
  await check('/standard', ['id: 1\ndata: one\n\n', 'event: stream-error\ndata: The stream failed\n\n']);
  await check('/custom', ['id: 1\ndata: one\n\n', 'event: failed\nretry: 10000\ndata: {"message":"feed broke"}\n\n']);
  await check('/silent', ['id: 1\ndata: one\n\n']);

  // The client sees the error event, then an aborted stream.
  const res = await streamRequest(port, { path: '/standard' });
  assert.deepEqual(await collect(res.events()), [{ data: 'one', id: '1' }, { data: 'The stream failed', event: 'stream-error' }]);
  assert.equal((await res.done()).complete, false);

  const { error, access } = await logged.logs();
  assert.equal((error.match(/Error: feed broke/g) ?? []).length, 4, error);
  assert.equal(access.trim().split('\n').filter((l) => l.includes('outcome=error')).length, 4, access);
});

test('sse(): lazy commit applies: NotFound (or a redirect) before the first event answers as buffered', async (t) => {
  const root = {
    missing: exposed(() => sse((async function* () {
      await Promise.resolve();
      throw new NotFound();
      yield 'never';
    })())),
    withRetry: exposed(() => sse((function* () {
      throw new NotFound();
      yield 'never';
    })(), { retry: 1000 })),
    idle: exposed(() => sse((async function* () {
      throw new NotFound();
      yield 'never';
    })(), { heartbeat: 10 })),
  };
  const server = await startApp(root);
  t.after(() => server.close());
  for (const path of ['/missing', '/withRetry', '/idle']) {
    const res = await one(server.port, 'GET', path);
    assert.equal(res.status, 404, path);
    assert.equal(res.framing, 'content-length', path);
    assert.match(res.headers['content-type'] ?? '', /^text\/html/, path);
    assert.equal(res.headers['x-accel-buffering'], undefined, path);
    assert.ok(res.body.toString().includes(path), path);
  }
});

test('sse(): a client that leaves stops the events and runs their finally', async (t) => {
  const finished = deferred();
  let pulls = 0;
  const root = {
    feed: exposed(() => sse((async function* () {
      try {
        for (;;) {
          pulls++;
          yield { data: `n${pulls}` };
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
      } finally {
        finished.resolve();
      }
    })(), { heartbeat: 1000 })),
  };
  const logged = await startLogged(t, root);
  const res = await streamRequest(logged.server.port, { path: '/feed' });
  const got: string[] = [];
  for await (const e of res.events()) {
    got.push(e.data);
    if (got.length === 3) break;
  }
  res.disconnect();
  await within(finished.promise, "the events generator's finally");
  const at = pulls;
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(pulls, at);
  assert.deepEqual(got, ['n1', 'n2', 'n3']);
  const { access } = await logged.logs();
  assert.match(access, /outcome=client-closed/);
});

test('sse(): a client that leaves while the events are idle ends the request at once, not at the next event', async (t) => {
  const ended = deferred();
  const never = new Promise<never>(() => undefined);
  const root = {
    feed: exposed(() => sse((async function* () {
      yield 'first';
      await never;
    })(), { heartbeat: 60_000 })),
  };
  const server = await startApp(root, { '/': { 'hooks.on_end_request': () => ended.resolve() } });
  t.after(() => server.close());
  const res = await streamRequest(server.port, { path: '/feed' });
  for await (const e of res.events()) {
    assert.equal(e.data, 'first');
    break;
  }
  res.disconnect();
  await within(ended.promise, 'the request to end after the client left');
});

// The source on its own, driven the way the writer drives it: the moments
// between a heartbeat and the writer's next pull cannot be timed over a socket.
test('sse(): an event or a failure that comes while a heartbeat is out is what the next pull gets', async () => {
  const drive = (events: AsyncIterable<string>): ChunkSource => {
    const shape = sse(events, { heartbeat: 20 })[shapeSelf]({ response: new Response() } as unknown as Context);
    assert.equal((shape as BodyShape).kind, 'chunks');
    return (shape as Extract<BodyShape, { kind: 'chunks' }>).source;
  };
  const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

  const gate = deferred();
  const events = drive((async function* () {
    yield 'first';
    await gate.promise;
    yield 'second';
  })());
  assert.equal(String(await events.next()), 'data: first\n\n');
  assert.equal(String(await events.next()), ': keep-alive\n\n', 'the producer is idle: a heartbeat answers');
  gate.resolve();
  await turn(); // 'second' arrives while nobody waits
  assert.equal(String(await within(Promise.resolve(events.next()), 'the event that came during the heartbeat')), 'data: second\n\n');
  assert.equal(await events.next(), null);

  const failGate = deferred();
  const failing = drive((async function* () {
    yield 'first';
    await failGate.promise;
    throw new Error('the feed broke');
  })());
  assert.equal(String(await failing.next()), 'data: first\n\n');
  assert.equal(String(await failing.next()), ': keep-alive\n\n');
  failGate.resolve();
  await turn();
  await assert.rejects(within(Promise.resolve(failing.next()), 'the failure that came during the heartbeat'), /the feed broke/);
  await failing.close();
});
