// Conditional requests (issue 4 part 3, RFC 9110 §13.2.2) on file bodies:
// each precondition, their order of precedence, weak vs strong comparison,
// and what a 304 carries (validators, caching headers, no body or content
// headers) on raw bytes, with the connection reused after it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exposed, serveFile, type Context } from '../src/index.js';
import { evaluateConditions, ifRangeAllows } from '../src/body/conditional.js';
import type { ParsedResponse } from '../src/testing.js';
import { assertLength, tempDir } from './helpers/files.js';
import { head, headerNames, one, raw } from './helpers/http.js';
import { start } from './helpers/server.js';

const MTIME = new Date('2024-05-01T12:00:00Z');
const BEFORE = 'Wed, 01 May 2024 11:59:59 GMT';
const AT = 'Wed, 01 May 2024 12:00:00 GMT';
const AFTER = 'Wed, 01 May 2024 12:00:01 GMT';
const BODY = 'conditional body\n';

async function setup(t: { after(fn: () => unknown): void }, stream = false): Promise<{ port: number; etag: string }> {
  const dir = tempDir(t);
  const p = join(dir, 'doc.txt');
  writeFileSync(p, BODY);
  utimesSync(p, MTIME, MTIME);
  const handler = ({ response }: Context) => {
    response.headers.set('Cache-Control', 'max-age=60');
    response.headers.set('Vary', 'Accept-Language');
    response.headers.set('Expires', 'Thu, 01 Jan 2099 00:00:00 GMT');
    response.headers.set('X-Custom', 'kept');
    return serveFile(p, { disposition: 'inline' });
  };
  const root = {
    doc: exposed(handler, { 'response.stream': stream }),
    // Any method reaches the same file (as a PUT/DELETE target would be).
    default: exposed(handler, { 'response.stream': stream }),
  };
  const server = await start(t, root);
  const full = await one(server.port, 'GET', '/doc');
  assert.equal(full.headers['last-modified'], AT);
  return { port: server.port, etag: full.headers['etag']! };
}

function assertNotModified(res: ParsedResponse, etag: string, what: string): void {
  assert.equal(res.status, 304, `${what}\n${res.head}`);
  assert.equal(res.body.length, 0, `${what}: no body`);
  const sent = headerNames(res);
  for (const gone of ['content-type', 'content-length', 'content-disposition', 'accept-ranges', 'content-range', 'transfer-encoding']) {
    assert.ok(!sent.includes(gone), `${what}: no ${gone} on a 304`);
  }
  assert.equal(res.headers['etag'], etag, `${what}: ETag kept`);
  assert.equal(res.headers['last-modified'], AT, `${what}: Last-Modified kept`);
  assert.equal(res.headers['cache-control'], 'max-age=60', `${what}: Cache-Control kept`);
  assert.equal(res.headers['vary'], 'Accept-Language', `${what}: Vary kept`);
  assert.equal(res.headers['expires'], 'Thu, 01 Jan 2099 00:00:00 GMT', `${what}: Expires kept`);
  assert.ok(res.headers['date'], `${what}: Date`);
  assert.equal(res.headers['x-custom'], 'kept');
}

function assertFull(res: ParsedResponse, what: string): void {
  assert.equal(res.status, 200, `${what}\n${res.head}`);
  assertLength(res, what);
  assert.equal(res.body.toString(), BODY, what);
}

