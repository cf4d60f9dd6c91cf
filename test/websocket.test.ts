// WebSocket (issue 16 part 3): endpoints dispatched through the object tree, the
// upgrade refused by tools with ordinary HTTP answers, the socket's contract
// (backpressure, close codes, message size, heartbeat, request.signal,
// shutdown), and the protocol errors ws answers, sent as raw bytes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { App, HTTPError, Tree, defineTool, expose, exposed, serve, type Config, type Context, type WebSocketClose, type WebSocketConnection } from '../src/index.js';
import { rawRequest } from '../src/testing.js';
import { aborted, deferred, waitFor, within } from './helpers/async.js';
import { start } from './helpers/server.js';
import { certificateFiles } from './helpers/tls.js';

/** A real ws client, open (or the handshake's failure as an Error). */
function open(url: string, options: { headers?: Record<string, string>; protocols?: string[] } = {}): Promise<WebSocket> {
  const ws = new WebSocket(url, options.protocols ?? [], { headers: options.headers ?? {} });
  return within(new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  }), `open ${url}`);
}

/** The status a refused handshake got (ws's 'unexpected-response'), and the headers. */
function refused(url: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined> }> {
  const ws = new WebSocket(url, { headers });
  return within(new Promise((resolve, reject) => {
    ws.once('unexpected-response', (_req, res) => {
      resolve({ status: res.statusCode ?? 0, headers: res.headers });
      res.resume();
      ws.terminate();
    });
    ws.once('open', () => reject(new Error('the upgrade was accepted')));
    ws.once('error', () => undefined);
  }), `refusal of ${url}`);
}

function closedWith(ws: WebSocket): Promise<{ code: number; reason: string }> {
  return within(new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() }))), 'client close');
}

function wsUrl(httpUrl: string, path: string): string {
  return httpUrl.replace(/^http/, 'ws') + path;
}

/** A raw TCP client that does the handshake itself, then sends and reads frames as bytes. */
async function rawSocket(port: number, path: string): Promise<{ socket: Socket; data: () => Buffer; ended: Promise<void> }> {
  const socket = connect(port, '127.0.0.1');
  let buf = Buffer.alloc(0);
  const ended = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.on('data', (d: Buffer) => { buf = Buffer.concat([buf, d]); });
  socket.on('error', () => undefined);
  socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
  await waitFor(() => buf.includes('\r\n\r\n'), 'the 101');
  const end = buf.indexOf('\r\n\r\n') + 4;
  assert.match(buf.subarray(0, end).toString('latin1'), /^HTTP\/1\.1 101 /);
  buf = buf.subarray(end);
  return { socket, data: () => buf, ended };
}

/** One frame from the client: masked unless told otherwise. */
function frame(opcode: number, payload: Buffer, mask = true): Buffer {
  const len = payload.length;
  const head = len < 126 ? Buffer.from([0x80 | opcode, (mask ? 0x80 : 0) | len]) : Buffer.from([0x80 | opcode, (mask ? 0x80 : 0) | 126, len >> 8, len & 0xff]);
  if (!mask) return Buffer.concat([head, payload]);
  const key = randomBytes(4);
  const body = Buffer.from(payload.map((b, i) => b ^ key[i % 4]!));
  return Buffer.concat([head, key, body]);
}

/** The close code in the first close frame the server sent. */
function closeCodeIn(data: Buffer): number | undefined {
  let at = 0;
  while (at + 2 <= data.length) {
    const opcode = data[at]! & 0x0f;
    let len = data[at + 1]! & 0x7f;
    let start = at + 2;
    if (len === 126) { len = data.readUInt16BE(at + 2); start += 2; }
    if (opcode === 0x8) return len >= 2 ? data.readUInt16BE(start) : 1005;
    at = start + len;
  }
  return undefined;
}

