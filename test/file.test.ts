// serveFile and serveStream (issue 4 part 1, DESIGN B7): the file is opened
// before commit (404/403 while the handler can still react), its headers
// (type, validators, ranges, disposition), HEAD, file descriptors closed on
// every path, and memory flat while a 50 MiB file goes out buffered and streamed.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, closeSync, mkdirSync, mkdtempSync, openSync, rmSync, statSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import { exposed, serveFile, serveStream, FileBody, HTTPError, InternalRedirect, NotFound, type Context } from '../src/index.js';
import { streamRequest } from '../src/testing.js';
import { NOBODY, serveAsNobody } from './helpers/as-nobody.js';
import { assertLength, fdsBackTo, openFds, tempDir } from './helpers/files.js';
import { head, headerNames, one, raw } from './helpers/http.js';
import { start } from './helpers/server.js';

function files(t: { after(fn: () => unknown): void }): { dir: string; text: string; bin: Buffer } {
  const dir = tempDir(t);
  const text = 'body { color: red }\n';
  writeFileSync(join(dir, 'style.css'), text);
  writeFileSync(join(dir, 'data.json'), '{"a":1}');
  const bin = randomBytes(3000);
  writeFileSync(join(dir, 'blob.bin'), bin);
  writeFileSync(join(dir, 'pic.png'), bin.subarray(0, 100));
  writeFileSync(join(dir, 'noext'), 'x');
  writeFileSync(join(dir, 'empty.txt'), '');
  mkdirSync(join(dir, 'sub'));
  return { dir, text, bin };
}

/** A root whose `f` handler serves `<dir>/<args[0]>` with the options in the query. */
function fileRoot(dir: string, options: (ctx: Context) => Parameters<typeof serveFile>[1] = () => ({})): object {
  return {
    default: exposed((ctx: Context) => serveFile(join(dir, ...ctx.args), options(ctx))),
  };
}

test('serveFile: Content-Type from the extension, Last-Modified, ETag, Accept-Ranges, exact Content-Length', async (t) => {
  const { dir, text, bin } = files(t);
  const server = await start(t, fileRoot(dir));
  const css = await one(server.port, 'GET', '/style.css');
  assert.equal(css.status, 200);
  assertLength(css, 'css');
  assert.equal(css.body.toString(), text);
  assert.equal(css.headers['content-type'], 'text/css; charset=utf-8');
  assert.equal(css.headers['accept-ranges'], 'bytes');
  assert.equal(css.headers['last-modified'], new Date(statSync(join(dir, 'style.css')).mtimeMs).toUTCString());
  assert.match(css.headers['etag']!, /^"[0-9a-f]+-[0-9a-f]+"$/, 'a strong validator');
  assert.equal(headerNames(css).filter((n) => n === 'transfer-encoding').length, 0);

  assert.equal((await one(server.port, 'GET', '/data.json')).headers['content-type'], 'application/json; charset=utf-8');
  assert.equal((await one(server.port, 'GET', '/pic.png')).headers['content-type'], 'image/png');
  assert.equal((await one(server.port, 'GET', '/noext')).headers['content-type'], 'application/octet-stream');
  const blob = await one(server.port, 'GET', '/blob.bin');
  assert.equal(blob.headers['content-type'], 'application/octet-stream');
  assert.deepEqual(blob.body, bin, 'binary content byte for byte');
  const empty = await one(server.port, 'GET', '/empty.txt');
  assert.equal(empty.status, 200);
  assertLength(empty, 'empty file');
  assert.equal(empty.body.length, 0);
});

test('serveFile: the ETag changes when the file changes', async (t) => {
  const { dir } = files(t);
  const server = await start(t, fileRoot(dir));
  const a = (await one(server.port, 'GET', '/style.css')).headers['etag'];
  writeFileSync(join(dir, 'style.css'), 'body { color: blue; margin: 0 }\n');
  const b = (await one(server.port, 'GET', '/style.css')).headers['etag'];
  assert.notEqual(a, b);
});

