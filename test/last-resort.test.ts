// AppHost's last resort: the pipeline answers every error itself, so a request that escapes it
// is a bug in Drupe. The host logs it and cuts the response so the client sees a failure: on
// h2 RST_STREAM(INTERNAL_ERROR), never node's destroy() (RST_STREAM(NO_ERROR), which clients
// read as a normal end). The fault is injected: the host's request counter throws, before the
// pipeline's own error handling begins.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { exposed } from '../src/index.js';
import { h2Request, rawRequest } from '../src/testing.js';
import { hostOf } from '../src/app/app.js';
import type { AppHost } from '../src/app/host.js';
import { startH2 } from './helpers/h2.js';
import { start } from './helpers/server.js';
import { req } from './helpers/http.js';

/** Make the host's next request id throw once: a bug outside the pipeline's try. */
function breakOnce(host: AppHost): void {
  const own = host.nextId;
  host.nextId = function broken(this: AppHost): number {
    host.nextId = own;
    throw new Error('an injected bug in the host');
  };
}

test('an h2 request that escapes the pipeline ends with RST_STREAM(INTERNAL_ERROR), logged, and the session goes on', async (t) => {
  const h2 = await startH2(t, { hello: exposed(() => 'hello') });
  breakOnce(hostOf(h2.app));
  await assert.rejects(h2Request(h2.port, { path: '/hello' }), /the stream ended \(RST_STREAM NGHTTP2_INTERNAL_ERROR\) before its response headers/);
  // The next request is served as usual.
  const res = await h2Request(h2.port, { path: '/hello' });
  const done = await res.done();
  assert.equal(done.end.kind, 'END_STREAM');
  assert.equal(done.body.toString(), 'hello');
  const { error } = await h2.logs();
  assert.match(error, /Handling a request failed/);
  assert.match(error, /an injected bug in the host/);
});

test('an HTTP/1.1 request that escapes the pipeline gets its connection closed, no response', async (t) => {
  const server = await start(t, { hello: exposed(() => 'hello') });
  breakOnce(hostOf(server.app));
  const cut = await rawRequest(server.port, req('/hello'));
  assert.equal(cut.responses.length, 0, cut.text);
  assert.equal(cut.closedByServer, true);
  const ok = await rawRequest(server.port, req('/hello', { headers: { Connection: 'close' } }));
  assert.equal(ok.responses[0]?.body.toString(), 'hello');
});