/** An endpoint that echoes, and records how the session ended. */
function echoRoot(): { root: object; ended: Promise<{ close: WebSocketClose | undefined; aborted: boolean }> } {
  const ended = deferred<{ close: WebSocketClose | undefined; aborted: boolean }>();
  const root = {
    index: exposed(() => 'a page'),
    echo: exposed.websocket(async (socket: WebSocketConnection, { request }: Context) => {
      try {
        for await (const message of socket) await socket.send(message);
      } finally {
        await socket.closed;
        ended.resolve({ close: socket.closeInfo, aborted: request.signal.aborted });
      }
    }),
  };
  return { root, ended: ended.promise };
}

test('echo: text stays text, binary stays binary; the handler sees the close code and reason', async (t) => {
  const { root, ended } = echoRoot();
  const server = await start(t, root);
  const ws = await open(wsUrl(server.url, '/echo'));
  const got: { data: Buffer; isBinary: boolean }[] = [];
  ws.on('message', (data: Buffer, isBinary) => got.push({ data, isBinary }));
  ws.send('héllo');
  ws.send(Buffer.from([0, 1, 2, 255]));
  await waitFor(() => got.length === 2, 'two echoes');
  assert.deepEqual(got.map((m) => [m.data.toString('latin1'), m.isBinary]), [[Buffer.from('héllo').toString('latin1'), false], ['\x00\x01\x02\xff', true]]);
  ws.close(4000, 'bye');
  assert.deepEqual((await closedWith(ws)).code, 4000);
  const end = await within(ended, 'handler end');
  assert.deepEqual(end.close, { code: 4000, reason: 'bye' });
  assert.equal(end.aborted, true, 'request.signal aborts when the socket closes');
});

test('the websocket.* keys are checked at start-up', async () => {
  const bad: Config[] = [
    { 'websocket.max_message_size': 0 },
    { 'websocket.heartbeat': -1 },
    { 'websocket.origins': 'https://a.example' as unknown as string[] },
    { 'websocket.protocols': [1] as unknown as string[] },
  ];
  for (const config of bad) {
    const key = Object.keys(config)[0]!;
    await assert.rejects(async () => {
      const server = await serve(new App(echoRoot().root, { '/echo': config }), { host: '127.0.0.1', port: 0, config: { environment: 'test' }, engine: null });
      await server.close();
    }, (err: Error) => err.message.includes(key), key);
  }
});

test('request.signal aborts when the client closes, while the handler waits on something else', async (t) => {
  const reason = deferred<unknown>();
  const root = {
    wait: exposed.websocket(async (_socket: WebSocketConnection, { request }: Context) => {
      await aborted(request.signal);
      reason.resolve(request.signal.reason);
    }),
  };
  const server = await start(t, root);
  const ws = await open(wsUrl(server.url, '/wait'));
  ws.close(1000);
  const why = await within(reason.promise, 'the signal to abort');
  assert.equal((why as { code?: string }).code, 'DRUPE_CLIENT_CLOSED');
});

test('@expose.websocket on a class method, with handler config and `this` the node', async (t) => {
  class Root {
    greeting = 'hi';
    @expose.websocket({ 'websocket.protocols': ['chat.v1'] })
    async chat(socket: WebSocketConnection): Promise<void> {
      await socket.send(`${this.greeting} ${socket.protocol}`);
    }

    @expose.websocket
    async bare(socket: WebSocketConnection): Promise<void> {
      await socket.send(this.greeting);
    }
  }
  const server = await start(t, new Root());
  // The greeting may come in the 101's packet: listen before the socket opens.
  const ws = new WebSocket(wsUrl(server.url, '/chat'), ['other', 'chat.v1']);
  const message = within(new Promise<string>((resolve) => ws.once('message', (d: Buffer) => resolve(d.toString()))), 'greeting');
  const closed = closedWith(ws);
  assert.equal(await message, 'hi chat.v1');
  assert.equal(ws.protocol, 'chat.v1');
  assert.equal((await closed).code, 1000, 'the handler returned: the socket closes with 1000');
  // Without parentheses too.
  const bare = new WebSocket(wsUrl(server.url, '/bare'));
  const hi = within(new Promise<string>((resolve) => bare.once('message', (d: Buffer) => resolve(d.toString()))), 'bare greeting');
  assert.equal(await hi, 'hi');
  bare.close();
  // The decorated method still answers its own callers with a socket.
  assert.equal(typeof new Root().chat, 'function');
});

