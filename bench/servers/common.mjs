// What every server shares: the port, the payloads, the static file and the
// SSE hub. Each server file then answers the same routes its own way:
//   GET /hello           12-byte text body "Hello World!"
//   GET /a/b/c?name=x    a handler three levels deep reading a query param
//   GET /json            a 1 KiB JSON body
//   GET /stream          100 chunks of 1 KiB from a generator
//   GET /stream-text     100 strings of 1 KiB (ASCII HTML) from a generator
//   GET /slow            256 chunks of 1 KiB (the slow-clients scenario)
//   GET /big             a 10 MiB buffered body
//   GET /static/1mb.bin  a 1 MiB static file
//   GET /sse             one server-sent-events stream fanned out to every client
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const port = Number(process.argv[2] ?? process.env.PORT ?? 3000);
export const host = '127.0.0.1';

export const HELLO = 'Hello World!';

// 1 KiB of JSON exactly (JSON.stringify(JSON_BODY).length === 1024).
export const JSON_BODY = { message: 'Hello World!', items: [] };
for (let i = 0; JSON.stringify(JSON_BODY).length < 1024 - 40; i++) JSON_BODY.items.push({ id: i, ok: true });
JSON_BODY.pad = '';
JSON_BODY.pad = 'x'.repeat(1024 - JSON.stringify(JSON_BODY).length);

export const CHUNK = Buffer.alloc(1024, 'a');
export const STREAM_CHUNKS = 100;
export const SLOW_CHUNKS = 256; // 2,000 of these fit the kernel's TCP memory: see docs/benchmarks.md
export function* chunks(n = STREAM_CHUNKS) {
  for (let i = 0; i < n; i++) yield CHUNK;
}

// One 1 KiB line of HTML, as a flat string (built from bytes, so V8 holds no rope to flatten on first use).
export const TEXT_CHUNK = Buffer.from(`<li>${'x'.repeat(1024 - '<li></li>\n'.length)}</li>\n`, 'latin1').toString('latin1');
export const HTML = 'text/html; charset=utf-8';
export function* textChunks(n = STREAM_CHUNKS) {
  for (let i = 0; i < n; i++) yield TEXT_CHUNK;
}

export const BIG = Buffer.alloc(10 * 1024 * 1024, 'b');

export const STATIC_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'static');
const file = join(STATIC_DIR, '1mb.bin');
try {
  if (statSync(file).size !== 1024 * 1024) throw new Error('size');
} catch {
  mkdirSync(STATIC_DIR, { recursive: true });
  writeFileSync(file, Buffer.alloc(1024 * 1024, 'f'));
}

// The SSE hub: one producer publishes events as fast as the event loop turns,
// but only while someone listens; each subscriber holds at most QUEUE_MAX
// events (the oldest are dropped), so what the clients count is what the
// server managed to deliver. With BENCH_SSE_CLIENTS=N the first event waits
// until N clients are subscribed (or 15 s pass), so connecting is not a race
// against the flood.
const QUEUE_MAX = 64;
const subscribers = new Set();
let seq = 0;
let running = false;
let gate = Number(process.env.BENCH_SSE_CLIENTS ?? 0);
let gateTimer = null;
function produce() {
  if (subscribers.size === 0) { running = false; return; }
  const data = `{"seq":${++seq},"msg":"tick tock tick tock tick tock"}`;
  for (const s of subscribers) s.push(data);
  setImmediate(produce);
}
function start() {
  if (running) return;
  if (subscribers.size < gate) {
    gateTimer ??= setTimeout(() => { gate = 0; start(); }, 15000);
    return;
  }
  gate = 0;
  clearTimeout(gateTimer);
  running = true;
  setImmediate(produce);
}

/** Subscribe with a callback: push-style servers write straight away. */
export function onEvent(fn) {
  const s = { push: fn };
  subscribers.add(s);
  start();
  return () => subscribers.delete(s);
}

/** Subscribe as an async iterable of event data strings (ends on return()). */
export function events() {
  const queue = [];
  let wake = null;
  let off = null;
  const it = {
    [Symbol.asyncIterator]() { return this; },
    async next() {
      if (queue.length === 0) await new Promise((r) => { wake = r; });
      return queue.length ? { value: queue.shift(), done: false } : { value: undefined, done: true };
    },
    async return() {
      off();
      queue.length = 0;
      if (wake) { const w = wake; wake = null; w(); }
      return { value: undefined, done: true };
    },
  };
  off = onEvent((data) => {
    if (queue.length >= QUEUE_MAX) queue.shift();
    queue.push(data);
    if (wake) { const w = wake; wake = null; w(); }
  });
  return it;
}

// Resolves on 'drain', or on 'close' so a vanished client frees the loop.
function drained(res) {
  return new Promise((resolve) => {
    const done = () => { res.off('drain', done); res.off('close', done); resolve(); };
    res.on('drain', done);
    res.on('close', done);
  });
}

/** The raw servers' stream: a res.write loop that honours drain (node:http and node:http2's compatibility response alike). */
export async function writeAll(res, iterable) {
  for (const chunk of iterable) {
    if (!res.write(chunk)) await drained(res);
    if (res.destroyed) return;
  }
  res.end();
}

export const sseFrame = (data) => `data: ${data}\n\n`;

export function ready(name) {
  console.log(`ready ${name} http://${host}:${port}`);
}
