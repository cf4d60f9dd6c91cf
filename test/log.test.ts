// Access and error logs (issue 2 part 10): files via log.access_file / log.error_file, flushed on close.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exposed, type Config, type Context } from '../src/index.js';
import { rawRequest, streamRequest } from '../src/testing.js';
import { startApp, type TestServer } from './helpers/server.js';

const MONTH = '(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)';
const TIME = `\\[\\d{2}/${MONTH}/\\d{4}:\\d{2}:\\d{2}:\\d{2} \\+0000\\]`;
/** The tail every line has: duration in ms with three decimals, then the request id. */
const TAIL = ' (\\d+\\.\\d{3})ms (\\S+)';

function esc(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/** A combined-format line for one request, as a regex capturing duration and id. */
function combined(opts: { request: string; status: string; bytes: string; referer?: string; ua?: string; extra?: string }): RegExp {
  return new RegExp(`^127\\.0\\.0\\.1 - - ${TIME} "${esc(opts.request)}" ${opts.status} ${opts.bytes} "${esc(opts.referer ?? '-')}" "${esc(opts.ua ?? '-')}"${TAIL}${opts.extra ?? ''}$`);
}

interface Logs { dir: string; access: string; error: string; config: Config }

function logFiles(t: { after(fn: () => void): void }): Logs {
  const dir = mkdtempSync(join(tmpdir(), 'drupe-log-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const access = join(dir, 'access.log');
  const error = join(dir, 'error.log');
  return { dir, access, error, config: { 'log.access_file': access, 'log.error_file': error, 'log.screen': false } };
}

function lines(file: string): string[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  return text.split('\n').filter((l) => l !== '');
}

function send(server: TestServer, head: string) {
  return rawRequest(server.port, head);
}

test('one access line per request, in Apache combined format with duration and request id', async (t) => {
  const logs = logFiles(t);
  const server = await startApp({
    x: exposed(() => 'Hello'),
    index: exposed(() => 'home'),
  }, {}, logs.config);
  t.after(() => server.close());

  const one = await send(server, 'GET /x HTTP/1.1\r\nHost: a\r\nReferer: http://ref.example/page\r\nUser-Agent: test-agent/1.0\r\nConnection: close\r\n\r\n');
  assert.equal(one.responses[0]!.status, 200);
  // Two requests on one keep-alive connection: two lines.
  const two = await send(server, 'GET /x?q=1 HTTP/1.1\r\nHost: a\r\n\r\nHEAD /x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
  assert.equal(two.responses.length, 2);
  const missing = await send(server, 'GET /nope HTTP/1.0\r\nUser-Agent: evil"agent\\x\r\n\r\n');
  assert.equal(missing.responses[0]!.status, 404);
  const absolute = await send(server, 'GET http://other.example/x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
  assert.equal(absolute.responses[0]!.status, 200);

  await server.close(); // flushes and closes the files
  const access = lines(logs.access);
  assert.equal(access.length, 5, access.join('\n'));
  const expected = [
    combined({ request: 'GET /x HTTP/1.1', status: '200', bytes: '5', referer: 'http://ref.example/page', ua: 'test-agent/1.0' }),
    combined({ request: 'GET /x?q=1 HTTP/1.1', status: '200', bytes: '5' }),
    combined({ request: 'HEAD /x HTTP/1.1', status: '200', bytes: '-' }),
    // Quotes and backslashes in a quoted field are escaped, so the line still parses.
    combined({ request: 'GET /nope HTTP/1.0', status: '404', bytes: '\\d+', ua: 'evil\\x22agent\\x5cx' }),
    combined({ request: 'GET http://other.example/x HTTP/1.1', status: '200', bytes: '5' }),
  ];
  const ids = new Set<string>();
  for (let i = 0; i < expected.length; i++) {
    const m = expected[i]!.exec(access[i]!);
    assert.ok(m !== null, `line ${i}: ${access[i]} !~ ${expected[i]}`);
    ids.add(m[m.length - 1]!);
  }
  assert.equal(ids.size, 5, 'every request has its own id');
  // Nothing went to the error log for these.
  assert.deepEqual(lines(logs.error).filter((l) => /\bat /.test(l)), []);
});

test('a 500 writes the stack to the error log with the same request id as its access line', async (t) => {
  const logs = logFiles(t);
  const server = await startApp({
    boom: exposed(function boomHandler() { throw new Error('log-test-kaboom'); }),
    ok: exposed(() => 'ok'),
  }, {}, { ...logs.config, environment: 'production' });
  t.after(() => server.close());

  await send(server, 'GET /ok HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
  const res = await send(server, 'GET /boom HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
  assert.equal(res.responses[0]!.status, 500);
  assert.ok(!res.text.includes('log-test-kaboom'), 'production keeps the message out of the page');
  await server.close();

  const access = lines(logs.access);
  assert.equal(access.length, 2);
  const m = combined({ request: 'GET /boom HTTP/1.1', status: '500', bytes: '\\d+' }).exec(access[1]!);
  assert.ok(m !== null, access[1]);
  const id = m[2]!;
  const okId = /(\S+)$/.exec(access[0]!)![1]!;

  const errorText = readFileSync(logs.error, 'utf8');
  const at = errorText.indexOf(`[${id}]`);
  assert.ok(at >= 0, `the error log names request ${id}:\n${errorText}`);
  const entry = errorText.slice(at);
  assert.ok(entry.includes('GET /boom'), entry);
  assert.ok(entry.includes('Error: log-test-kaboom'), entry);
  assert.match(entry, /^\s+at .*\bboomHandler\b/m, 'the stack, with the handler frame');
  assert.ok(!errorText.includes(`[${okId}]`), 'the good request is not in the error log');
});

test('a streamed response records outcome= and ttfb=; a failed stream is in both logs under one id', async (t) => {
  const logs = logFiles(t);
  const server = await startApp({
    feed: exposed(function* () { yield 'a'; yield 'bc'; }, { 'response.stream': true }),
    broken: exposed(function* brokenFeed() { yield 'first'; throw new Error('stream-broke-midway'); }, { 'response.stream': true }),
    plain: exposed(() => 'buffered'),
  }, {}, logs.config);
  t.after(() => server.close());

  const ok = await send(server, 'GET /feed HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
  assert.equal(ok.responses[0]!.body.toString(), 'abc');
  const broken = await send(server, 'GET /broken HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
  assert.equal(broken.responses[0]!.complete, false, 'the client can tell the body was cut');
  await send(server, 'GET /plain HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
  await server.close();

  const access = lines(logs.access);
  assert.equal(access.length, 3, access.join('\n'));
  const ttfb = ' outcome=(\\w[\\w-]*) ttfb=(\\d+\\.\\d{3}ms)';
  const feed = combined({ request: 'GET /feed HTTP/1.1', status: '200', bytes: '3', extra: ttfb }).exec(access[0]!);
  assert.ok(feed !== null, access[0]);
  assert.equal(feed[3], 'complete');
  const cut = combined({ request: 'GET /broken HTTP/1.1', status: '200', bytes: '5', extra: ttfb }).exec(access[1]!);
  assert.ok(cut !== null, access[1]);
  assert.equal(cut[3], 'error');
  // A buffered response has neither field.
  assert.ok(combined({ request: 'GET /plain HTTP/1.1', status: '200', bytes: '8' }).test(access[2]!), access[2]);

  const errorText = readFileSync(logs.error, 'utf8');
  const at = errorText.indexOf(`[${cut[2]!}]`);
  assert.ok(at >= 0, errorText);
  const entry = errorText.slice(at);
  assert.ok(entry.includes('stream-broke-midway'), entry);
  assert.match(entry, /^\s+at .*\bbrokenFeed\b/m);
});

test('a client that disconnects mid-stream is logged with outcome=client-closed', async (t) => {
  const logs = logFiles(t);
  let ended!: () => void;
  const requestEnded = new Promise<void>((resolve) => { ended = resolve; });
  const server = await startApp({
    endless: exposed(async function* ({ request }: Context) {
      while (!request.signal.aborted) {
        yield 'tick\n';
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    }, { 'response.stream': true }),
  }, { '/': { 'hooks.on_end_request': () => { ended(); } } }, logs.config);
  t.after(() => server.close());

  const res = await streamRequest(server.port, { path: '/endless', disconnectAfterChunks: 2 });
  assert.equal(res.status, 200);
  const result = await res.done();
  assert.equal(result.complete, false);
  await requestEnded;
  await new Promise((resolve) => setImmediate(resolve)); // the access line follows the last hook
  await server.close();

  const access = lines(logs.access);
  assert.equal(access.length, 1, access.join('\n'));
  const m = combined({ request: 'GET /endless HTTP/1.1', status: '200', bytes: '\\d+', extra: ' outcome=client-closed ttfb=\\d+\\.\\d{3}ms' }).exec(access[0]!);
  assert.ok(m !== null, access[0]);
});

test('log files are appended to, not truncated, by a new server', async (t) => {
  const logs = logFiles(t);
  for (const body of ['first', 'second']) {
    const server = await startApp({ index: exposed(() => body) }, {}, logs.config);
    await send(server, 'GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
    await server.close();
  }
  const access = lines(logs.access);
  assert.equal(access.length, 2);
  assert.ok(access.every((l) => combined({ request: 'GET / HTTP/1.1', status: '200', bytes: '\\d' }).test(l)), access.join('\n'));
});

test('a request still finishing when server.close() resolves keeps its access line', async (t) => {
  const logs = logFiles(t);
  let release!: () => void;
  const gate = new Promise<void>((resolve) => { release = resolve; });
  let noticed!: () => void;
  const disconnected = new Promise<void>((resolve) => { noticed = resolve; });
  let ended!: () => void;
  const requestEnded = new Promise<void>((resolve) => { ended = resolve; });
  const server = await startApp({
    slow: exposed(async function* ({ request }: Context) {
      request.signal.addEventListener('abort', () => noticed(), { once: true });
      yield 'first\n';
      await gate; // a producer that does not listen to the signal
      yield 'second\n';
    }, { 'response.stream': true }),
  }, { '/': { 'hooks.on_end_request': () => { ended(); } } }, logs.config);
  t.after(() => { release(); return server.close(); });

  const res = await streamRequest(server.port, { path: '/slow', disconnectAfterChunks: 1 });
  await res.done();
  await disconnected;
  await server.close();
  release();
  await requestEnded;
  await new Promise((resolve) => setImmediate(resolve));
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(lines(logs.access).length, 1);
});