test('a subprotocol the endpoint does not declare is not agreed', async (t) => {
  const server = await start(t, echoRoot().root);
  const ws = new WebSocket(wsUrl(server.url, '/echo'), ['chat.v1']);
  // ws's client refuses a 101 without the subprotocol it asked for.
  const err = await within(new Promise<Error>((resolve) => ws.once('error', resolve)), 'client error');
  assert.match(err.message, /subprotocol/i);
});

test('backpressure (HOSTILE 50): while the client does not read, send() waits and memory stays bounded', async (t) => {
  const CHUNK = 64 * 1024;
  const COUNT = 400; // 25 MiB: more than the kernel buffers on both sides hold
  let sent = 0;
  let maxBuffered = 0;
  const done = deferred();
  const root = {
    flood: exposed.websocket(async (socket: WebSocketConnection) => {
      const chunk = Buffer.alloc(CHUNK, 0x61);
      for (let i = 0; i < COUNT; i++) {
        await socket.send(chunk);
        sent++;
        maxBuffered = Math.max(maxBuffered, socket.bufferedAmount);
      }
      done.resolve();
    }),
  };
  const server = await start(t, root);
  const ws = await open(wsUrl(server.url, '/flood'));
  ws.pause();
  // Wait until the handler has stopped making progress (it waits in send()).
  let last = -1;
  let still = 0;
  await waitFor(() => {
    if (sent === last) still++;
    else { still = 0; last = sent; }
    return still >= 20 && sent > 0;
  }, 'the sender to block', 20_000);
  assert.ok(sent < COUNT, `the handler was held back (${sent} of ${COUNT} sent)`);
  assert.ok(maxBuffered <= 64 * 1024 + CHUNK, `at most the high-water mark and one message queued (${maxBuffered})`);
  let received = 0;
  ws.on('message', (d: Buffer) => { received += d.length; });
  ws.resume();
  await within(done.promise, 'the handler to finish', 20_000);
  await waitFor(() => received === COUNT * CHUNK, 'every byte', 20_000);
  ws.close();
});

test('HOSTILE 50: a client that floods messages the handler does not take yet: the server stops reading', async (t) => {
  const COUNT = 20_000;
  const SIZE = 1024; // 20 MiB in all: more than the kernel buffers hold
  const go = deferred();
  let taken = 0;
  const root = {
    slow: exposed.websocket(async (socket: WebSocketConnection) => {
      await go.promise;
      for await (const message of socket) {
        taken++;
        if (taken === COUNT) await socket.send(`took ${taken} of ${(message as Buffer).length}`);
      }
    }),
  };
  const server = await start(t, root);
  const ws = await open(wsUrl(server.url, '/slow'));
  const payload = Buffer.alloc(SIZE, 0x62);
  for (let i = 0; i < COUNT; i++) ws.send(payload);
  // The server reads a few messages, then pauses the socket: the rest waits on the client's side.
  let last = -1;
  let still = 0;
  await waitFor(() => {
    if (ws.bufferedAmount === last) still++;
    else { still = 0; last = ws.bufferedAmount; }
    return still >= 20;
  }, 'the client to be held back', 20_000);
  assert.ok(ws.bufferedAmount > 0, 'the client still holds messages the server has not read');
  const reply = within(new Promise<string>((resolve) => ws.once('message', (d: Buffer) => resolve(d.toString()))), 'the reply', 20_000);
  go.resolve();
  assert.equal(await reply, `took ${COUNT} of ${SIZE}`);
  ws.close();
});