for (const stream of [false, true]) {
  const mode = stream ? 'streamed' : 'buffered';

  test(`If-None-Match: 304 on GET and HEAD, 412 on other methods (${mode})`, async (t) => {
    const { port, etag } = await setup(t, stream);
    assertNotModified(await one(port, 'GET', '/doc', { 'If-None-Match': etag }), etag, 'GET');
    assertNotModified(await one(port, 'HEAD', '/doc', { 'If-None-Match': etag }), etag, 'HEAD');
    assertNotModified(await one(port, 'GET', '/doc', { 'If-None-Match': `"nope", ${etag}` }), etag, 'in a list');
    assertNotModified(await one(port, 'GET', '/doc', { 'If-None-Match': '*' }), etag, '*');
    assertNotModified(await one(port, 'GET', '/doc', { 'If-None-Match': `W/${etag}` }), etag, 'weak comparison: W/ matches');
    assertFull(await one(port, 'GET', '/doc', { 'If-None-Match': '"nope"' }), 'no match');
    assertFull(await one(port, 'GET', '/doc', { 'If-None-Match': 'garbage' }), 'malformed');
    const del = await one(port, 'DELETE', '/doc', { 'If-None-Match': etag });
    assert.equal(del.status, 412);
    const put = await one(port, 'PUT', '/doc', { 'If-None-Match': '*', 'Content-Length': '0' });
    assert.equal(put.status, 412);
  });

  test(`If-Match (strong comparison): 412 unless it matches (${mode})`, async (t) => {
    const { port, etag } = await setup(t, stream);
    assertFull(await one(port, 'GET', '/doc', { 'If-Match': etag }), 'match');
    assertFull(await one(port, 'GET', '/doc', { 'If-Match': `"a", ${etag}` }), 'in a list');
    assertFull(await one(port, 'GET', '/doc', { 'If-Match': '*' }), '*');
    for (const v of ['"nope"', `W/${etag}`, 'garbage']) {
      const r = await one(port, 'GET', '/doc', { 'If-Match': v });
      assert.equal(r.status, 412, v);
      assert.ok(!r.body.toString().includes(BODY), 'no file content on a 412');
    }
    assert.equal((await one(port, 'DELETE', '/doc', { 'If-Match': '"nope"' })).status, 412);
  });

  test(`If-Modified-Since: 304 when not modified since, GET/HEAD only (${mode})`, async (t) => {
    const { port, etag } = await setup(t, stream);
    assertNotModified(await one(port, 'GET', '/doc', { 'If-Modified-Since': AT }), etag, 'same second');
    assertNotModified(await one(port, 'GET', '/doc', { 'If-Modified-Since': AFTER }), etag, 'later');
    assertNotModified(await one(port, 'HEAD', '/doc', { 'If-Modified-Since': AT }), etag, 'HEAD');
    assertNotModified(await one(port, 'GET', '/doc', { 'If-Modified-Since': 'Wednesday, 01-May-24 12:00:00 GMT' }), etag, 'RFC 850 date');
    assertNotModified(await one(port, 'GET', '/doc', { 'If-Modified-Since': 'Wed May  1 12:00:00 2024' }), etag, 'asctime date');
    assertFull(await one(port, 'GET', '/doc', { 'If-Modified-Since': BEFORE }), 'modified since');
    assertFull(await one(port, 'GET', '/doc', { 'If-Modified-Since': 'not a date' }), 'invalid date ignored');
    assertFull(await one(port, 'GET', '/doc', { 'If-Modified-Since': '1714564800' }), 'a number is not an HTTP-date');
    const del = await one(port, 'DELETE', '/doc', { 'If-Modified-Since': AFTER });
    assert.equal(del.status, 200, 'ignored on other methods');
  });

  test(`If-Unmodified-Since: 412 when modified since (${mode})`, async (t) => {
    const { port } = await setup(t, stream);
    assert.equal((await one(port, 'GET', '/doc', { 'If-Unmodified-Since': BEFORE })).status, 412);
    assert.equal((await one(port, 'DELETE', '/doc', { 'If-Unmodified-Since': BEFORE })).status, 412);
    assertFull(await one(port, 'GET', '/doc', { 'If-Unmodified-Since': AT }), 'same second');
    assertFull(await one(port, 'GET', '/doc', { 'If-Unmodified-Since': AFTER }), 'later');
    assertFull(await one(port, 'GET', '/doc', { 'If-Unmodified-Since': 'nonsense' }), 'invalid date ignored');
  });
}