test('serveFile: contentType option and a Content-Type the handler set', async (t) => {
  const { dir } = files(t);
  const root = {
    forced: exposed(() => serveFile(join(dir, 'style.css'), { contentType: 'text/x-special' })),
    mine: exposed(({ response }: Context) => {
      response.headers.set('Content-Type', 'text/plain; charset=utf-8');
      return serveFile(join(dir, 'style.css'));
    }),
  };
  const server = await start(t, root);
  assert.equal((await one(server.port, 'GET', '/forced')).headers['content-type'], 'text/x-special');
  assert.equal((await one(server.port, 'GET', '/mine')).headers['content-type'], 'text/plain; charset=utf-8');
});

test('serveFile: Content-Disposition, with filename* (RFC 5987/6266) for names that are not plain ASCII', async (t) => {
  const { dir } = files(t);
  const root = {
    att: exposed(() => serveFile(join(dir, 'style.css'), { disposition: 'attachment' })),
    ascii: exposed(() => serveFile(join(dir, 'blob.bin'), { disposition: 'attachment', name: 'report 2024.pdf' })),
    utf8: exposed(() => serveFile(join(dir, 'blob.bin'), { disposition: 'attachment', name: 'résumé “final”.pdf' })),
    quote: exposed(() => serveFile(join(dir, 'blob.bin'), { disposition: 'inline', name: 'a "b"\\c.txt' })),
    named: exposed(() => serveFile(join(dir, 'blob.bin'), { name: 'photo.png' })),
    none: exposed(() => serveFile(join(dir, 'blob.bin'))),
  };
  const server = await start(t, root);
  assert.equal((await one(server.port, 'GET', '/att')).headers['content-disposition'], 'attachment; filename="style.css"');
  const ascii = await one(server.port, 'GET', '/ascii');
  assert.equal(ascii.headers['content-disposition'], 'attachment; filename="report 2024.pdf"');
  assert.equal(ascii.headers['content-type'], 'application/pdf', 'the type follows the name the client sees');

  const utf8 = await one(server.port, 'GET', '/utf8');
  const cd = utf8.headers['content-disposition']!;
  assert.match(cd, /^attachment; filename="[\x20-\x7e]+"; filename\*=UTF-8''[A-Za-z0-9%!#$&+\-.^_`|~]+$/);
  const star = /filename\*=UTF-8''(.+)$/.exec(cd)![1]!;
  assert.equal(decodeURIComponent(star), 'résumé “final”.pdf');
  assert.ok(!/[^\x20-\x7e]/.test(cd), 'the header itself is ASCII');

  const quote = (await one(server.port, 'GET', '/quote')).headers['content-disposition']!;
  assert.match(quote, /^inline; filename="a _b__c.txt"; filename\*=UTF-8''/);
  assert.equal(decodeURIComponent(/filename\*=UTF-8''(.+)$/.exec(quote)![1]!), 'a "b"\\c.txt');

  const named = await one(server.port, 'GET', '/named');
  assert.equal(named.headers['content-disposition'], 'inline; filename="photo.png"');
  assert.equal(named.headers['content-type'], 'image/png');
  assert.equal((await one(server.port, 'GET', '/none')).headers['content-disposition'], undefined);
});

test('serveFile: a missing file and a directory are 404s the handler can catch, before anything is committed', async (t) => {
  const { dir } = files(t);
  const root = {
    default: exposed((ctx: Context) => serveFile(join(dir, ...ctx.args))),
    caught: exposed(async () => {
      try {
        return await serveFile(join(dir, 'nope.txt'));
      } catch (err) {
        assert.ok(err instanceof NotFound);
        return 'fallback';
      }
    }),
    nul: exposed(() => serveFile(join(dir, 'style.css\0.txt'))),
  };
  const server = await start(t, root);
  const missing = await one(server.port, 'GET', '/nope.txt');
  assert.equal(missing.status, 404);
  assert.ok(!missing.body.toString().includes(dir), 'the error page does not reveal the server path');
  assert.equal((await one(server.port, 'GET', '/sub')).status, 404, 'a directory');
  assert.equal((await one(server.port, 'GET', '/style.css/x')).status, 404, 'ENOTDIR');
  assert.equal((await one(server.port, 'GET', '/caught')).body.toString(), 'fallback');
  assert.equal((await one(server.port, 'GET', '/nul')).status, 404, 'a NUL byte in the path');
});

test('serveFile: a file the process may not read is a 403', async (t) => {
  if (process.getuid?.() === 0) return forbiddenAsNobody(t);
  const { dir } = files(t);
  const p = join(dir, 'locked.txt');
  writeFileSync(p, 'locked');
  chmodSync(p, 0o000); // the temp dir's removal (its owner may unlink a file it cannot read) takes it away
  const server = await start(t, fileRoot(dir));
  const r = await one(server.port, 'GET', '/locked.txt');
  assert.equal(r.status, 403);
  assert.ok(!r.body.toString().includes('locked'));
});

/** As root, permissions are not enforced in this process: the unreadable file is served by a child running as nobody. */
async function forbiddenAsNobody(t: TestContext): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'drupe-forbidden-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  chmodSync(dir, 0o755);
  const secret = randomBytes(16).toString('hex');
  const locked = join(dir, 'locked.txt');
  writeFileSync(locked, secret);
  chmodSync(locked, 0o000);
  const server = await serveAsNobody(t, dir, [
    `const { accessSync, constants } = await import('node:fs');`,
    `facts.readable = true;`,
    `try { accessSync(args[0], constants.R_OK); } catch { facts.readable = false; }`,
    `app = new drupe.App({ default: drupe.exposed(() => drupe.serveFile(args[0])) });`,
  ].join('\n'), [locked]);
  if (server === null) return;
  assert.equal(server.uid, NOBODY, 'the server runs as nobody');
  assert.equal(server.facts['readable'], false, 'nobody may not read the file');
  const r = await one(server.port, 'GET', '/locked.txt');
  assert.equal(r.status, 403);
  assertLength(r, '403 page');
  const page = r.body.toString();
  assert.ok(!page.includes(secret), 'nothing of the file is sent');
  assert.ok(!page.includes(dir), 'the error page does not reveal the server path');
}

test('serveFile: HEAD sends the GET headers (same Content-Length) and no body', async (t) => {
  const { dir, bin } = files(t);
  const server = await start(t, fileRoot(dir));
  const get = await one(server.port, 'GET', '/blob.bin');
  const r = await raw(server.port, head('HEAD', '/blob.bin', {}, true) + head('GET', '/style.css'));
  assert.equal(r.responses.length, 2, 'the connection went on after HEAD');
  const h = r.responses[0]!;
  assert.equal(h.status, 200);
  assert.equal(h.headers['content-length'], String(bin.length));
  assert.equal(h.body.length, 0);
  for (const name of ['content-type', 'etag', 'last-modified', 'accept-ranges']) assert.equal(h.headers[name], get.headers[name], name);
  assert.equal(r.responses[1]!.status, 200);
  assert.equal(r.responses[1]!.body.toString(), 'body { color: red }\n');
});

test('serveFile: a file body is sent as it is read, never buffered (a file over response.max_buffered_size still goes out)', async (t) => {
  const dir = tempDir(t);
  const big = randomBytes(1024 * 1024);
  writeFileSync(join(dir, 'big.bin'), big);
  const server = await start(t, fileRoot(dir), { '/': { 'response.max_buffered_size': 1024 } });
  const r = await one(server.port, 'GET', '/big.bin');
  assert.equal(r.status, 200);
  assertLength(r, 'big file');
  assert.ok(r.body.equals(big));
});

test('serveFile: many files sent at once, whole, ranged and through gzip, each arrive byte for byte (read buffers are reused only once the socket is done with them)', async (t) => {
  const dir = tempDir(t);
  // Sizes around the 64 KiB read size: a partial last chunk, exact multiples, one byte over.
  const sizes = [64 * 1024, 3 * 64 * 1024, 5 * 64 * 1024 + 77, 64 * 1024 + 1, 200_000, 1024 * 1024 + 3];
  const contents = sizes.map((size, i) => {
    const data = randomBytes(size);
    writeFileSync(join(dir, `f${i}.bin`), data);
    return data;
  });
  const root = { ...fileRoot(dir), gz: { default: exposed((ctx: Context) => serveFile(join(dir, ...ctx.args), { contentType: 'text/plain' })) } };
  const server = await start(t, root, { '/gz': { 'tools.gzip.on': true } });
  for (let round = 0; round < 3; round++) {
    const jobs: Array<Promise<void>> = [];
    contents.forEach((data, i) => {
      for (let k = 0; k < 3; k++) {
        jobs.push(one(server.port, 'GET', `/f${i}.bin`).then((r) => {
          assert.equal(r.status, 200);
          assert.ok(r.body.equals(data), `f${i}.bin, round ${round}, client ${k}`);
        }));
      }
      const from = Math.floor(data.length / 3);
      jobs.push(one(server.port, 'GET', `/f${i}.bin`, { Range: `bytes=0-9,${from}-` }).then((r) => {
        assert.equal(r.status, 206);
        assert.ok(r.body.includes(data.subarray(from)), `f${i}.bin, second range, round ${round}`);
        assert.ok(r.body.includes(data.subarray(0, 10)), `f${i}.bin, first range, round ${round}`);
      }));
      jobs.push(one(server.port, 'GET', `/gz/f${i}.bin`, { 'Accept-Encoding': 'gzip' }).then((r) => {
        assert.equal(r.status, 200);
        assert.equal(r.headers['content-encoding'], 'gzip');
        assert.ok(gunzipSync(r.body).equals(data), `gz/f${i}.bin, round ${round}`);
      }));
    });
    await Promise.all(jobs);
  }
});

test('serveFile: streamed mode (response.stream) sends the file with its Content-Length', async (t) => {
  const { dir, bin } = files(t);
  const server = await start(t, fileRoot(dir), { '/': { 'response.stream': true } });
  const r = await one(server.port, 'GET', '/blob.bin');
  assert.equal(r.status, 200);
  assertLength(r, 'streamed file');
  assert.ok(r.body.equals(bin));
  const h = await one(server.port, 'HEAD', '/blob.bin');
  assert.equal(h.headers['content-length'], String(bin.length));
  assert.equal(h.body.length, 0);
});

test('serveFile: the file descriptor is closed on every path (full, HEAD, 304, 412, 416, ranges, error page, InternalRedirect, client gone)', { skip: openFds() === undefined ? 'needs /proc/self/fd' : false }, async (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'big.bin'), randomBytes(4 * 1024 * 1024));
  writeFileSync(join(dir, 'small.txt'), 'small');
  const root = {
    default: exposed((ctx: Context) => serveFile(join(dir, ...ctx.args))),
    // Opened, then dropped: the handler throws after serveFile resolved.
    dropped: exposed(async () => {
      await serveFile(join(dir, 'small.txt'));
      throw new HTTPError(409, 'changed my mind');
    }),
    closed: exposed(async () => {
      const body = await serveFile(join(dir, 'small.txt'));
      await body.close();
      return 'closed it';
    }),
    // Returned, then replaced by an error page or an InternalRedirect before it was shaped.
    refused: exposed(() => serveFile(join(dir, 'small.txt')), { 'hooks.before_finalize': () => { throw new HTTPError(409, 'refused'); } }),
    redirected: exposed(() => serveFile(join(dir, 'big.bin')), {
      'hooks.before_finalize': ({ request }: Context) => {
        if (request.path === '/redirected') throw new InternalRedirect('/small.txt');
      },
    }),
  };
  const server = await start(t, root, {
    '/s': { 'tools.staticdir.on': true, 'tools.staticdir.dir': dir },
    // A guard that runs after staticdir opened the file.
    '/s/guarded': { 'hooks.before_handler': () => { throw new HTTPError(401, 'guarded'); } },
  });
  mkdirSync(join(dir, 'guarded'));
  writeFileSync(join(dir, 'guarded', 'x.txt'), 'guarded');
  // Warm up (lazy modules, the first connection) before counting.
  await one(server.port, 'GET', '/small.txt');
  const baseline = openFds()!;
  const etag = (await one(server.port, 'GET', '/small.txt')).headers['etag']!;
  for (let i = 0; i < 5; i++) {
    assert.equal((await one(server.port, 'GET', '/small.txt')).status, 200);
    assert.equal((await one(server.port, 'HEAD', '/big.bin')).status, 200);
    assert.equal((await one(server.port, 'GET', '/small.txt', { 'If-None-Match': etag })).status, 304);
    assert.equal((await one(server.port, 'GET', '/small.txt', { 'If-Match': '"other"' })).status, 412);
    assert.equal((await one(server.port, 'GET', '/small.txt', { Range: 'bytes=100-' })).status, 416);
    assert.equal((await one(server.port, 'GET', '/small.txt', { Range: 'bytes=1-2' })).status, 206);
    assert.equal((await one(server.port, 'GET', '/small.txt', { Range: 'bytes=0-0,2-3' })).status, 206);
    assert.equal((await one(server.port, 'GET', '/closed')).status, 200);
    assert.equal((await one(server.port, 'GET', '/nope')).status, 404);
    assert.equal((await one(server.port, 'GET', '/refused')).status, 409);
    assert.equal((await one(server.port, 'GET', '/redirected')).body.toString(), 'small');
    assert.equal((await one(server.port, 'GET', '/s/guarded/x.txt')).status, 401);
    // A client that leaves after the first bytes of a big file.
    const s = await streamRequest(server.port, { path: '/big.bin', disconnectAfterBytes: 1 });
    assert.equal(s.status, 200);
    await s.done();
  }
  assert.equal(await fdsBackTo(baseline), baseline, 'no file descriptor left open');
  // A body dropped without being sent is closed when it is collected.
  if (typeof globalThis.gc === 'function') {
    for (let i = 0; i < 5; i++) assert.equal((await one(server.port, 'GET', '/dropped')).status, 409);
    globalThis.gc();
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(await fdsBackTo(baseline), baseline, 'dropped bodies closed on collection');
  }
});

