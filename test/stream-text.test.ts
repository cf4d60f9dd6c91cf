// Streamed strings: the writer hands UTF-8 text to node as strings (no Buffer per chunk), so what
// counts bytes (Content-Length, the access line), what picks the charset and what keeps the head
// Latin-1 must not change with it. Over real sockets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { exposed, type Config, type Context } from '../src/index.js';
import { rawRequest } from '../src/testing.js';
import { startApp } from './helpers/server.js';
import { one, req } from './helpers/http.js';
import { startLogged } from './helpers/streaming.js';

const STREAM: Config = { 'response.stream': true };
const E_ACUTE_UTF8 = [0xc3, 0xa9];

test('streamed UTF-8 strings are counted in bytes against a declared Content-Length, not in UTF-16 units', async (t) => {
  const withLength = (length: number) => exposed(({ response }: Context) => {
    response.headers.set('Content-Length', String(length));
    return (function* () { yield 'é'; yield 'é'; yield 'é'; })();
  }, STREAM);
  // 'é' is one UTF-16 unit and two bytes: 6 bytes, 3 units.
  const root = { exact: withLength(6), over: withLength(5), next: exposed(() => 'next') };
  const logged = await startLogged(t, root);
  const port = logged.server.port;

  const exact = await rawRequest(port, req('/exact') + req('/next', { headers: { Connection: 'close' } }));
  assert.equal(exact.responses.length, 2, 'complete, and the connection reused');
  assert.equal(exact.responses[0]!.framing, 'content-length');
  assert.ok(exact.responses[0]!.complete);
  assert.deepEqual([...exact.responses[0]!.body], [...E_ACUTE_UTF8, ...E_ACUTE_UTF8, ...E_ACUTE_UTF8]);
  assert.equal(exact.responses[1]!.body.toString(), 'next');

  const over = await rawRequest(port, req('/over') + req('/next'));
  assert.ok(over.closedByServer);
  assert.equal(over.responses.length, 1, 'not reused');
  assert.deepEqual([...over.responses[0]!.body], [...E_ACUTE_UTF8, ...E_ACUTE_UTF8], 'at most the declared length');
  assert.equal(over.responses[0]!.complete, false);

  const { error, access } = await logged.logs();
  assert.equal((error.match(/more than its declared Content-Length \(5 bytes\)/g) ?? []).length, 1, error);
  // The access line's byte count is in bytes too.
  assert.match(access, /"GET \/exact HTTP\/1\.1" 200 6 /, access);
});

test('a charset the generator sets before it yields applies to every string it yields, the first and the rest', async (t) => {
  const root = {
    latin1: exposed(function* ({ response }: Context) {
      response.headers.set('Content-Type', 'text/plain;charset=iso-8859-1');
      yield 'é';
      yield 'é';
      yield 'ü';
    }, STREAM),
  };
  const server = await startApp(root);
  t.after(() => server.close());
  const res = await one(server.port, 'GET', '/latin1');
  assert.equal(res.headers['content-type'], 'text/plain;charset=iso-8859-1');
  assert.equal(res.framing, 'chunked');
  // Bytes and order; node 24 and later send a tick's writes as one HTTP chunk.
  assert.deepEqual([...res.body], [0xe9, 0xe9, 0xfc]);
});

test('a Latin-1 header value stays Latin-1 when the head goes out with a streamed string', async (t) => {
  // An empty first chunk is not written, so the head is still unsent when the first string goes.
  const root = {
    index: exposed(({ response }: Context) => {
      response.headers.set('X-Name', 'Zoë');
      response.headers.set('Content-Length', '2');
      return (function* () { yield ''; yield 'é'; })();
    }, STREAM),
  };
  const server = await startApp(root);
  t.after(() => server.close());
  const r = await rawRequest(server.port, req('/', { headers: { Connection: 'close' } }));
  const head = r.bytes.subarray(0, r.bytes.indexOf('\r\n\r\n'));
  assert.ok(head.includes(Buffer.from('X-Name: Zo\xeb\r\n', 'latin1')), head.toString('latin1'));
  const res = r.responses[0]!;
  assert.ok(res.complete);
  assert.deepEqual([...res.body], E_ACUTE_UTF8);
});
