// Drupe behind a real nginx (issue 14 item 10; S5 and S8 of docs/contract.md): the configuration in
// docs/deployment.md keeps a failed stream's truncation visible to the client; nginx's default upstream
// HTTP/1.0 does not, and the access line says so. The nginx block is read from the docs page itself.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { exposed, type Config, type Context } from '../src/index.js';
import { parseResponses, rawRequest, streamRequest } from '../src/testing.js';
import { deferred, within } from './helpers/async.js';
import { raw, rawReq } from './helpers/http.js';
import { requestIdOf, startLogged } from './helpers/streaming.js';
import { documentedNginxBlock, replaceOnce, startNginx as startNginxWith } from './helpers/nginx.js';

const DEPLOYMENT = new URL('../../docs/deployment.md', import.meta.url);
/** The two addresses of the documented block that the test points at its own ports. */
const DOC_LISTEN = 'listen 80;';
const DOC_UPSTREAM = 'server 127.0.0.1:8080;';
/** What the default configuration leaves out: nginx then speaks HTTP/1.0 to Drupe and sends `Connection: close`. */
const HTTP_1_1_LINES = ['proxy_http_version 1.1;', 'proxy_set_header Connection "";'];

const STREAM: Config = { 'response.stream': true };

/**
 * A real nginx running docs/deployment.md's block (`edit` changes it first),
 * pointed at `upstreamPort`. Returns the port it listens on (127.0.0.1).
 */
async function startNginx(t: { after(fn: () => unknown): void }, upstreamPort: number, edit: (block: string) => string = (b) => b): Promise<number> {
  const block = edit(documentedNginxBlock(DEPLOYMENT));
  const nginx = await startNginxWith(t, (port) => replaceOnce(
    replaceOnce(block, DOC_LISTEN, `listen 127.0.0.1:${port};`),
    DOC_UPSTREAM, `server 127.0.0.1:${upstreamPort};`));
  return nginx.port;
}

/** A handler whose stream fails after its first chunk. */
const failing = exposed(function* () {
  yield 'first';
  throw new Error('stream broke behind nginx');
});

test('nginx with the documented configuration: a stream that fails after its first chunk reaches the client cut, without a terminator', async (t) => {
  const logged = await startLogged(t, { fail: failing }, {}, STREAM);
  const port = await startNginx(t, logged.server.port);

  const r = await raw(port, rawReq(port, 'GET', '/fail'));
  assert.equal(r.responses.length, 1, r.text);
  const res = r.responses[0]!;
  assert.equal(res.status, 200, r.text);
  assert.equal(res.framing, 'chunked', r.text);
  assert.equal(res.body.toString(), 'first', 'the first chunk came through');
  assert.equal(res.complete, false, `no terminating chunk: ${JSON.stringify(r.text)}`);
  assert.ok(!r.text.includes('\r\n0\r\n\r\n'), r.text);
  assert.ok(r.closedByServer || r.reset, 'the connection was cut');

  const { access, error } = await logged.logs();
  const line = access.split('\n').find((l) => l.includes('"GET /fail HTTP/1.1"'));
  assert.ok(line !== undefined, `nginx spoke HTTP/1.1 to Drupe: ${access}`);
  assert.match(line, / outcome=error ttfb=\S+$/, 'the client could tell: no truncation=invisible');
  assert.ok(error.includes(`[${requestIdOf(line)}]`) && error.includes('stream broke behind nginx'), error);
});

test("nginx's default upstream HTTP/1.0: the same failure reaches the client with a clean end, and the access line says truncation=invisible", async (t) => {
  const logged = await startLogged(t, { fail: failing }, {}, STREAM);
  const port = await startNginx(t, logged.server.port, (block) => HTTP_1_1_LINES.reduce((b, l) => replaceOnce(b, l, ''), block));

  const r = await raw(port, rawReq(port, 'GET', '/fail'));
  assert.equal(r.responses.length, 1, r.text);
  const res = r.responses[0]!;
  assert.equal(res.status, 200, r.text);
  assert.equal(res.body.toString(), 'first');
  // The problem docs/deployment.md describes: nginx took Drupe's close for the end and ended the body itself.
  assert.equal(res.framing, 'chunked', r.text);
  assert.equal(res.complete, true, `nginx added the terminator: ${JSON.stringify(r.text)}`);
  assert.ok(r.text.endsWith('\r\n0\r\n\r\n'), r.text);

  const { access, error } = await logged.logs();
  const line = access.split('\n').find((l) => l.includes('"GET /fail HTTP/1.0"'));
  assert.ok(line !== undefined, `nginx spoke HTTP/1.0 to Drupe: ${access}`);
  assert.match(line, / 200 5 .* outcome=error ttfb=\S+ truncation=invisible$/, line);
  assert.ok(error.includes(`[${requestIdOf(line)}]`), error);
});