test('serveFile: a gzip-wrapped file body replaced before it was sent (a later before_finalize hook throws) closes its file at once', { skip: openFds() === undefined ? 'needs /proc/self/fd' : false }, async (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'page.txt'), 'compress me '.repeat(100));
  // Every body stays referenced until the end of the test, so only an explicit release (never GC) can close its file.
  const kept: FileBody[] = [];
  const serve = async (): Promise<FileBody> => {
    const body = await serveFile(join(dir, 'page.txt'));
    kept.push(body);
    return body;
  };
  // After tools.gzip (before_finalize, priority 90) wrapped the file body.
  const late = (fn: (ctx: Context) => void) => ({ run: fn, priority: 95 });
  const root = {
    refused: exposed(() => serve(), { 'hooks.before_finalize': late(() => { throw new HTTPError(409, 'refused'); }) }),
    redirected: exposed(() => serve(), {
      'hooks.before_finalize': late(({ request }: Context) => {
        if (request.path === '/redirected') throw new InternalRedirect('/plain');
      }),
    }),
    plain: exposed(() => 'plain'),
    sent: exposed(() => serve()),
  };
  const server = await start(t, root, { '/': { 'tools.gzip.on': true } });
  const gzip = { 'Accept-Encoding': 'gzip' };
  // Warm up (lazy modules, zlib, the first connection) before counting.
  const warm = await one(server.port, 'GET', '/sent', gzip);
  assert.equal(warm.headers['content-encoding'], 'gzip', 'the file body is gzip-wrapped on this route');
  assert.equal(await fdsBackTo(openFds()!), openFds());
  const baseline = openFds()!;
  for (let i = 0; i < 5; i++) {
    assert.equal((await one(server.port, 'GET', '/refused', gzip)).status, 409);
    assert.equal((await one(server.port, 'GET', '/redirected', gzip)).body.toString(), 'plain');
  }
  assert.equal(kept.length, 11);
  assert.equal(await fdsBackTo(baseline), baseline, 'the wrapped file bodies were closed when they were replaced');
});

