// Issue 14, responses: HEAD answers what GET answers, streamed responses say nosniff, a 405 carries
// Allow, sse()'s in-band error event, EMFILE on a static file, gzip's Vary, validators and min_size.
// Over real sockets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import {
  HTTPError, HTTPRedirect, MethodDispatcher, NotFound, exposed, serveFile, sse,
  type Config, type Context,
} from '../src/index.js';
import { rawRequest } from '../src/testing.js';
import { start } from './helpers/server.js';
import { one, req } from './helpers/http.js';

const STREAM: Config = { 'response.stream': true };

// ---------------------------------------------------------------------------
// Item 6: HEAD answers what GET answers (S7)

test('HEAD: a streamed generator that throws NotFound or HTTPRedirect before its first yield gets the 404 / 303 its GET gets', async (t) => {
  const root = {
    gone: exposed(function* (): Generator<string> { throw new NotFound(); }, STREAM),
    moved: exposed(async function* (): AsyncGenerator<string> { throw new HTTPRedirect('/elsewhere', 303); }, STREAM),
  };
  const server = await start(t, root);
  for (const [path, status] of [['/gone', 404], ['/moved', 303]] as const) {
    const get = await one(server.port, 'GET', path);
    const head = await one(server.port, 'HEAD', path);
    assert.equal(get.status, status, `GET ${path}`);
    assert.equal(head.status, status, `HEAD ${path}`);
    assert.equal(head.headers.location, get.headers.location, path);
    assert.equal(head.body.length, 0, path);
  }
});

test('HEAD: the headers a streamed generator sets before its first yield go out as they do for GET, and it is pulled once, then closed', async (t) => {
  let pulls = 0;
  let closed = 0;
  const root = {
    clock: exposed(async function* ({ response }: Context): AsyncGenerator<string> {
      response.headers.set('Content-Type', 'text/plain;charset=utf-8');
      try {
        for (let i = 0; i < 5; i++) {
          pulls++;
          yield `${i}\n`;
          await new Promise((r) => setTimeout(r, 10));
        }
      } finally {
        closed++;
      }
    }, STREAM),
  };
  const server = await start(t, root);
  const get = await one(server.port, 'GET', '/clock');
  assert.equal(get.headers['content-type'], 'text/plain;charset=utf-8');
  pulls = 0;
  closed = 0;
  const r = await rawRequest(server.port, req('/clock', { method: 'HEAD', headers: { Connection: 'close' } }), { methods: ['HEAD'] });
  const head = r.responses[0]!;
  assert.equal(head.status, 200);
  assert.equal(head.headers['content-type'], 'text/plain;charset=utf-8');
  assert.equal(head.body.length, 0);
  assert.equal(pulls, 1, 'pulled once, to its commit point');
  assert.equal(closed, 1, 'then closed');
});

test("HEAD: with response.stream_commit 'immediately' nothing is pulled", async (t) => {
  let started = 0;
  const root = {
    index: exposed(function* (): Generator<string> { started++; yield 'x'; }, { 'response.stream': true, 'response.stream_commit': 'immediately' }),
  };
  const server = await start(t, root);
  const head = await one(server.port, 'HEAD', '/');
  assert.equal(head.status, 200);
  assert.equal(started, 0);
});

test('HEAD with tools.gzip: a streamed generator that sets an uncompressible type before its first yield is not said to be compressed, as for GET', async (t) => {
  const root = {
    index: exposed(function* ({ response }: Context): Generator<string> {
      response.headers.set('Content-Type', 'image/x-raw');
      yield 'x'.repeat(1000);
    }, STREAM),
  };
  const server = await start(t, root, { '/': { 'tools.gzip.on': true } });
  const get = await one(server.port, 'GET', '/', { 'Accept-Encoding': 'gzip' });
  const head = await one(server.port, 'HEAD', '/', { 'Accept-Encoding': 'gzip' });
  assert.equal(get.headers['content-encoding'], undefined);
  assert.equal(head.headers['content-encoding'], get.headers['content-encoding']);
  assert.equal(head.headers['content-type'], 'image/x-raw');
});

// ---------------------------------------------------------------------------
// Item 9: streamed responses say X-Content-Type-Options: nosniff