test('HOSTILE 47: a message over websocket.max_message_size closes the socket with 1009', async (t) => {
  const { root, ended } = echoRoot();
  const server = await start(t, root, { '/echo': { 'websocket.max_message_size': 1024 } });
  // A real client is cut too.
  const ws = await open(wsUrl(server.url, '/echo'));
  ws.send('x'.repeat(1025));
  assert.equal((await closedWith(ws)).code, 1009);
  assert.equal((await within(ended, 'handler end')).close?.code, 1009);
  // And a raw frame that only announces the length is refused before its payload arrives.
  const raw = await rawSocket(server.port, '/echo');
  raw.socket.write(frame(0x2, Buffer.alloc(2000)).subarray(0, 8));
  await waitFor(() => closeCodeIn(raw.data()) !== undefined, 'a close frame');
  assert.equal(closeCodeIn(raw.data()), 1009);
  raw.socket.destroy();
});

const PROTOCOL_ERRORS = [
  { name: 'HOSTILE 48: invalid UTF-8 in a text frame closes the socket with 1007', bytes: frame(0x1, Buffer.from([0x68, 0xff, 0xfe])), code: 1007 },
  { name: 'HOSTILE 49: an unmasked client frame closes the socket with 1002', bytes: frame(0x1, Buffer.from('hi'), false), code: 1002 },
];
for (const bad of PROTOCOL_ERRORS) {
  test(bad.name, async (t) => {
    const { root, ended } = echoRoot();
    const server = await start(t, root);
    const raw = await rawSocket(server.port, '/echo');
    raw.socket.write(bad.bytes);
    await waitFor(() => closeCodeIn(raw.data()) !== undefined, 'a close frame');
    assert.equal(closeCodeIn(raw.data()), bad.code);
    raw.socket.end();
    assert.equal((await within(ended, 'handler end')).close?.code, bad.code);
  });
}

test('heartbeat (HOSTILE 50): a peer that never answers pings is cut (1006), and request.signal aborts', async (t) => {
  const { root, ended } = echoRoot();
  const server = await start(t, root, { '/echo': { 'websocket.heartbeat': 0.05 } });
  const raw = await rawSocket(server.port, '/echo');
  await within(raw.ended, 'the server to drop the silent peer');
  assert.ok(raw.data().length >= 2 && (raw.data()[0]! & 0x0f) === 0x9, 'a ping came first');
  const end = await within(ended, 'handler end');
  assert.equal(end.close?.code, 1006);
  assert.equal(end.aborted, true);
  // A real client answers pings and stays (a longer period: a loaded machine may stall the loop for a few ms).
  const steady = await start(t, echoRoot().root, { '/echo': { 'websocket.heartbeat': 0.4 } });
  const ws = await open(wsUrl(steady.url, '/echo'));
  let pings = 0;
  ws.on('ping', () => { pings++; });
  await waitFor(() => pings >= 3, 'three pings');
  assert.equal(ws.readyState, WebSocket.OPEN);
  ws.close();
});

test('tools run before the upgrade: auth_basic refuses with 401, then lets the right user in', async (t) => {
  const config: Config = { 'tools.auth_basic.on': true, 'tools.auth_basic.realm': 'ws', 'tools.auth_basic.users': { ann: 'secret' } };
  const server = await start(t, echoRoot().root, { '/echo': config });
  const r = await refused(wsUrl(server.url, '/echo'));
  assert.equal(r.status, 401);
  assert.match(String(r.headers['www-authenticate']), /Basic realm="ws"/);
  const ws = await open(wsUrl(server.url, '/echo'), { headers: { Authorization: `Basic ${Buffer.from('ann:secret').toString('base64')}` } });
  ws.close();
});

const originCheck = defineTool({
  name: 'ws_test_origin',
  point: 'before_handler',
  defaults: { allowed: [] as readonly string[] },
  run({ request }, o) {
    const origin = request.headers.origin;
    if (origin !== undefined && !o.allowed.includes(origin)) throw new HTTPError(403, 'Origin not allowed');
  },
});