for (const stream of [false, true]) {
  test(`serveFile: a file that shrinks while it is sent ends the response visibly short (${stream ? 'streamed' : 'buffered'})`, async (t) => {
    const dir = tempDir(t);
    const p = join(dir, 'shrinking.bin');
    const size = 32 * 1024 * 1024;
    writeFileSync(p, Buffer.alloc(size, 7));
    const root = { f: exposed(() => serveFile(p), { 'response.stream': stream }) };
    const server = await start(t, root);
    const before = openFds();
    // The client stops reading at once, so backpressure holds the server far from the end of the file.
    const res = await streamRequest(server.port, { path: '/f', paused: true, timeoutMs: 20_000 });
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-length'], String(size));
    truncateSync(p, 1024);
    res.resume();
    const done = await res.done();
    assert.equal(done.complete, false, 'the client can tell the body is incomplete');
    assert.ok(done.body.length < size);
    if (before !== undefined) assert.ok((await fdsBackTo(before)) <= before, 'the file was closed');
  });
}

test('serveFile: sent twice is a clear error, not a second read of a closed file', async (t) => {
  const { dir } = files(t);
  let kept: FileBody | undefined;
  const root = {
    twice: exposed(async () => (kept ??= await serveFile(join(dir, 'style.css')))),
  };
  const server = await start(t, root, {}, { 'request.show_tracebacks': true });
  assert.equal((await one(server.port, 'GET', '/twice')).status, 200);
  const again = await one(server.port, 'GET', '/twice');
  assert.equal(again.status, 500);
  assert.match(again.body.toString(), /already sent/);
});