test('streamed responses carry X-Content-Type-Options: nosniff; buffered ones do not; a handler\'s own header wins; response.stream_nosniff: false turns it off', async (t) => {
  function* lines(): Generator<string> {
    yield 'a\n';
    yield 'b\n';
  }
  const root = {
    streamed: exposed(({ response }: Context) => { response.headers.set('Content-Type', 'text/plain'); return lines(); }, STREAM),
    own: exposed(({ response }: Context) => { response.headers.set('X-Content-Type-Options', 'other'); return lines(); }, STREAM),
    off: exposed(() => lines(), { 'response.stream': true, 'response.stream_nosniff': false }),
    buffered: exposed(() => lines()),
    text: exposed(() => 'plain'),
  };
  const server = await start(t, root);
  const streamed = await one(server.port, 'GET', '/streamed');
  assert.equal(streamed.headers['x-content-type-options'], 'nosniff');
  assert.equal(streamed.body.toString(), 'a\nb\n');
  const own = await one(server.port, 'GET', '/own');
  assert.equal(own.headers['x-content-type-options'], 'other');
  assert.equal(own.rawHeaders.filter(([n]) => n.toLowerCase() === 'x-content-type-options').length, 1);
  assert.equal((await one(server.port, 'GET', '/off')).headers['x-content-type-options'], undefined);
  assert.equal((await one(server.port, 'GET', '/buffered')).headers['x-content-type-options'], undefined);
  assert.equal((await one(server.port, 'GET', '/text')).headers['x-content-type-options'], undefined);
  // HEAD gets the header GET gets.
  assert.equal((await one(server.port, 'HEAD', '/streamed')).headers['x-content-type-options'], 'nosniff');
});

test('response.stream_nosniff must be a boolean', async () => {
  const { App } = await import('../src/index.js');
  assert.throws(() => new App({ index: exposed(() => 'x') }, { '/': { 'response.stream_nosniff': 'no' as unknown as boolean } }), /expected a boolean/);
});

// ---------------------------------------------------------------------------
// Item 8: a 405 always carries Allow

test('a handler\'s HTTPError(405) without Allow gets the route\'s methods under a MethodDispatcher, a stated default elsewhere; its own Allow wins', async (t) => {
  class Doc {
    GET(): string { return 'doc'; }
    DELETE(): never { throw new HTTPError(405); }
  }
  const root = {
    api: { doc: new Doc() },
    postOnly: exposed(({ request }: Context) => {
      if (request.method !== 'POST') throw new HTTPError(405, 'POST only');
      return 'posted';
    }),
    putRefused: exposed(({ request }: Context) => {
      if (request.method === 'PUT') throw new HTTPError(405);
      return 'ok';
    }),
    own: exposed(() => { throw new HTTPError(405, 'no', { Allow: 'PATCH' }); }),
    ownOnResponse: exposed(({ response }: Context) => { response.headers.set('Allow', 'OPTIONS'); throw new HTTPError(405); }),
  };
  const server = await start(t, root, { '/api': { 'request.dispatch': new MethodDispatcher() } });
  const del = await one(server.port, 'DELETE', '/api/doc');
  assert.equal(del.status, 405);
  assert.equal(del.headers.allow, 'GET, DELETE, HEAD');
  // An ordinary handler is reached by any method: which ones it takes is not known, so the
  // default is GET, HEAD, POST less the one refused (HEAD goes with GET).
  const get = await one(server.port, 'GET', '/postOnly');
  assert.equal(get.status, 405);
  assert.equal(get.headers.allow, 'POST');
  const put = await one(server.port, 'PUT', '/putRefused');
  assert.equal(put.status, 405);
  assert.equal(put.headers.allow, 'GET, HEAD, POST');
  const own = await one(server.port, 'GET', '/own');
  assert.equal(own.headers.allow, 'PATCH');
  assert.equal(own.rawHeaders.filter(([n]) => n.toLowerCase() === 'allow').length, 1);
  assert.equal((await one(server.port, 'GET', '/ownOnResponse')).headers.allow, 'OPTIONS');
});

// ---------------------------------------------------------------------------
// Item 8: sse()'s in-band error event is not named 'error' (EventSource.onerror)

test("sse(): the in-band error event is named 'stream-error' by default, not 'error'; errorEvent names it", async (t) => {
  async function* failing(): AsyncGenerator<string> {
    yield 'one';
    throw new Error('feed broke');
  }
  const root = {
    standard: exposed(() => sse(failing())),
    named: exposed(() => sse(failing(), { errorEvent: 'feed-failed' })),
  };
  const server = await start(t, root);
  const standard = await rawRequest(server.port, req('/standard', { headers: { Connection: 'close' } }));
  // Bytes and order, not chunk boundaries: node 24+ may send both events in one chunk.
  assert.equal(standard.responses[0]!.body.toString(), 'data: one\n\nevent: stream-error\ndata: The stream failed\n\n');
  assert.ok(!standard.text.includes('event: error\n'));
  const named = await rawRequest(server.port, req('/named', { headers: { Connection: 'close' } }));
  assert.equal(named.responses[0]!.body.toString(), 'data: one\n\nevent: feed-failed\ndata: The stream failed\n\n');
});

