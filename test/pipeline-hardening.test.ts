// Connection-level hardening (docs/security.md, HOSTILE 24 and 32–35): what may run
// behind a response that closes the connection, a malformed request in the
// middle of a pipeline, lenient request lines and Host fields, and closing a
// keep-alive connection as soon as its response is done while the server shuts
// down. Every case goes over a raw socket to 127.0.0.1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { App, exposed, serve, type Config, type Context } from '../src/index.js';
import { assertRefused, raw } from './helpers/http.js';
import { start } from './helpers/server.js';
import { deferred, within } from './helpers/async.js';
import { feedUntilAborted } from './helpers/streaming.js';

/** A hang guard, never a timing assertion. */
const GUARD_MS = 10_000;
const QUIET: Config = { 'log.screen': false };

/** A tree that records every handler that ran. */
function tree(calls: string[], slow?: Promise<void>) {
  return {
    hello: exposed(() => { calls.push('hello'); return 'hello'; }),
    canary: exposed(() => { calls.push('canary'); return 'canary'; }),
    post: exposed(async ({ request }: Context) => {
      calls.push('post');
      return `read ${(await request.text()).length}`;
    }),
    slow: exposed(async () => {
      calls.push('slow');
      await slow;
      return 'slow';
    }),
  };
}

const CANARY = 'GET /canary HTTP/1.1\r\nHost: t\r\n\r\n';

test('HOSTILE 32: nothing pipelined behind a response that closes the connection runs (Transfer-Encoding identity/gzip + chunked, split TE, Connection: close)', async (t) => {
  const calls: string[] = [];
  const server = await start(t, tree(calls), {}, QUIET);
  const body = '5\r\nhello\r\n0\r\n\r\n';
  const cases: Record<string, string> = {
    'identity, chunked': `POST /post HTTP/1.1\r\nHost: t\r\nContent-Type: text/plain\r\nTransfer-Encoding: identity, chunked\r\n\r\n${body}`,
    'gzip, chunked': `POST /post HTTP/1.1\r\nHost: t\r\nContent-Type: text/plain\r\nTransfer-Encoding: gzip, chunked\r\n\r\n${body}`,
    'TE over two lines': `POST /post HTTP/1.1\r\nHost: t\r\nContent-Type: text/plain\r\nTransfer-Encoding: identity\r\nTransfer-Encoding: chunked\r\n\r\n${body}`,
  };
  for (const [what, bytes] of Object.entries(cases)) {
    const res = await raw(server.port, bytes + CANARY);
    assertRefused(res, 400, what);
    assert.ok(!res.text.includes('canary'), `${what}: no answer from /canary`);
  }
  // A request that asks to close, then one behind it: the second never runs.
  const res = await raw(server.port, 'GET /hello HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n' + CANARY);
  assert.equal(res.responses.length, 1);
  assert.equal(res.responses[0]!.status, 200);
  assert.deepEqual(calls, ['hello'], 'no /post or /canary handler ran');
});

test('HOSTILE 33: a malformed request in the middle of a pipeline → every request before it answered in order, then the 400, then close', async (t) => {
  const calls: string[] = [];
  const server = await start(t, tree(calls), {}, QUIET);
  const bad = 'GET /hello HTTP/1.1\r\nHost: t\r\nBad Header\r\n\r\n';
  const res = await raw(server.port, 'GET /hello HTTP/1.1\r\nHost: t\r\n\r\n' + CANARY + bad);
  assert.equal(res.timedOut, false);
  assert.deepEqual(res.responses.map((r) => [r.status, r.body.toString()]), [[200, 'hello'], [200, 'canary'], [400, 'Bad request\n']], res.text.slice(0, 600));
  assert.equal(res.responses[2]!.headers.connection, 'close');
  assert.equal(res.closedByServer, true);
  assert.deepEqual(calls, ['hello', 'canary']);
});

test('HOSTILE 33: a malformed request behind a slow handler → the slow answer first (not node\'s raw 400), then the 400', async (t) => {
  const calls: string[] = [];
  const slow = deferred();
  const server = await start(t, tree(calls, slow.promise), {}, QUIET);
  const bad = 'GET /hello HTTP/1.1\r\nHost: t\r\nBad Header\r\n\r\n';
  // The handler is held until the malformed request has surely been parsed (it is in the same write).
  setTimeout(() => slow.resolve(), 200);
  const res = await raw(server.port, 'GET /slow HTTP/1.1\r\nHost: t\r\n\r\n' + CANARY + bad);
  assert.equal(res.timedOut, false);
  assert.deepEqual(res.responses.map((r) => [r.status, r.body.toString()]), [[200, 'slow'], [200, 'canary'], [400, 'Bad request\n']], res.text.slice(0, 600));
  assert.equal(res.closedByServer, true);
  assert.deepEqual(calls, ['slow', 'canary']);
});

test('HOSTILE 33: broken chunk framing in a request queued behind another → the first answered, then the 400; nothing smuggled behind it runs', async (t) => {
  const calls: string[] = [];
  const server = await start(t, tree(calls), {}, QUIET);
  const broken = 'POST /post HTTP/1.1\r\nHost: t\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n';
  const res = await raw(server.port, 'GET /hello HTTP/1.1\r\nHost: t\r\n\r\n' + broken + CANARY);
  assert.equal(res.timedOut, false);
  assert.deepEqual(res.responses.map((r) => r.status), [200, 400], res.text.slice(0, 600));
  assert.equal(res.responses[0]!.body.toString(), 'hello');
  assert.equal(res.closedByServer, true);
  assert.ok(!calls.includes('canary'), `nothing behind the broken request ran: ${JSON.stringify(calls)}`);
});