// -- serveStream --------------------------------------------------------------

function tracked(data: Buffer[]): { stream: Readable; pulled: () => number } {
  let pulled = 0;
  const stream = new Readable({
    read() {
      const next = data[pulled++];
      this.push(next ?? null);
    },
  });
  return { stream, pulled: () => pulled };
}

test('serveStream: an open stream of known size goes out with its Content-Length; HEAD and 304 destroy it unread', async (t) => {
  const parts = [Buffer.from('hello '), Buffer.from('stream')];
  const made: Array<ReturnType<typeof tracked>> = [];
  const root = {
    s: exposed(() => {
      const tr = tracked(parts);
      made.push(tr);
      return serveStream(tr.stream, { size: 12, name: 'greeting.txt', etag: 'v1', lastModified: new Date('2024-05-01T00:00:00Z') });
    }),
  };
  const server = await start(t, root);
  const r = await one(server.port, 'GET', '/s');
  assert.equal(r.status, 200);
  assertLength(r, 'stream');
  assert.equal(r.body.toString(), 'hello stream');
  assert.equal(r.headers['content-type'], 'text/plain; charset=utf-8');
  assert.equal(r.headers['etag'], '"v1"');
  assert.equal(r.headers['last-modified'], 'Wed, 01 May 2024 00:00:00 GMT');
  assert.equal(r.headers['accept-ranges'], undefined, 'a stream cannot seek: no ranges offered');

  const h = await one(server.port, 'HEAD', '/s');
  assert.equal(h.headers['content-length'], '12');
  assert.equal(h.body.length, 0);
  assert.equal(made[1]!.stream.destroyed, true, 'HEAD destroyed the stream');

  const nm = await one(server.port, 'GET', '/s', { 'If-None-Match': '"v1"' });
  assert.equal(nm.status, 304);
  assert.equal(made[2]!.stream.destroyed, true, '304 destroyed the stream');
  assert.equal(made[2]!.pulled(), 0, 'never read');

  const ims = await one(server.port, 'GET', '/s', { 'If-Modified-Since': 'Wed, 01 May 2024 00:00:00 GMT' });
  assert.equal(ims.status, 304);
});