// ---------------------------------------------------------------------------
// Item 8: no descriptor to open a static file with → 503 with Retry-After

/**
 * A server in a child process whose descriptor limit is low (`ulimit -n`), with
 * handlers that use up every free descriptor and give them back: the test's own
 * process keeps its descriptors, and one kept-alive connection carries it all.
 */
const EMFILE_SERVER = `
import { openSync, closeSync } from 'node:fs';
const { App, exposed, serve, serveFile } = await import(process.env.DRUPE_INDEX);
const dir = process.env.FILES;
const held = [];
const root = {
  exhaust: exposed(() => {
    for (let i = 0; i < 100000; i++) {
      try { held.push(openSync('/dev/null', 'r')); } catch (err) { if (err.code === 'EMFILE' || err.code === 'ENFILE') break; throw err; }
    }
    return String(held.length);
  }),
  release: exposed(() => { while (held.length > 0) closeSync(held.pop()); return 'released'; }),
  file: exposed(() => serveFile(dir + '/a.txt')),
};
const app = new App(root, { '/static': { 'tools.staticdir.on': true, 'tools.staticdir.dir': dir } });
const server = await serve(app, { host: '127.0.0.1', port: 0, config: { environment: 'test' } });
console.log(server.port);
process.stdin.on('end', () => server.close()).resume();
`;

