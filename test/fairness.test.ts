// Stream fairness (S4): a producer that never awaits, and whose chunks never
// meet backpressure, must not starve another connection. Each producer here
// is bounded: it stops as soon as the other request's handler is done, or
// after a fixed count; the test asserts it stopped for the first reason.
// Without the writer's yields it runs to its bound before anything else.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { exposed, type Config } from '../src/index.js';
import { streamRequest } from '../src/testing.js';
import { deferred, within } from './helpers/async.js';
import { one } from './helpers/http.js';
import { start } from './helpers/server.js';

const STREAM: Config = { 'response.stream': true };

interface Run {
  /** Chunks the producer yielded in all. */
  produced: number;
  /** Whether it stopped because the other request was done (not at its bound). */
  overtaken: boolean;
}

/** Event-loop turns the other request's handler takes: only a writer that yields gives them. */
const TURNS = 20;

/**
 * A root with `endless` and `other`. Both requests are in their handlers
 * before the producer starts: `endless` waits until `other` is in its
 * handler, and `other` waits until the producer has started, then takes
 * TURNS event-loop turns, which it can only get while the writer yields
 * between chunks. The producer yields `chunk` until `other` is done, or
 * `bound` times.
 */
function race(chunk: () => string | Buffer, bound: number): { root: object; run: Promise<Run> } {
  let answered = false;
  const otherWaiting = deferred();
  const started = deferred();
  const run = deferred<Run>();
  const root = {
    endless: exposed(async () => {
      await otherWaiting.promise;
      return (function* () {
        let produced = 0;
        started.resolve();
        while (!answered && produced < bound) {
          produced++;
          yield chunk();
        }
        run.resolve({ produced, overtaken: answered });
        yield 'end';
      })();
    }, STREAM),
    other: exposed(async () => {
      otherWaiting.resolve();
      await started.promise;
      for (let i = 0; i < TURNS; i++) await new Promise((resolve) => setImmediate(resolve));
      answered = true;
      return 'other';
    }),
  };
  return { root, run: run.promise };
}

test('S4: a producer of empty chunks, which never write, does not starve another connection', async (t) => {
  // The chunk guard yields every 512 chunks: two million leave the other
  // request thousands of event-loop turns to be answered in.
  const { root, run } = race(() => '', 2_000_000);
  const server = await start(t, root);
  const streaming = streamRequest(server.port, { path: '/endless' });
  const other = await within(one(server.port, 'GET', '/other'), 'the other response', 15_000);
  assert.equal(other.status, 200);
  assert.equal(other.body.toString(), 'other');
  const { produced, overtaken } = await within(run, 'the producer to stop', 15_000);
  assert.ok(overtaken, `the producer ran to its bound (${produced} chunks) before another connection's handler was done`);
  const stream = await within(streaming, 'the streamed head', 15_000);
  const done = await within(stream.done(), 'the stream to end', 15_000);
  assert.equal(done.complete, true);
  assert.ok(done.body.toString().endsWith('end'));
});

/**
 * The stream's client runs in a worker thread, so the stream is read while
 * the server's thread is busy: its chunks do not wait for the socket to
 * drain. It reads `/endless` to its end and posts how many bytes came.
 */
const READER = `
const net = require('node:net');
const { parentPort, workerData } = require('node:worker_threads');
const socket = net.connect({ port: workerData.port, host: '127.0.0.1' });
let streamed = 0;
let tail = '';
socket.on('error', (err) => parentPort.postMessage({ error: err.message }));
socket.on('data', (d) => { streamed += d.length; tail = (tail + d.toString('latin1')).slice(-32); });
socket.on('close', () => parentPort.postMessage({ streamed, tail }));
socket.write('GET /endless HTTP/1.1\\r\\nHost: 127.0.0.1\\r\\nConnection: close\\r\\n\\r\\n');
`;

/** Serve `race(chunk, bound)`, read `/endless` from the worker, ask `/other` from here. */
async function raceRead(t: TestContext, chunk: () => string | Buffer, bound: number): Promise<void> {
  const { root, run } = race(chunk, bound);
  const server = await start(t, root);
  const worker = new Worker(READER, { eval: true, workerData: { port: server.port } });
  t.after(() => worker.terminate());
  const read = deferred<{ streamed: number; tail: string }>();
  worker.on('message', (m: { streamed: number; tail: string } | { error: string }) => {
    if ('error' in m) read.reject(new Error(m.error));
    else read.resolve(m);
  });
  worker.on('error', (err) => read.reject(err));
  const other = await within(one(server.port, 'GET', '/other'), 'the other response', 30_000);
  assert.equal(other.status, 200);
  assert.equal(other.body.toString(), 'other');
  const { produced, overtaken } = await within(run, 'the producer to stop', 30_000);
  assert.ok(overtaken, `the producer ran to its bound (${produced} chunks) before another connection's handler was done`);
  const { streamed, tail } = await within(read.promise, 'the stream to end', 30_000);
  assert.ok(streamed > produced, `${streamed} bytes streamed`);
  assert.ok(tail.endsWith('3\r\nend\r\n0\r\n\r\n'), `the stream ended complete: ${JSON.stringify(tail)}`);
}

test('S4: a producer of 1 KiB chunks does not starve another connection', {
  todo: 'fails today, guards in place: the producer runs to its bound with no event-loop turn in between. Likely cause: a write reports backpressure long before 256 KiB, the drain it waits for settles without a turn of the loop, and sendStream resets both fairness counters after it',
}, async (t) => {
  // The byte guard (256 KiB) would yield every 256 chunks, before the chunk
  // guard (512) would; the bound (64 MiB) leaves 256 yields.
  await raceRead(t, () => Buffer.alloc(1024, 'x'), 64 * 1024);
});
