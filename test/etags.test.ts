// tools.etags (issue 4 part 6): with autotags, a strong ETag from the bytes
// of a buffered body and conditional requests answered from it (304/412);
// streamed bodies left alone unless the handler set an ETag, and then still
// answered before anything is committed; files keep their own validators.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { NotFound, exposed, json, serveFile, type Config, type Context } from '../src/index.js';
import { streamRequest, type ParsedResponse } from '../src/testing.js';
import { assertLength, tempDir } from './helpers/files.js';
import { head, headerNames, one, raw } from './helpers/http.js';
import { start } from './helpers/server.js';

const AUTO: Config = { 'tools.etags.on': true, 'tools.etags.autotags': true };

function assert304(res: ParsedResponse, etag: string | undefined, what: string): void {
  assert.equal(res.status, 304, `${what}\n${res.head}`);
  assert.equal(res.body.length, 0, what);
  if (etag !== undefined) assert.equal(res.headers['etag'], etag, `${what}: ETag on the 304`);
  for (const gone of ['content-type', 'content-length', 'transfer-encoding']) assert.ok(!headerNames(res).includes(gone), `${what}: no ${gone}`);
}

test('autotags: a strong ETag from the body bytes, the same for the same body, another for another', async (t) => {
  let text = 'version one';
  const root = { page: exposed(() => text) };
  const server = await start(t, root, { '/': AUTO });
  const a = await one(server.port, 'GET', '/page');
  assert.equal(a.status, 200);
  assertLength(a, 'page');
  assert.match(a.headers['etag']!, /^"[A-Za-z0-9_-]{27}"$/, 'strong, base64url SHA-1');
  assert.equal((await one(server.port, 'GET', '/page')).headers['etag'], a.headers['etag']);
  text = 'version two';
  assert.notEqual((await one(server.port, 'GET', '/page')).headers['etag'], a.headers['etag']);
  const h = await one(server.port, 'HEAD', '/page');
  assert.equal(h.headers['etag'], (await one(server.port, 'GET', '/page')).headers['etag'], 'HEAD has the GET tag');
  assert.equal(h.headers['content-length'], String('version two'.length));
});

test('autotags: If-None-Match → 304 (GET/HEAD) or 412 (other methods); If-Match → 412 on a mismatch', async (t) => {
  let calls = 0;
  const root = {
    page: exposed(({ response }: Context) => {
      calls++;
      response.headers.set('Cache-Control', 'no-cache');
      response.headers.set('Content-Type', 'text/plain; charset=utf-8');
      return 'the page body';
    }),
  };
  const server = await start(t, root, { '/': AUTO });
  const etag = (await one(server.port, 'GET', '/page')).headers['etag']!;
  const nm = await one(server.port, 'GET', '/page', { 'If-None-Match': etag });
  assert304(nm, etag, 'GET');
  assert.equal(nm.headers['cache-control'], 'no-cache');
  assert304(await one(server.port, 'HEAD', '/page', { 'If-None-Match': etag }), etag, 'HEAD');
  assert304(await one(server.port, 'GET', '/page', { 'If-None-Match': `W/${etag}` }), etag, 'weak comparison');
  assert.equal((await one(server.port, 'GET', '/page', { 'If-None-Match': '"other"' })).status, 200);
  assert.equal((await one(server.port, 'POST', '/page', { 'If-None-Match': etag, 'Content-Length': '0' })).status, 412);
  assert.equal((await one(server.port, 'PUT', '/page', { 'If-Match': '"other"', 'Content-Length': '0' })).status, 412);
  assert.equal((await one(server.port, 'PUT', '/page', { 'If-Match': etag, 'Content-Length': '0' })).status, 200);
  assert.equal((await one(server.port, 'PUT', '/page', { 'If-Match': '*', 'Content-Length': '0' })).status, 200);
  assert.ok(calls >= 9, 'the handler ran each time (the tag comes from its output)');
});

test('a 304 from autotags keeps the connection for the next request', async (t) => {
  const root = { page: exposed(() => 'reuse me') };
  const server = await start(t, root, { '/': AUTO });
  const etag = (await one(server.port, 'GET', '/page')).headers['etag']!;
  const r = await raw(server.port, head('GET', '/page', { 'If-None-Match': etag }, true) + head('GET', '/page'));
  assert.equal(r.responses.length, 2);
  assert304(r.responses[0]!, etag, 'first');
  assert.equal(r.responses[1]!.body.toString(), 'reuse me');
});

test('autotags covers buffered generators and JSON bodies', async (t) => {
  let finalized = 0;
  const root = {
    gen: exposed(() => (function* () {
      try {
        yield 'a';
        yield 'b';
      } finally {
        finalized++;
      }
    })()),
    data: exposed(() => json({ id: 7 })),
  };
  const server = await start(t, root, { '/': AUTO });
  const g = await one(server.port, 'GET', '/gen');
  assert.equal(g.body.toString(), 'ab');
  assertLength(g, 'generator');
  const etag = g.headers['etag']!;
  assert.ok(etag);
  assert304(await one(server.port, 'GET', '/gen', { 'If-None-Match': etag }), etag, 'generator');
  assert.equal(finalized, 2);

  const d = await one(server.port, 'GET', '/data');
  assert.equal(d.headers['content-type'], 'application/json');
  const dtag = d.headers['etag']!;
  assert304(await one(server.port, 'GET', '/data', { 'If-None-Match': dtag }), dtag, 'json');
});