test('serveStream: a stream shorter than its size is visibly truncated', async (t) => {
  const root = {
    short: exposed(() => serveStream(Readable.from([Buffer.from('only this')]), { size: 100 })),
  };
  const server = await start(t, root);
  const r = await raw(server.port, head('GET', '/short'));
  assert.equal(r.responses.length, 1);
  const res = r.responses[0]!;
  assert.equal(res.headers['content-length'], '100');
  assert.equal(res.complete, false, 'the client can tell the body is incomplete');
  assert.equal(res.body.toString(), 'only this');
});

test('serveStream: a size that is not a byte count is refused', () => {
  const s = Readable.from([]);
  assert.throws(() => serveStream(s, { size: -1 }), /exact size/);
  assert.equal(s.destroyed, true);
});

// -- memory (B7) ----------------------------------------------------------------

const BIG = 50 * 1024 * 1024;

/**
 * Download `path` over a raw socket, hashing and counting the body without
 * keeping it, while sampling this process's RSS (the server runs here too).
 */
async function download(port: number, path: string): Promise<{ status: number; length: number; bodyBytes: number; hash: string; peakGrowth: number }> {
  const baseline = process.memoryUsage.rss();
  let peak = baseline;
  const sample = (): void => {
    const now = process.memoryUsage.rss();
    if (now > peak) peak = now;
  };
  const timer = setInterval(sample, 5);
  try {
    return await new Promise((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1');
      const hash = createHash('sha256');
      let headText = '';
      let headDone = false;
      let bodyBytes = 0;
      let status = 0;
      let length = -1;
      let chunks = 0;
      const guard = setTimeout(() => { socket.destroy(); reject(new Error('download timed out')); }, 60_000);
      socket.on('connect', () => socket.write(head('GET', path)));
      socket.on('data', (d: Buffer) => {
        if (++chunks % 16 === 0) sample();
        let body = d;
        if (!headDone) {
          headText += d.toString('latin1');
          const end = headText.indexOf('\r\n\r\n');
          if (end < 0) return;
          headDone = true;
          status = Number(headText.slice(9, 12));
          length = Number(/\r\ncontent-length: *(\d+)/i.exec(headText.slice(0, end))?.[1] ?? -1);
          body = Buffer.from(headText.slice(end + 4), 'latin1');
        }
        bodyBytes += body.length;
        hash.update(body);
      });
      socket.on('error', (err) => { clearTimeout(guard); reject(err); });
      socket.on('close', () => {
        clearTimeout(guard);
        resolve({ status, length, bodyBytes, hash: hash.digest('hex'), peakGrowth: peak - baseline });
      });
    });
  } finally {
    clearInterval(timer);
  }
}

for (const mode of ['buffered', 'streamed'] as const) {
  test(`memory stays flat while a 50 MiB file is sent (${mode})`, { timeout: 120_000 }, async (t) => {
    const dir = tempDir(t);
    const p = join(dir, 'big.bin');
    const hash = createHash('sha256');
    const fd = openSync(p, 'w');
    for (let i = 0; i < 50; i++) {
      const block = randomBytes(1024 * 1024);
      writeSync(fd, block);
      hash.update(block);
    }
    closeSync(fd);
    const expected = hash.digest('hex');
    const root = { big: exposed(() => serveFile(p), mode === 'streamed' ? { 'response.stream': true } : {}) };
    const server = await start(t, root);
    const r = await download(server.port, '/big');
    assert.equal(r.status, 200);
    assert.equal(r.length, BIG);
    assert.equal(r.bodyBytes, BIG);
    assert.equal(r.hash, expected, 'every byte arrived, in order');
    assert.ok(r.peakGrowth < 40 * 1024 * 1024, `RSS grew by ${(r.peakGrowth / 1048576).toFixed(1)} MiB while sending 50 MiB`);
  });
}