test('an origin check refuses with 403: a user tool, and websocket.origins', async (t) => {
  void originCheck;
  const server = await start(t, echoRoot().root, {
    '/echo': { 'tools.ws_test_origin.on': true, 'tools.ws_test_origin.allowed': ['https://good.example'] },
  });
  assert.equal((await refused(wsUrl(server.url, '/echo'), { Origin: 'https://evil.example' })).status, 403);
  (await open(wsUrl(server.url, '/echo'), { headers: { Origin: 'https://good.example' } })).close();

  const other = await start(t, echoRoot().root, { '/echo': { 'websocket.origins': ['https://good.example'] } });
  assert.equal((await refused(wsUrl(other.url, '/echo'), { Origin: 'https://evil.example' })).status, 403);
  (await open(wsUrl(other.url, '/echo'), { headers: { Origin: 'https://good.example' } })).close();
  (await open(wsUrl(other.url, '/echo'))).close(); // no Origin: not a browser
});

/** Raw bytes; everything the server sent before it closed the connection. */
async function rawUpgradeLike(port: number, bytes: string): Promise<string> {
  const socket = connect(port, '127.0.0.1');
  let text = '';
  socket.setEncoding('latin1');
  socket.on('data', (d: string) => { text += d; });
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.on('error', () => undefined);
  socket.write(bytes);
  await within(closed, 'the server to close the connection');
  return text;
}

/** A raw upgrade request; returns everything the server sent before it closed the connection. */
async function rawUpgrade(port: number, path: string, extra = ''): Promise<string> {
  return rawUpgradeLike(port, `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`);
}

test('an upgrade to a path that is not an endpoint: 404 without a handler, 426 for a page; the connection closes', async (t) => {
  const server = await start(t, echoRoot().root);
  const missing = await rawUpgrade(server.port, '/nope');
  assert.match(missing, /^HTTP\/1\.1 404 /);
  assert.match(missing, /\r\nConnection: close\r\n/i);
  const page = await rawUpgrade(server.port, '/');
  assert.match(page, /^HTTP\/1\.1 426 /);
  // Another protocol in Upgrade (h2c, say) is ignored, as RFC 9110 allows: the page answers, then the connection closes.
  const text = await rawUpgradeLike(server.port, 'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: h2c\r\nConnection: Upgrade, HTTP2-Settings\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n');
  assert.match(text, /^HTTP\/1\.1 200 /);
  assert.match(text, /\r\n\r\na page$/);
  // With a body, which node no longer reads once it handed the socket over: a 400, never a handler that sees none.
  const withBody = await rawUpgradeLike(server.port, 'POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: h2c\r\nConnection: Upgrade\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 5\r\n\r\na=123');
  assert.match(withBody, /^HTTP\/1\.1 400 /);
});

