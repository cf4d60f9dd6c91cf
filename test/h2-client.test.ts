// drupe/testing's h2 client against a bare node:http2 server that ends its streams each
// way on purpose: the client must tell END_STREAM from RST_STREAM (NO_ERROR included,
// which node's own client reports as a clean end) and from GOAWAY or a dropped connection.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http2, { type Http2ServerRequest, type Http2ServerResponse, type ServerHttp2Session } from 'node:http2';
import type { Socket } from 'node:net';
import { h2Connect, h2Request } from '../src/testing.js';
import { waitFor, within } from './helpers/async.js';

const { NGHTTP2_NO_ERROR, NGHTTP2_INTERNAL_ERROR, NGHTTP2_CANCEL, NGHTTP2_ENHANCE_YOUR_CALM } = http2.constants;

/** The server's TCP connections, to drop one under its streams. */
const sockets = new Set<Socket>();

async function bare(t: { after(fn: () => unknown): void }, handle: (req: Http2ServerRequest, res: Http2ServerResponse) => void): Promise<number> {
  const server = http2.createServer(handle);
  const sessions = new Set<ServerHttp2Session>();
  server.on('session', (s) => { sessions.add(s); });
  server.on('connection', (socket: Socket) => { sockets.add(socket); });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => {
    for (const s of sessions) s.destroy();
    server.close(() => resolve());
  }));
  return (server.address() as { port: number }).port;
}

test('h2Request: END_STREAM, RST_STREAM(NO_ERROR), RST_STREAM(INTERNAL_ERROR), GOAWAY and a dropped connection are told apart', async (t) => {
  const port = await bare(t, (req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain', 'x-path': req.url });
    res.write('part;');
    const stream = res.stream;
    switch (req.url) {
      case '/end': res.end('rest'); break;
      case '/rst-no-error': setTimeout(() => stream.close(NGHTTP2_NO_ERROR), 10); break;
      case '/rst-internal': setTimeout(() => stream.close(NGHTTP2_INTERNAL_ERROR), 10); break;
      case '/goaway': setTimeout(() => stream.session?.goaway(NGHTTP2_ENHANCE_YOUR_CALM, 0), 10); break;
      case '/drop': setTimeout(() => { for (const socket of sockets) socket.destroy(); }, 10); break;
    }
  });
  const expected = {
    '/end': { kind: 'END_STREAM' },
    '/rst-no-error': { kind: 'RST_STREAM', code: NGHTTP2_NO_ERROR, name: 'NGHTTP2_NO_ERROR' },
    '/rst-internal': { kind: 'RST_STREAM', code: NGHTTP2_INTERNAL_ERROR, name: 'NGHTTP2_INTERNAL_ERROR' },
    '/goaway': { kind: 'GOAWAY', code: NGHTTP2_ENHANCE_YOUR_CALM },
    '/drop': { kind: 'CLOSED' },
  } as const;
  for (const [path, end] of Object.entries(expected)) {
    const res = await h2Request(port, { path });
    assert.equal(res.status, 200, path);
    assert.equal(res.headers['x-path'], path, 'pseudo-fields left out, fields kept');
    const first = await within(res.chunks()[Symbol.asyncIterator]().next(), `${path}: the first DATA`);
    assert.equal(first.value?.data.toString(), 'part;', path);
    const done = await res.done();
    assert.deepEqual(done.end, end, path);
    assert.equal(done.complete, path === '/end', path);
    assert.equal(done.body.toString(), path === '/end' ? 'part;rest' : 'part;', path);
  }
});

test('h2Request: streams share an h2Connect session; reset() sends RST_STREAM(CANCEL); a signal resets too; no headers within timeoutMs rejects', async (t) => {
  const resets: Array<number | undefined> = [];
  const port = await bare(t, (req, res) => {
    if (req.url === '/silent') return;
    res.stream.on('close', () => { if (req.url === '/cancel' || req.url === '/signal') resets.push(res.stream.rstCode); });
    res.writeHead(200);
    res.write('x');
  });
  const connection = await h2Connect(port);
  t.after(() => connection.disconnect());
  const a = await h2Request(connection, { path: '/cancel' });
  a.reset();
  const ended = await a.done();
  assert.equal(ended.end.kind, 'RST_STREAM');
  const controller = new AbortController();
  const b = await h2Request(connection, { path: '/signal', signal: controller.signal });
  controller.abort();
  await b.done();
  await waitFor(() => resets.length === 2, 'the server to see both resets');
  assert.deepEqual(resets, [NGHTTP2_CANCEL, NGHTTP2_CANCEL]);
  await assert.rejects(h2Request(connection, { path: '/silent', timeoutMs: 100 }), /no HTTP\/2 response headers within 100 ms/);
});