test('a static file that cannot be opened for lack of descriptors (EMFILE) is a 503 with Retry-After, not a 500; served again once they are back', { skip: process.platform === 'win32' }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'drupe-emfile-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'a.txt'), 'hello file\n');
  const index = new URL('../src/index.js', import.meta.url).href;
  const child = spawn('bash', ['-c', `ulimit -n 128 && exec "${process.execPath}" --input-type=module -e "$SCRIPT"`], {
    env: { ...process.env, SCRIPT: EMFILE_SERVER, DRUPE_INDEX: index, FILES: dir },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  t.after(() => { child.stdin.end(); });
  const port = await new Promise<number>((resolve, reject) => {
    createInterface({ input: child.stdout }).once('line', (line) => resolve(Number(line)));
    child.once('exit', (code) => reject(new Error(`the server exited (${code})`)));
  });
  const r = await rawRequest(port, [
    req('/exhaust'), req('/file'), req('/static/a.txt'), req('/release'), req('/file'), req('/static/a.txt', { headers: { Connection: 'close' } }),
  ].join(''), { idleMs: 5000, timeoutMs: 15000 });
  assert.equal(r.responses.length, 6, r.text.slice(0, 2000));
  const [exhaust, file, stat, release, fileAgain, staticAgain] = r.responses;
  assert.ok(Number(exhaust!.body.toString()) > 0);
  for (const [name, res] of [['serveFile', file!], ['tools.staticdir', stat!]] as const) {
    assert.equal(res.status, 503, name);
    assert.equal(res.headers['retry-after'], '1', name);
  }
  assert.equal(release!.body.toString(), 'released');
  assert.equal(fileAgain!.status, 200);
  assert.equal(fileAgain!.body.toString(), 'hello file\n');
  assert.equal(staticAgain!.status, 200);
  assert.equal(staticAgain!.body.toString(), 'hello file\n');
});

// ---------------------------------------------------------------------------
// Item 7: tools.gzip — Vary and validators on 206 and 304; min_size for files and known lengths

const GZIP: Config = { 'tools.gzip.on': true };
const LONG = 'a line of text that compresses well\n'.repeat(100);

test('tools.gzip: a file\'s 206 and 304 carry Vary: Accept-Encoding as its 200 does; a gzip client\'s 304 carries the weak ETag its 200 carried', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'drupe-gzip-cond-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'page.txt'), LONG);
  writeFileSync(join(dir, 'image.png'), LONG);
  const server = await start(t, {
    page: exposed(() => serveFile(join(dir, 'page.txt'))),
    image: exposed(() => serveFile(join(dir, 'image.png'))),
  }, { '/': GZIP });
  const gz = { 'Accept-Encoding': 'gzip' };
  const full = await one(server.port, 'GET', '/page', gz);
  assert.equal(full.headers['content-encoding'], 'gzip');
  assert.equal(full.headers.vary, 'Accept-Encoding');
  assert.match(full.headers.etag!, /^W\//);
  const plain = await one(server.port, 'GET', '/page');
  assert.equal(plain.headers.vary, 'Accept-Encoding');
  const strong = plain.headers.etag!;
  assert.equal(full.headers.etag, 'W/' + strong);

  const range = await one(server.port, 'GET', '/page', { ...gz, Range: 'bytes=0-9' });
  assert.equal(range.status, 206);
  assert.equal(range.headers.vary, 'Accept-Encoding');
  assert.equal(range.body.toString(), LONG.slice(0, 10));
  const multi = await one(server.port, 'GET', '/page', { ...gz, Range: 'bytes=0-1,5-6' });
  assert.equal(multi.status, 206);
  assert.equal(multi.headers.vary, 'Accept-Encoding');

  const notModified = await one(server.port, 'GET', '/page', { ...gz, 'If-None-Match': full.headers.etag! });
  assert.equal(notModified.status, 304);
  assert.equal(notModified.headers.vary, 'Accept-Encoding');
  assert.equal(notModified.headers.etag, full.headers.etag, 'the validator its 200 carried');
  assert.equal(notModified.headers['content-encoding'], undefined);
  const plainNotModified = await one(server.port, 'GET', '/page', { 'If-None-Match': strong });
  assert.equal(plainNotModified.status, 304);
  assert.equal(plainNotModified.headers.vary, 'Accept-Encoding');
  assert.equal(plainNotModified.headers.etag, strong);

  // A type gzip leaves alone varies on nothing, whatever the status.
  const image = await one(server.port, 'GET', '/image', gz);
  assert.equal(image.headers.vary, undefined);
  const imageRange = await one(server.port, 'GET', '/image', { ...gz, Range: 'bytes=0-9' });
  assert.equal(imageRange.headers.vary, undefined);
  const image304 = await one(server.port, 'GET', '/image', { ...gz, 'If-None-Match': image.headers.etag! });
  assert.equal(image304.status, 304);
  assert.equal(image304.headers.vary, undefined);
  assert.equal(image304.headers.etag, image.headers.etag);
});

test('tools.gzip with tools.etags: the 304 to a gzip client carries the weak ETag and Vary its 200 carried', async (t) => {
  const server = await start(t, { index: exposed(() => LONG) }, { '/': { ...GZIP, 'tools.etags.on': true, 'tools.etags.autotags': true } });
  const gz = { 'Accept-Encoding': 'gzip' };
  const first = await one(server.port, 'GET', '/', gz);
  assert.match(first.headers.etag!, /^W\//);
  const again = await one(server.port, 'GET', '/', { ...gz, 'If-None-Match': first.headers.etag! });
  assert.equal(again.status, 304);
  assert.equal(again.headers.etag, first.headers.etag);
  assert.equal(again.headers.vary, 'Accept-Encoding');
});

test('tools.gzip: min_size applies to files and to known-length streamed bodies, not only buffered ones', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'drupe-gzip-small-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'small.txt'), 'twenty-one bytes long');
  writeFileSync(join(dir, 'big.txt'), LONG);
  const server = await start(t, {
    small: exposed(() => serveFile(join(dir, 'small.txt'))),
    big: exposed(() => serveFile(join(dir, 'big.txt'))),
    declared: exposed(function* ({ response }: Context): Generator<string> {
      response.headers.set('Content-Type', 'text/plain');
      response.headers.set('Content-Length', '10');
      yield '0123456789';
    }, STREAM),
  }, { '/': GZIP });
  const gz = { 'Accept-Encoding': 'gzip' };
  const small = await one(server.port, 'GET', '/small', gz);
  assert.equal(small.status, 200);
  assert.equal(small.headers['content-encoding'], undefined);
  assert.equal(small.headers['content-length'], '21');
  assert.equal(small.body.toString(), 'twenty-one bytes long');
  assert.equal(small.headers.vary, undefined, 'the same bytes for every client');
  assert.equal(small.headers['accept-ranges'], 'bytes');
  const big = await one(server.port, 'GET', '/big', gz);
  assert.equal(big.headers['content-encoding'], 'gzip');
  const declared = await one(server.port, 'GET', '/declared', gz);
  assert.equal(declared.headers['content-encoding'], undefined);
  assert.equal(declared.headers['content-length'], '10');
  assert.equal(declared.body.toString(), '0123456789');
});
