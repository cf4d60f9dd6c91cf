// Range requests on file bodies (issue 4 part 2, RFC 9110 §14), asserted on
// raw bytes: 206 with Content-Range; multipart/byteranges with an exact
// Content-Length; suffix and open ranges; 416; invalid headers ignored;
// the bound on ranges per request; If-Range; HEAD and other methods.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exposed, serveFile, type Config, type Context } from '../src/index.js';
import { parseRange, MAX_RANGES } from '../src/body/range.js';
import type { ParsedResponse } from '../src/testing.js';
import { assertLength, tempDir } from './helpers/files.js';
import { head, one, raw } from './helpers/http.js';
import { start } from './helpers/server.js';

const SIZE = 10_000;

async function setup(t: { after(fn: () => unknown): void }, config: Config = {}): Promise<{ port: number; data: Buffer; etag: string; lastModified: string }> {
  const dir = tempDir(t);
  const data = randomBytes(SIZE);
  writeFileSync(join(dir, 'data.txt'), data);
  writeFileSync(join(dir, 'empty.txt'), '');
  const root = {
    default: exposed((ctx: Context) => serveFile(join(dir, ...ctx.args)), { ...config }),
  };
  const server = await start(t, root);
  const full = await one(server.port, 'GET', '/data.txt');
  return { port: server.port, data, etag: full.headers['etag']!, lastModified: full.headers['last-modified']! };
}

function assertFull(res: ParsedResponse, data: Buffer, what: string): void {
  assert.equal(res.status, 200, `${what}: status\n${res.head}`);
  assert.equal(res.headers['content-range'], undefined, `${what}: no Content-Range`);
  assertLength(res, what);
  assert.ok(res.body.equals(data), `${what}: the full body`);
}

function assertPart(res: ParsedResponse, data: Buffer, start: number, end: number, what: string): void {
  assert.equal(res.status, 206, `${what}: status\n${res.head}`);
  assert.equal(res.reason, 'Partial Content');
  assert.equal(res.headers['content-range'], `bytes ${start}-${end}/${data.length}`, what);
  assertLength(res, what);
  assert.ok(res.body.equals(data.subarray(start, end + 1)), `${what}: bytes ${start}-${end}`);
  assert.equal(res.headers['content-type'], 'text/plain; charset=utf-8', `${what}: the file's own type`);
}

test('a single range: 206 with Content-Range and exactly those bytes', async (t) => {
  const { port, data } = await setup(t);
  assertPart(await one(port, 'GET', '/data.txt', { Range: 'bytes=0-99' }), data, 0, 99, 'first 100');
  assertPart(await one(port, 'GET', '/data.txt', { Range: 'bytes=500-500' }), data, 500, 500, 'one byte');
  assertPart(await one(port, 'GET', '/data.txt', { Range: 'bytes=9000-' }), data, 9000, SIZE - 1, 'open range');
  assertPart(await one(port, 'GET', '/data.txt', { Range: 'bytes=-300' }), data, SIZE - 300, SIZE - 1, 'suffix');
  assertPart(await one(port, 'GET', '/data.txt', { Range: 'bytes=-20000' }), data, 0, SIZE - 1, 'suffix longer than the file');
  assertPart(await one(port, 'GET', '/data.txt', { Range: 'bytes=9990-20000' }), data, 9990, SIZE - 1, 'last-pos past the end is clamped');
  assertPart(await one(port, 'GET', '/data.txt', { Range: 'bytes=0-' }), data, 0, SIZE - 1, 'the whole file as a range');
  assertPart(await one(port, 'GET', '/data.txt', { Range: 'Bytes = 10-19' }), data, 10, 19, 'unit case and spaces');
  assertPart(await one(port, 'GET', '/data.txt', { Range: 'bytes=5000-99999999999999999999999' }), data, 5000, SIZE - 1, 'a huge last-pos');
});