test('nginx with the documented configuration passes a stream through chunk by chunk and completes it; tools.proxy sees the client\'s host and scheme', async (t) => {
  const gate = deferred();
  t.after(() => gate.resolve());
  const root = {
    feed: exposed(async function* () {
      yield 'one\n';
      await gate.promise; // the second chunk exists only once the client has the first: nothing to buffer it with
      yield 'two\n';
    }, STREAM),
    where: exposed(({ request }: Context) => `${request.scheme}://${request.host} ${request.remote.ip}`),
  };
  const logged = await startLogged(t, root, { '/': { 'tools.proxy.on': true, 'tools.proxy.trusted': ['127.0.0.1'] } });
  const port = await startNginx(t, logged.server.port);

  const socket = net.connect({ port, host: '127.0.0.1' });
  t.after(() => socket.destroy());
  let text = '';
  socket.setEncoding('latin1');
  socket.on('data', (d: string) => { text += d; });
  const closed = once(socket, 'close');
  socket.write(rawReq(port, 'GET', '/feed'));
  await within(new Promise<void>((resolve) => {
    const check = (): void => { if (text.includes('one\n')) { socket.off('data', check); resolve(); } };
    socket.on('data', check);
  }), 'the first chunk through nginx');
  assert.ok(!text.includes('two'), 'the second chunk was not produced yet');
  assert.match(text, /^HTTP\/1\.1 200 /);
  assert.match(text, /\r\nTransfer-Encoding: chunked\r\n/i);
  gate.resolve();
  await within(closed, 'nginx to end the response');
  const [res] = parseResponses(Buffer.from(text, 'latin1'));
  assert.equal(res?.body.toString(), 'one\ntwo\n', JSON.stringify(text));
  assert.equal(res.complete, true, `the terminating chunk came through: ${JSON.stringify(text)}`);

  const where = await raw(port, rawReq(port, 'GET', '/where', { host: 'example.test:8443' }));
  assert.equal(where.responses[0]?.body.toString(), 'http://example.test:8443 127.0.0.1', where.text);

  const { access } = await logged.logs();
  assert.match(access, /"GET \/feed HTTP\/1\.1" 200 \d+ .* outcome=complete ttfb=\S+$/m, access);
});

test('nginx honours X-Accel-Buffering: no: a client that stops reading holds the producer back through the proxy (S4, S8)', async (t) => {
  const CHUNK = 64 * 1024;
  const TOTAL = 64 * 1024 * 1024;
  let produced = 0;
  const root = {
    big: exposed(() => (function* () {
      const chunk = Buffer.alloc(CHUNK, 0x61);
      while (produced < TOTAL / CHUNK) {
        produced++;
        yield chunk;
      }
    })(), STREAM),
  };
  const logged = await startLogged(t, root);
  const port = await startNginx(t, logged.server.port);

  const res = await streamRequest(port, { path: '/big', paused: true, timeoutMs: 30_000 });
  // Stop reading for about two seconds (a pause, not a measurement). A buffering nginx would take
  // the whole body meanwhile (into its temp file); an unbuffered one only what the sockets hold.
  await new Promise((resolve) => setTimeout(resolve, 2000));
  const whilePaused = produced * CHUNK;
  assert.ok(whilePaused < 16 * 1024 * 1024, `produced ${whilePaused} bytes for a client that reads nothing`);
  res.resume();
  const done = await res.done();
  assert.ok(done.complete);
  assert.equal(done.body.length, TOTAL);
  assert.equal(produced, TOTAL / CHUNK);
});

test('the access line says truncation=invisible only when a failed body was close-delimited (HTTP/1.0, no declared length)', async (t) => {
  const root = {
    fail: failing,
    declared: exposed(function* ({ response }: Context) {
      response.headers.set('Content-Length', '10');
      yield 'first';
      throw new Error('declared stream broke');
    }, STREAM),
  };
  const logged = await startLogged(t, root, {}, STREAM);
  const port = logged.server.port;
  for (const [target, version] of [['/fail', '1.0'], ['/declared', '1.0'], ['/fail', '1.1']] as const) {
    const r = await rawRequest(port, rawReq(port, 'GET', target, { version }));
    assert.equal(r.responses[0]?.status, 200, r.text);
  }
  const { access } = await logged.logs();
  const lineOf = (request: string): string => {
    const line = access.split('\n').find((l) => l.includes(`"${request}"`));
    assert.ok(line !== undefined, `${request}: ${access}`);
    return line;
  };
  assert.match(lineOf('GET /fail HTTP/1.0'), / outcome=error ttfb=\S+ truncation=invisible$/);
  // A declared length the body fell short of, and a chunked body without its terminator: the client can tell.
  assert.match(lineOf('GET /declared HTTP/1.0'), / outcome=error ttfb=\S+$/);
  assert.match(lineOf('GET /fail HTTP/1.1'), / outcome=error ttfb=\S+$/);
});