test('HOSTILE 34: HTTP/0.9, HTTP/2.0 request lines → 505; two Hosts, a Host outside the authority grammar, HTTP/1.1 without Host → 400; all close and nothing behind them runs', async (t) => {
  const calls: string[] = [];
  const server = await start(t, tree(calls), {}, QUIET);
  const cases: Record<string, [string, number]> = {
    'HTTP/0.9 (no version)': ['GET /hello\r\n\r\n', 505],
    'HTTP/0.9': ['GET /hello HTTP/0.9\r\nHost: t\r\n\r\n', 505],
    'HTTP/2.0': ['GET /hello HTTP/2.0\r\nHost: t\r\n\r\n', 505],
    'two Host headers': ['GET /hello HTTP/1.1\r\nHost: t\r\nHost: evil.example\r\n\r\n', 400],
    'Host with a slash': ['GET /hello HTTP/1.1\r\nHost: t/evil\r\n\r\n', 400],
    'Host with userinfo': ['GET /hello HTTP/1.1\r\nHost: user@t\r\n\r\n', 400],
    'Host with a bad port': ['GET /hello HTTP/1.1\r\nHost: t:80x\r\n\r\n', 400],
    'HTTP/1.0 with a bad Host': ['GET /hello HTTP/1.0\r\nHost: t/evil\r\n\r\n', 400],
    'HTTP/1.1 without Host': ['GET /hello HTTP/1.1\r\n\r\n', 400],
  };
  for (const [what, [bytes, status]] of Object.entries(cases)) {
    const res = await raw(server.port, bytes + CANARY);
    assertRefused(res, status, what);
  }
  assert.deepEqual(calls, [], 'no handler ran');
  // What stays allowed: HTTP/1.0 without Host, a port, an IPv6 literal, an empty Host.
  const allowed: Record<string, string> = {
    'HTTP/1.0 without Host': 'GET /hello HTTP/1.0\r\n\r\n',
    'host and port': 'GET /hello HTTP/1.1\r\nHost: example.com:8080\r\nConnection: close\r\n\r\n',
    'IPv6 literal': 'GET /hello HTTP/1.1\r\nHost: [::1]:8080\r\nConnection: close\r\n\r\n',
    'empty Host': 'GET /hello HTTP/1.1\r\nHost:\r\nConnection: close\r\n\r\n',
  };
  for (const [what, bytes] of Object.entries(allowed)) {
    const res = await raw(server.port, bytes);
    assert.equal(res.responses[0]?.status, 200, `${what}: ${res.text.slice(0, 200)}`);
  }
});

test('HOSTILE 35: while the server closes, a keep-alive connection ends as soon as its stream finishes (not at the keep-alive timeout)', async () => {
  const app = new App({
    feed: feedUntilAborted(),
  });
  // Both long: close() resolving within the guard means the socket was ended when the stream finished.
  const server = await serve(app, { host: '127.0.0.1', port: 0, config: { ...QUIET, environment: 'test', 'server.keep_alive_timeout': 60, 'server.shutdown_timeout': 60 } });
  const socket = net.connect(server.port, '127.0.0.1');
  let closed = false;
  try {
    let text = '';
    const started = deferred();
    socket.on('data', (d: Buffer) => { text += d.toString('latin1'); if (text.includes('start')) started.resolve(); });
    const ended = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    socket.on('error', () => {});
    socket.write('GET /feed HTTP/1.1\r\nHost: t\r\nConnection: keep-alive\r\n\r\n');
    await within(started.promise, 'the first chunk', GUARD_MS);
    const closing = server.close().then(() => { closed = true; });
    await within(closing, 'close() to resolve', GUARD_MS);
    await within(ended, 'the server to close the connection', GUARD_MS);
    assert.ok(text.includes('bye\n') && text.endsWith('0\r\n\r\n'), `the stream ended cleanly: ${JSON.stringify(text)}`);
  } finally {
    socket.destroy();
    if (!closed) await server.close();
  }
});

test('HOSTILE 24: a connection accepted just before close(), whose first request comes after it, is answered (Connection: close), not reset; one that sends nothing is closed', async () => {
  const server = await serve(new App({ index: exposed(() => 'answered') }), { host: '127.0.0.1', port: 0, config: { environment: 'test' }, engine: null });
  const connect = async (): Promise<{ socket: net.Socket; data: () => string; closed: Promise<boolean> }> => {
    const socket = net.connect(server.port, '127.0.0.1');
    let data = '';
    socket.setEncoding('latin1').on('data', (c: string) => { data += c; });
    socket.on('error', () => {});
    const closed = new Promise<boolean>((resolve) => socket.once('close', (hadError) => resolve(hadError)));
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    return { socket, data: () => data, closed };
  };
  const late = await connect();
  const silent = await connect();
  // Both connections are accepted (the server has seen them) before close() begins.
  await within(new Promise<void>((resolve) => {
    const check = (): void => { server.server.getConnections((_e, n) => { if (n >= 2) resolve(); else setTimeout(check, 5); }); };
    check();
  }), 'the server to accept both connections');
  const closing = server.close();
  late.socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
  assert.equal(await within(late.closed, 'the late connection to close'), false, 'closed cleanly, not reset');
  assert.match(late.data(), /^HTTP\/1\.1 200 OK\r\n/);
  assert.match(late.data(), /\r\nConnection: close\r\n/i);
  assert.match(late.data(), /\r\n\r\nanswered$/);
  await within(silent.closed, 'the silent connection to be closed');
  assert.equal(silent.data(), '');
  await within(closing, 'close() to resolve');
});