test('a plain GET to an endpoint gets 426 with Upgrade: websocket; a keep-alive connection stays usable', async (t) => {
  const server = await start(t, echoRoot().root);
  const res = await fetch(`${server.url}/echo`);
  assert.equal(res.status, 426);
  assert.equal(res.headers.get('upgrade'), 'websocket');
  await res.text();
  const r = await rawRequest(server.port, 'GET /echo HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\nGET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
  assert.deepEqual(r.responses.map((x) => x.status), [426, 200], 'both answered on one connection');
});

test('a bad handshake to an endpoint is an ordinary HTTP answer', async (t) => {
  const server = await start(t, echoRoot().root);
  const text = await rawUpgradeLike(server.port, 'GET /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: short\r\nSec-WebSocket-Version: 13\r\n\r\n');
  assert.match(text, /^HTTP\/1\.1 400 /);
  const version = await rawUpgradeLike(server.port, `GET /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 7\r\n\r\n`);
  assert.match(version, /^HTTP\/1\.1 426 /);
  assert.match(version, /\r\nSec-WebSocket-Version: 13, 8\r\n/i);
  // A handshake ws itself refuses (a malformed Sec-WebSocket-Protocol): ws's one 400, nothing written after it, the socket closed.
  const protocol = await rawUpgrade(server.port, '/echo', 'Sec-WebSocket-Protocol: a,,b\r\n');
  assert.match(protocol, /^HTTP\/1\.1 400 /);
  assert.equal(protocol.match(/HTTP\/1\.1 /g)?.length, 1, protocol);
});

test('a handler that throws: the socket closes with 1011', async (t) => {
  const root = { boom: exposed.websocket(async () => { throw new Error('handler broke'); }) };
  const server = await start(t, root);
  const ws = await open(wsUrl(server.url, '/boom'));
  assert.equal((await closedWith(ws)).code, 1011);
});

test('server close(): every socket closes with 1001 and close() resolves', async () => {
  const { root, ended } = echoRoot();
  const server = await serve(new App(root), { host: '127.0.0.1', port: 0, config: { environment: 'test' }, engine: null });
  const a = await open(wsUrl(server.url, '/echo'));
  const b = await open(wsUrl(server.url, '/echo'));
  const codes = Promise.all([closedWith(a), closedWith(b)]);
  await within(server.close(), 'close() to resolve', 10_000);
  assert.deepEqual((await codes).map((c) => c.code), [1001, 1001]);
  const end = await within(ended, 'handler end');
  assert.equal(end.close?.code, 1001);
  assert.equal(end.aborted, true);
});

test('a Tree mount: the endpoint is found below its script name', async (t) => {
  const tree = new Tree().mount(echoRoot().root, '/app');
  const server = await serve(tree, { host: '127.0.0.1', port: 0, config: { environment: 'test' }, engine: null });
  t.after(() => server.close());
  const ws = await open(wsUrl(server.url, '/app/echo'));
  const echoed = new Promise<string>((resolve) => ws.once('message', (d: Buffer) => resolve(d.toString())));
  ws.send('through the tree');
  assert.equal(await within(echoed, 'echo'), 'through the tree');
  ws.close();
  assert.match(await rawUpgrade(server.port, '/elsewhere'), /^HTTP\/1\.1 404 /);
});

test('the access line of a session: status 101, bytes, outcome at close', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'drupe-ws-log-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const access = join(dir, 'access.log');
  const { root, ended } = echoRoot();
  const server = await serve(new App(root), { host: '127.0.0.1', port: 0, engine: null, config: { environment: 'test', 'log.access_file': access, 'log.screen': false } });
  const ws = await open(wsUrl(server.url, '/echo'));
  ws.send('x');
  await within(new Promise((resolve) => ws.once('message', resolve)), 'echo');
  ws.close(1000);
  await closedWith(ws);
  await within(ended, 'handler end');
  const refusedLine = await rawUpgrade(server.port, '/nope');
  assert.match(refusedLine, /^HTTP\/1\.1 404 /);
  await server.close();
  const lines = readFileSync(access, 'utf8').trim().split('\n');
  assert.equal(lines.length, 2, lines.join('\n'));
  assert.match(lines[0]!, /"GET \/echo HTTP\/1\.1" 101 \d+ .* outcome=complete ttfb=/);
  assert.match(lines[1]!, /"GET \/nope HTTP\/1\.1" 404 /);
});

for (const http2 of [false, true]) {
  test(`wss: an endpoint answers over TLS${http2 ? ' on a server.http2 port (the upgrade over ALPN http/1.1)' : ''}`, async (t) => {
    const files = await certificateFiles();
    t.after(() => rmSync(files.dir, { recursive: true, force: true }));
    const { root, ended } = echoRoot();
    const server = await start(t, root, {}, { 'server.ssl_certificate': files.certFile, 'server.ssl_private_key': files.keyFile, 'server.http2': http2 });
    assert.match(server.url, /^https:/);
    const ws = new WebSocket(wsUrl(server.url, '/echo'), { ca: files.cert });
    await within(new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); }), 'the wss handshake');
    const echoed = within(new Promise<string>((resolve) => ws.once('message', (data: Buffer) => resolve(data.toString()))), 'the echo');
    ws.send('over tls');
    assert.equal(await echoed, 'over tls');
    ws.close(1000);
    assert.deepEqual((await within(ended, 'handler end')).close, { code: 1000, reason: '' });
  });
}