test('autotags off (the default): no ETag is made, but one the handler set is still honoured', async (t) => {
  const root = {
    plain: exposed(() => 'no tag'),
    tagged: exposed(({ response }: Context) => {
      response.headers.set('ETag', 'W/"v7"');
      return 'tagged';
    }),
    dated: exposed(({ response }: Context) => {
      response.headers.set('Last-Modified', 'Wed, 01 May 2024 12:00:00 GMT');
      return 'dated';
    }),
  };
  const server = await start(t, root, { '/': { 'tools.etags.on': true } });
  assert.equal((await one(server.port, 'GET', '/plain')).headers['etag'], undefined);
  assert.equal((await one(server.port, 'GET', '/plain', { 'If-None-Match': '*' })).status, 200, 'nothing to compare without a tag');
  assert304(await one(server.port, 'GET', '/tagged', { 'If-None-Match': 'W/"v7"' }), 'W/"v7"', 'handler tag');
  assert.equal((await one(server.port, 'GET', '/tagged', { 'If-Match': 'W/"v7"' })).status, 412, 'If-Match compares strongly');
  assert304(await one(server.port, 'GET', '/dated', { 'If-Modified-Since': 'Wed, 01 May 2024 12:00:00 GMT' }), undefined, 'Last-Modified');
  assert.equal((await one(server.port, 'GET', '/dated', { 'If-Unmodified-Since': 'Wed, 01 May 2024 11:00:00 GMT' })).status, 412);
});

test('the handler\'s own ETag is never replaced', async (t) => {
  const root = {
    mine: exposed(({ response }: Context) => {
      response.headers.set('ETag', '"mine"');
      return 'body';
    }),
  };
  const server = await start(t, root, { '/': AUTO });
  assert.equal((await one(server.port, 'GET', '/mine')).headers['etag'], '"mine"');
  assert304(await one(server.port, 'GET', '/mine', { 'If-None-Match': '"mine"' }), '"mine"', 'own tag');
});

test('error responses get no tag and no 304', async (t) => {
  const root = {
    missing: exposed(() => { throw new NotFound(); }),
    teapot: exposed(({ response }: Context) => {
      response.status = 418;
      return 'short and stout';
    }),
  };
  const server = await start(t, root, { '/': AUTO });
  const nf = await one(server.port, 'GET', '/missing', { 'If-None-Match': '*' });
  assert.equal(nf.status, 404);
  assert.equal(nf.headers['etag'], undefined);
  const tp = await one(server.port, 'GET', '/teapot', { 'If-None-Match': '*' });
  assert.equal(tp.status, 418);
  assert.equal(tp.headers['etag'], undefined);
});

test('streamed bodies are left alone: no tag, chunked as usual', async (t) => {
  let pulled = 0;
  const root = {
    s: exposed(() => (function* () { pulled++; yield 'one'; pulled++; yield 'two'; })(), { 'response.stream': true }),
  };
  const server = await start(t, root, { '/': AUTO });
  const r = await one(server.port, 'GET', '/s', { 'If-None-Match': '*' });
  assert.equal(r.status, 200);
  assert.equal(r.framing, 'chunked');
  assert.equal(r.headers['etag'], undefined);
  assert.equal(r.body.toString(), 'onetwo');
  assert.equal(pulled, 2);
});

test('a streamed body with a handler ETag: the conditional is answered before commit, the producer closed unpulled', async (t) => {
  let pulled = 0;
  let closed = 0;
  const root = {
    s: exposed(({ response }: Context) => {
      response.headers.set('ETag', '"stream-v1"');
      return (async function* () {
        try {
          pulled++;
          yield 'chunk one ';
          pulled++;
          yield 'chunk two';
        } finally {
          closed++;
        }
      })();
    }, { 'response.stream': true }),
  };
  const server = await start(t, root, { '/': { 'tools.etags.on': true } });
  const nm = await one(server.port, 'GET', '/s', { 'If-None-Match': '"stream-v1"' });
  assert304(nm, '"stream-v1"', 'streamed');
  assert.equal(pulled, 0, 'not a chunk was produced for a 304');
  const pf = await one(server.port, 'GET', '/s', { 'If-Match': '"other"' });
  assert.equal(pf.status, 412);
  assert.equal(pulled, 0);
  const full = await streamRequest(server.port, { path: '/s', headers: { 'If-None-Match': '"old"' } });
  assert.equal(full.status, 200);
  assert.equal(full.headers['etag'], '"stream-v1"');
  const done = await full.done();
  assert.equal(done.complete, true);
  assert.equal(done.body.toString(), 'chunk one chunk two');
  assert.equal(pulled, 2);
  assert.equal(closed, 1, 'the generator finished once, normally');
});

test('file bodies keep their own validators under the tool', async (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'f.txt'), 'file body');
  const root = { f: exposed(() => serveFile(join(dir, 'f.txt'))) };
  const server = await start(t, root, { '/': AUTO });
  const r = await one(server.port, 'GET', '/f');
  assert.match(r.headers['etag']!, /^"[0-9a-f]+-[0-9a-f]+"$/, 'the file\'s own tag, not a hash of its bytes');
  assert304(await one(server.port, 'GET', '/f', { 'If-None-Match': r.headers['etag']! }), r.headers['etag'], 'file');
  const part = await one(server.port, 'GET', '/f', { Range: 'bytes=0-3' });
  assert.equal(part.status, 206);
  assert.equal(part.body.toString(), 'file');
});

test('switched on for a subtree only', async (t) => {
  const root = { a: { page: exposed(() => 'a') }, b: { page: exposed(() => 'b') } };
  const server = await start(t, root, { '/a': AUTO });
  assert.ok((await one(server.port, 'GET', '/a/page')).headers['etag']);
  assert.equal((await one(server.port, 'GET', '/b/page')).headers['etag'], undefined);
});