test('precedence (RFC 9110 §13.2.2): If-Match before If-Unmodified-Since, If-None-Match before If-Modified-Since', async (t) => {
  const { port, etag } = await setup(t);
  // 1. If-Match decides; If-Unmodified-Since is then not evaluated.
  assertFull(await one(port, 'GET', '/doc', { 'If-Match': etag, 'If-Unmodified-Since': BEFORE }), 'If-Match wins over a failing If-Unmodified-Since');
  assert.equal((await one(port, 'GET', '/doc', { 'If-Match': '"nope"', 'If-Unmodified-Since': AFTER })).status, 412);
  // 2. A failed If-Match is a 412 even when If-None-Match would give a 304.
  assert.equal((await one(port, 'GET', '/doc', { 'If-Match': '"nope"', 'If-None-Match': etag })).status, 412);
  assert.equal((await one(port, 'GET', '/doc', { 'If-Unmodified-Since': BEFORE, 'If-None-Match': etag })).status, 412);
  // 3. If-None-Match present: If-Modified-Since is not evaluated.
  assertFull(await one(port, 'GET', '/doc', { 'If-None-Match': '"nope"', 'If-Modified-Since': AFTER }), 'If-None-Match miss beats If-Modified-Since hit');
  assertNotModified(await one(port, 'GET', '/doc', { 'If-None-Match': etag, 'If-Modified-Since': BEFORE }), etag, 'If-None-Match hit beats If-Modified-Since miss');
  // 4. Both passing preconditions then a 304.
  assertNotModified(await one(port, 'GET', '/doc', { 'If-Match': etag, 'If-None-Match': etag }), etag, 'If-Match passes, If-None-Match hits');
  // 5. Preconditions come before Range.
  assertNotModified(await one(port, 'GET', '/doc', { 'If-None-Match': etag, Range: 'bytes=0-3' }), etag, '304 beats 206');
  assert.equal((await one(port, 'GET', '/doc', { 'If-Match': '"nope"', Range: 'bytes=0-3' })).status, 412);
});

test('a 304 is framed without a body and the connection is reused', async (t) => {
  const { port, etag } = await setup(t);
  const r = await raw(port, [
    head('GET', '/doc', { 'If-None-Match': etag }, true),
    head('GET', '/doc', { 'If-Modified-Since': AT }, true),
    head('GET', '/doc'),
  ].join(''));
  assert.equal(r.responses.length, 3, r.text);
  assertNotModified(r.responses[0]!, etag, 'first');
  assertNotModified(r.responses[1]!, etag, 'second');
  assertFull(r.responses[2]!, 'third, on the same connection');
  // The raw bytes of the 304: head only, nothing between it and the next response.
  assert.ok(r.text.startsWith('HTTP/1.1 304 Not Modified\r\n'));
  const second = r.text.indexOf('HTTP/1.1 304', 10);
  assert.equal(r.text.slice(0, second), r.responses[0]!.head, 'no body bytes after the 304 head');
});

test('preconditions are ignored when the response would not be a 2xx', async (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'err.html'), 'error page');
  const root = {
    err: exposed(({ response }: Context) => {
      response.status = 503;
      return serveFile(join(dir, 'err.html'));
    }),
  };
  const server = await start(t, root);
  const r = await one(server.port, 'GET', '/err', { 'If-None-Match': '*' });
  assert.equal(r.status, 503);
  assert.equal(r.body.toString(), 'error page');
  assert.equal((await one(server.port, 'GET', '/err', { 'If-Match': '"nope"' })).status, 503);
});

test('evaluateConditions / ifRangeAllows on their own', () => {
  const v = { etag: '"abc"', lastModified: MTIME.getTime() + 999 };
  assert.equal(evaluateConditions('GET', {}, v), 'proceed');
  assert.equal(evaluateConditions('GET', { 'if-none-match': 'W/"abc"' }, v), 'not-modified');
  assert.equal(evaluateConditions('GET', { 'if-none-match': '"x", ,W/"abc"' }, v), 'not-modified', 'empty list members');
  assert.equal(evaluateConditions('POST', { 'if-none-match': '"abc"' }, v), 'precondition-failed');
  assert.equal(evaluateConditions('GET', { 'if-match': '"abc"' }, v), 'proceed');
  assert.equal(evaluateConditions('GET', { 'if-match': '"abc"' }, { etag: 'W/"abc"' }), 'precondition-failed', 'a weak current tag never matches If-Match');
  assert.equal(evaluateConditions('GET', { 'if-match': '*' }, {}), 'proceed');
  assert.equal(evaluateConditions('GET', { 'if-modified-since': AT }, v), 'not-modified', 'sub-second mtime compares by the second');
  assert.equal(evaluateConditions('GET', { 'if-modified-since': AT }, { etag: '"abc"' }), 'proceed', 'no date to compare');
  assert.equal(ifRangeAllows({}, v), true);
  assert.equal(ifRangeAllows({ 'if-range': '"abc"' }, v), true);
  assert.equal(ifRangeAllows({ 'if-range': 'W/"abc"' }, v), false);
  assert.equal(ifRangeAllows({ 'if-range': AT }, v), true);
  assert.equal(ifRangeAllows({ 'if-range': BEFORE }, v), false);
});
