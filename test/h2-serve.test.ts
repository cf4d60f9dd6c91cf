// The h2 body contract through serve() with server.http2 (issue 16 part 2): cleartext with
// prior knowledge, and TLS with ALPN h2 — the same frames as with the listener mounted by hand
// (test/h2-body.test.ts), plus what only serve() does: GOAWAY at shutdown.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { HTTPRedirect, exposed, serve, App, type Config, type Context } from '../src/index.js';
import { h2Connect, h2Request } from '../src/testing.js';
import { certificateFiles } from './helpers/tls.js';
import { aborted, deferred, tick, within } from './helpers/async.js';

const STREAM: Config = { 'response.stream': true };

function root(finished: { resolve(): void }): object {
  return {
    index: exposed(({ request }: Context) => `${request.protocol} ${request.scheme}`),
    go: exposed(() => { throw new HTTPRedirect('/there'); }),
    broken: exposed(async function* () {
      yield 'first';
      await tick();
      throw new Error('broke after commit');
    }, STREAM),
    feed: exposed(async function* ({ request }: Context) {
      try {
        yield 'start\n';
        await aborted(request.signal);
      } finally {
        finished.resolve();
      }
    }, STREAM),
  };
}

for (const secure of [false, true]) {
  test(`serve() with server.http2${secure ? ' and TLS (ALPN h2)' : ' (cleartext, prior knowledge)'}: HTTP/2.0, :authority, RST_STREAM(INTERNAL_ERROR) on a failure, a reset finalizes the producer`, async (t) => {
    const finished = deferred();
    const tls: Config = secure ? await certificateFiles().then((f) => ({ 'server.ssl_certificate': f.certFile, 'server.ssl_private_key': f.keyFile })) : {};
    const ca = secure ? (await certificateFiles()).cert : undefined;
    const running = await serve(new App(root(finished)), { host: '127.0.0.1', port: 0, config: { environment: 'test', 'server.http2': true, ...tls } });
    t.after(() => running.close());
    const origin = `${secure ? 'https' : 'http'}://127.0.0.1:${running.port}`;
    const connection = await h2Connect(origin, ca === undefined ? {} : { ca });
    t.after(() => connection.disconnect());
    const index = await h2Request(connection, { path: '/' });
    assert.equal(await index.text(), `HTTP/2.0 ${secure ? 'https' : 'http'}`);
    const go = await h2Request(connection, { path: '/go', headers: { ':authority': 'example.test:8443' } });
    assert.equal(go.headers.location, `${secure ? 'https' : 'http'}://example.test:8443/there`);
    await go.done();
    const broken = await h2Request(connection, { path: '/broken' });
    const cut = await broken.done();
    assert.equal(cut.body.toString(), 'first');
    assert.deepEqual(cut.end, { kind: 'RST_STREAM', code: http2.constants.NGHTTP2_INTERNAL_ERROR, name: 'NGHTTP2_INTERNAL_ERROR' });
    const feed = await h2Request(connection, { path: '/feed' });
    await within(feed.chunks()[Symbol.asyncIterator]().next(), 'the first DATA');
    feed.reset();
    await within(finished.promise, "the producer's finally after RST_STREAM(CANCEL)");
  });
}

test('serve() with server.http2: close() sends GOAWAY and lets an open stream finish', async (t) => {
  const gate = deferred();
  const app = new App({
    slow: exposed(async function* () {
      yield 'before;';
      await gate.promise;
      yield 'after';
    }, STREAM),
  });
  const running = await serve(app, { host: '127.0.0.1', port: 0, config: { environment: 'test', 'server.http2': true } });
  t.after(() => running.close());
  const connection = await h2Connect(running.port);
  t.after(() => connection.disconnect());
  const res = await h2Request(connection, { path: '/slow' });
  await within(res.chunks()[Symbol.asyncIterator]().next(), 'the first DATA');
  const closing = running.close();
  await within((async () => { while (connection.state.goaway === undefined) await tick(5); })(), 'the GOAWAY');
  assert.equal(connection.state.goaway?.code, http2.constants.NGHTTP2_NO_ERROR);
  gate.resolve();
  const done = await res.done();
  assert.equal(done.end.kind, 'END_STREAM', 'the open stream finished after the GOAWAY');
  assert.equal(done.body.toString(), 'before;after');
  await within(closing, 'close()');
});