/** Split a multipart/byteranges body on its boundary, checking the framing byte by byte. */
function parseByteranges(res: ParsedResponse): Array<{ headers: Record<string, string>; body: Buffer }> {
  const m = /^multipart\/byteranges; boundary=([A-Za-z0-9'()+_,\-./:=?]+)$/.exec(res.headers['content-type'] ?? '');
  assert.ok(m, `multipart type: ${res.headers['content-type']}`);
  const boundary = m[1]!;
  const body = res.body;
  const parts: Array<{ headers: Record<string, string>; body: Buffer }> = [];
  const delim = Buffer.from(`--${boundary}`);
  assert.ok(body.subarray(0, delim.length).equals(delim), 'the body starts with the first delimiter');
  let at = 0;
  for (;;) {
    assert.ok(body.subarray(at, at + delim.length).equals(delim), `delimiter at ${at}`);
    at += delim.length;
    if (body.subarray(at, at + 2).toString() === '--') {
      assert.equal(body.subarray(at).toString('latin1'), '--\r\n', 'the close delimiter ends the body');
      break;
    }
    assert.equal(body.subarray(at, at + 2).toString(), '\r\n');
    at += 2;
    const headEnd = body.indexOf('\r\n\r\n', at);
    const headers: Record<string, string> = {};
    for (const line of body.subarray(at, headEnd).toString('latin1').split('\r\n')) {
      const c = line.indexOf(':');
      headers[line.slice(0, c).toLowerCase()] = line.slice(c + 1).trim();
    }
    at = headEnd + 4;
    const cr = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(headers['content-range'] ?? '');
    assert.ok(cr, `part Content-Range: ${headers['content-range']}`);
    const len = Number(cr[2]) - Number(cr[1]) + 1;
    parts.push({ headers, body: body.subarray(at, at + len) });
    at += len;
    assert.equal(body.subarray(at, at + 2).toString(), '\r\n', 'CRLF before the next delimiter');
    at += 2;
  }
  return parts;
}

test('several ranges: multipart/byteranges with an exact Content-Length, parts in the order asked', async (t) => {
  const { port, data } = await setup(t);
  const r = await raw(port, head('GET', '/data.txt', { Range: 'bytes=9000-9099, 0-9,-5,  100-199' }));
  assert.equal(r.responses.length, 1);
  const res = r.responses[0]!;
  assert.equal(res.status, 206);
  assert.equal(res.headers['content-range'], undefined, 'no Content-Range on the whole multipart response');
  assertLength(res, 'multipart');
  // Nothing after the declared length: the connection closed right after it.
  assert.equal(r.bytes.length, res.head.length + res.body.length);
  const parts = parseByteranges(res);
  const expected: Array<[number, number]> = [[9000, 9099], [0, 9], [SIZE - 5, SIZE - 1], [100, 199]];
  assert.equal(parts.length, expected.length);
  parts.forEach((p, i) => {
    const [s, e] = expected[i]!;
    assert.equal(p.headers['content-range'], `bytes ${s}-${e}/${SIZE}`);
    assert.equal(p.headers['content-type'], 'text/plain; charset=utf-8');
    assert.ok(p.body.equals(data.subarray(s, e + 1)), `part ${i}`);
  });
});

test('multipart/byteranges in streamed mode and on a kept-alive connection: the next response follows the exact length', async (t) => {
  const { port, data } = await setup(t, { 'response.stream': true });
  const r = await raw(port, head('GET', '/data.txt', { Range: 'bytes=1-2,5-6' }, true) + head('GET', '/data.txt', { Range: 'bytes=3-3' }));
  assert.equal(r.responses.length, 2, r.text.slice(0, 600));
  const first = r.responses[0]!;
  assert.equal(first.status, 206);
  assertLength(first, 'multipart, streamed');
  const parts = parseByteranges(first);
  assert.ok(parts[0]!.body.equals(data.subarray(1, 3)));
  assert.ok(parts[1]!.body.equals(data.subarray(5, 7)));
  assertPart(r.responses[1]!, data, 3, 3, 'the next response');
});

test('an unsatisfiable range: 416 with Content-Range: bytes */size', async (t) => {
  const { port } = await setup(t);
  for (const range of ['bytes=10000-', 'bytes=20000-30000', 'bytes=-0', 'bytes=10000-,20000-']) {
    const res = await one(port, 'GET', '/data.txt', { Range: range });
    assert.equal(res.status, 416, range);
    assert.equal(res.headers['content-range'], `bytes */${SIZE}`, range);
    assertLength(res, range);
  }
  const empty = await one(port, 'GET', '/empty.txt', { Range: 'bytes=0-' });
  assert.equal(empty.status, 416, 'nothing of an empty file is satisfiable');
  assert.equal(empty.headers['content-range'], 'bytes */0');
  const suffixEmpty = await one(port, 'GET', '/empty.txt', { Range: 'bytes=-5' });
  assert.equal(suffixEmpty.status, 416);
});

test('unsatisfiable members are dropped when another one is satisfiable', async (t) => {
  const { port, data } = await setup(t);
  assertPart(await one(port, 'GET', '/data.txt', { Range: 'bytes=50000-60000, 10-20' }), data, 10, 20, 'one left');
});

test('a syntactically invalid Range is ignored: 200 with the full body', async (t) => {
  const { port, data } = await setup(t);
  for (const range of ['bytes=abc', 'bytes=5-2', 'bytes=', 'bytes=,', 'items=0-1', 'bytes 0-1', 'bytes=--1', 'bytes=1-2-3', 'bytes=0x10-20', 'bytes=1-2,x', 'bytes=-', '=0-1']) {
    assertFull(await one(port, 'GET', '/data.txt', { Range: range }), data, JSON.stringify(range));
  }
});

test(`the bound: more than ${MAX_RANGES} ranges, or overlapping ones, get the full body with 200`, async (t) => {
  const { port, data } = await setup(t);
  const ranges = (n: number): string => 'bytes=' + Array.from({ length: n }, (_, i) => `${i * 10}-${i * 10 + 4}`).join(',');
  const ok = await one(port, 'GET', '/data.txt', { Range: ranges(MAX_RANGES) });
  assert.equal(ok.status, 206);
  assertLength(ok, 'at the bound');
  assert.equal(parseByteranges(ok).length, MAX_RANGES);
  assertFull(await one(port, 'GET', '/data.txt', { Range: ranges(MAX_RANGES + 1) }), data, 'one past the bound');
  assertFull(await one(port, 'GET', '/data.txt', { Range: ranges(500) }), data, 'hundreds of ranges');
  assertFull(await one(port, 'GET', '/data.txt', { Range: 'bytes=0-100,50-150' }), data, 'overlapping');
  assertFull(await one(port, 'GET', '/data.txt', { Range: 'bytes=0-,0-' }), data, 'the same range twice');
  assertFull(await one(port, 'GET', '/data.txt', { Range: 'bytes=-100,9950-9960' }), data, 'suffix overlapping a range');
  const adjacent = await one(port, 'GET', '/data.txt', { Range: 'bytes=0-9,10-19' });
  assert.equal(adjacent.status, 206, 'adjacent (not overlapping) ranges are fine');
});

test('If-Range: a matching ETag or date applies the range; anything else sends the full body', async (t) => {
  const { port, data, etag, lastModified } = await setup(t);
  assertPart(await one(port, 'GET', '/data.txt', { Range: 'bytes=0-9', 'If-Range': etag }), data, 0, 9, 'matching ETag');
  assertPart(await one(port, 'GET', '/data.txt', { Range: 'bytes=0-9', 'If-Range': lastModified }), data, 0, 9, 'matching date');
  assertFull(await one(port, 'GET', '/data.txt', { Range: 'bytes=0-9', 'If-Range': '"stale"' }), data, 'another ETag');
  assertFull(await one(port, 'GET', '/data.txt', { Range: 'bytes=0-9', 'If-Range': `W/${etag}` }), data, 'a weak ETag never matches (strong comparison)');
  assertFull(await one(port, 'GET', '/data.txt', { Range: 'bytes=0-9', 'If-Range': 'Thu, 01 Jan 1970 00:00:00 GMT' }), data, 'another date');
  assertFull(await one(port, 'GET', '/data.txt', { Range: 'bytes=0-9', 'If-Range': 'garbage' }), data, 'not a validator');
  // An If-Range mismatch with an unsatisfiable range is still a 200, not a 416.
  assertFull(await one(port, 'GET', '/data.txt', { Range: 'bytes=99999-', 'If-Range': '"stale"' }), data, 'mismatch beats 416');
  // If-Range without Range changes nothing.
  assertFull(await one(port, 'GET', '/data.txt', { 'If-Range': '"stale"' }), data, 'no Range');
});

test('Range applies to GET only: HEAD gets the GET headers of the full body, other methods ignore it', async (t) => {
  const { port } = await setup(t);
  const h = await one(port, 'HEAD', '/data.txt', { Range: 'bytes=0-9' });
  assert.equal(h.status, 200);
  assert.equal(h.headers['content-length'], String(SIZE));
  assert.equal(h.headers['content-range'], undefined);
  assert.equal(h.headers['accept-ranges'], 'bytes');
  assert.equal(h.body.length, 0);
  const post = await one(port, 'POST', '/data.txt', { Range: 'bytes=0-9', 'Content-Length': '0' });
  assert.equal(post.status, 200);
  assert.equal(post.headers['content-length'], String(SIZE));
});

test('a handler status other than 200 (a file as an error page) ignores Range', async (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, '404.html'), '<h1>gone</h1>');
  const root = {
    gone: exposed(({ response }: Context) => {
      response.status = 404;
      return serveFile(join(dir, '404.html'));
    }),
  };
  const server = await start(t, root);
  const r = await one(server.port, 'GET', '/gone', { Range: 'bytes=0-3' });
  assert.equal(r.status, 404);
  assert.equal(r.body.toString(), '<h1>gone</h1>');
});

test('parseRange: the parser on its own', () => {
  assert.deepEqual(parseRange(undefined, 10), { kind: 'ignore' });
  assert.deepEqual(parseRange('bytes=0-0', 10), { kind: 'ranges', ranges: [{ start: 0, end: 0 }] });
  assert.deepEqual(parseRange('bytes=0-1,,3-4', 10), { kind: 'ranges', ranges: [{ start: 0, end: 1 }, { start: 3, end: 4 }] });
  assert.deepEqual(parseRange('bytes=-3', 10), { kind: 'ranges', ranges: [{ start: 7, end: 9 }] });
  assert.deepEqual(parseRange('bytes=10-', 10), { kind: 'unsatisfiable' });
  assert.deepEqual(parseRange('bytes=3-2', 10), { kind: 'ignore' });
  assert.deepEqual(parseRange('bytes=0-1,2-3,4-5', 10, 2), { kind: 'ignore' });
});
