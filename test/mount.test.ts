// Mounting (CherryPy's tree.mount with script names) and serve() on the engine (issue 15 part 1):
// several apps on one port over real sockets, the URLs they build, their sections, the access
// line, a graceful close, and servers the engine stops.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  App, Engine, HTTPRedirect, InternalRedirect, Tree, exposed, quickstart, serve, serverPlugin, type Config, type Context, type RunningServer,
} from '../src/index.js';
import { streamRequest } from '../src/testing.js';
import { waitFor, within } from './helpers/async.js';
import { tempDir } from './helpers/files.js';
import { one } from './helpers/http.js';
import { get } from './helpers/server.js';
import { feedUntilAborted } from './helpers/streaming.js';

const GUARD_MS = 10_000;
const TEST: Config = { environment: 'test' };

/** What a handler saw of where it is mounted. */
const where = ({ request }: Context): string => `${request.scriptName}|${request.path}`;

function site(): object {
  return {
    index: exposed(() => 'site index'),
    blogger: exposed((ctx: Context) => `site blogger ${where(ctx)}`),
    default: exposed((ctx: Context) => `site default ${where(ctx)}`),
  };
}

function blog(): object {
  return {
    index: exposed((ctx: Context) => `blog index ${where(ctx)}`),
    post: { default: exposed((ctx: Context) => `blog post ${ctx.args.join('/')} ${where(ctx)}`) },
    here: exposed(({ request }: Context) => [request.url(), request.url('/x'), request.url('../up'), request.url('other', { a: '1' })].join('\n')),
    relative: exposed(() => { throw new HTTPRedirect('post/7'); }),
    absolute: exposed(() => { throw new HTTPRedirect('/elsewhere'); }),
    inside: exposed(() => { throw new InternalRedirect('/post/internal'); }),
    admin: { index: exposed(({ request }: Context) => `admin ${String(request.config['request.show_tracebacks'])}`) },
    deeper: exposed((ctx: Context) => `blog deeper ${where(ctx)}`),
    feed: feedUntilAborted(),
  };
}

function tree(): Tree {
  return new Tree()
    .mount(new App(site()), '')
    .mount(blog(), '/blog', { '/admin': { 'request.show_tracebacks': true, 'tools.response_headers.on': true, 'tools.response_headers.headers': { 'X-Section': 'blog admin' } } })
    .mount(new App({ index: exposed((ctx: Context) => `deep ${where(ctx)}`) }), '/blog/deep');
}

async function serveTree(t: { after(fn: () => unknown): void }, config: Config = {}): Promise<RunningServer> {
  const server = await serve(tree(), { host: '127.0.0.1', port: 0, config: { ...TEST, ...config }, engine: null });
  t.after(() => server.close());
  return server;
}

test('apps mounted at / and /blog share a port; the longest whole-segment script name wins', async (t) => {
  const { url } = await serveTree(t);
  assert.equal((await get(url + '/')).text, 'site index');
  assert.equal((await get(url + '/blog/')).text, 'blog index /blog|/');
  assert.equal((await get(url + '/blog/?q=1')).text, 'blog index /blog|/');
  assert.equal((await get(url + '/blog/post/2026/12')).text, 'blog post 2026/12 /blog|/post/2026/12');
  assert.equal((await get(url + '/blog/deep/')).text, 'deep /blog/deep|/', 'the longer script name');
  assert.equal((await get(url + '/blog/deeper')).text, 'blog deeper /blog|/deeper', '/blog/deeper is not under /blog/deep');
  assert.equal((await get(url + '/blogger')).text, 'site blogger |/blogger', '/blogger is not under /blog');
  assert.equal((await get(url + '/blog-x/y')).text, 'site default |/blog-x/y');
  // An absolute-form target is routed by its path too.
  const port = new URL(url).port;
  assert.equal((await one(Number(port), 'GET', `http://127.0.0.1:${port}/blog/post/abs`)).body.toString(), 'blog post abs /blog|/post/abs');
  assert.equal((await one(Number(port), 'GET', `http://127.0.0.1:${port}/blog?x`)).status, 301);
  // The blog's own 404 names the full path the client asked for.
  const missing = await get(url + '/blog/deeper/nothing');
  assert.equal(missing.status, 404);
  assert.match(missing.text, /The path &#39;\/blog\/deeper\/nothing&#39; was not found|The path '\/blog\/deeper\/nothing' was not found/);
});

test('a tree without a root app answers paths nobody mounted with a plain 404', async (t) => {
  const server = await serve(new Tree().mount(blog(), '/blog'), { host: '127.0.0.1', port: 0, config: TEST, engine: null });
  t.after(() => server.close());
  for (const path of ['/', '/blogger', '/other/blog']) {
    const res = await one(server.port, 'GET', path);
    assert.equal(res.status, 404, path);
    assert.equal(res.body.toString(), 'Not Found\n', path);
  }
  assert.equal((await one(server.port, 'GET', '/blog?x=1')).status, 301, 'a query right after the script name is still the blog');
});

test('URLs the app builds include the script name: request.url(), redirects, trailing slash', async (t) => {
  const { url } = await serveTree(t);
  const slash = await get(url + '/blog?a=1');
  assert.equal(slash.status, 301);
  assert.equal(slash.headers.get('location'), `${url}/blog/?a=1`, 'the trailing-slash redirect of the mount point');
  const admin = await get(url + '/blog/admin');
  assert.equal(admin.headers.get('location'), `${url}/blog/admin/`);
  const relative = await get(url + '/blog/relative');
  assert.equal(relative.status, 303);
  assert.equal(relative.headers.get('location'), `${url}/blog/post/7`, 'a relative HTTPRedirect resolves under the script name');
  // As in CherryPy, a '/…' redirect is site-absolute (request.url('/…') is the app's own).
  assert.equal((await get(url + '/blog/absolute')).headers.get('location'), `${url}/elsewhere`);
  assert.deepEqual((await get(url + '/blog/here')).text.split('\n'), [
    `${url}/blog/here`, `${url}/blog/x`, `${url}/blog/up`, `${url}/blog/other?a=1`,
  ]);
  // An InternalRedirect stays inside the app.
  assert.equal((await get(url + '/blog/inside')).text, 'blog post internal /blog|/post/internal');
});

test("a mounted app's sections are relative to its mount point; the server-wide config applies to every app", async (t) => {
  const { url } = await serveTree(t, { 'response.headers.server': 'Shared' });
  const admin = await get(url + '/blog/admin/');
  assert.equal(admin.text, 'admin true');
  assert.equal(admin.headers.get('x-section'), 'blog admin');
  assert.equal(admin.headers.get('server'), 'Shared');
  const site = await get(url + '/admin/');
  assert.equal(site.headers.get('x-section'), null, "the blog's '/admin' section is not the site's");
  assert.equal(site.headers.get('server'), 'Shared');
  const deep = await get(url + '/blog/deep/');
  assert.equal(deep.headers.get('server'), 'Shared');
});

test('the access line shows the full path the client sent', async (t) => {
  const dir = tempDir(t, 'drupe-mount-');
  const access = join(dir, 'access.log');
  const server = await serve(tree(), { host: '127.0.0.1', port: 0, config: { ...TEST, 'log.access_file': access, 'log.screen': false }, engine: null });
  let closed = false;
  t.after(() => (closed ? undefined : server.close()));
  assert.equal((await get(server.url + '/blog/post/1?x=2')).status, 200);
  assert.equal((await get(server.url + '/')).status, 200);
  await server.close();
  closed = true;
  const lines = readFileSync(access, 'utf8');
  assert.match(lines, /"GET \/blog\/post\/1\?x=2 HTTP\/1\.1" 200 /);
  assert.match(lines, /"GET \/ HTTP\/1\.1" 200 /);
});

test('close() drains a stream in a mounted app: told through request.signal, it ends cleanly', async () => {
  const server = await serve(tree(), { host: '127.0.0.1', port: 0, config: { ...TEST, 'server.shutdown_timeout': 60 }, engine: null });
  let closed = false;
  try {
    const res = await streamRequest(server.port, { path: '/blog/feed', timeoutMs: GUARD_MS });
    const first = await res.chunks()[Symbol.asyncIterator]().next();
    assert.equal(first.done, false);
    const closing = server.close().then(() => { closed = true; });
    const result = await res.done();
    assert.equal(result.complete, true);
    assert.equal(result.body.toString(), 'start\nbye\n');
    await within(closing, 'close() to resolve', GUARD_MS);
    assert.equal(server.server.listening, false);
  } finally {
    if (!closed) await server.close();
  }
});

test('in a mounted app, the staticdir index redirect and an error page name the full path; HEAD of an unmounted path has no body', async (t) => {
  const dir = tempDir(t, 'drupe-mount-static-');
  mkdirSync(join(dir, 'docs'));
  writeFileSync(join(dir, 'docs', 'index.html'), '<h1>docs</h1>');
  const docs = new App({}, {
    '/files': { 'tools.staticdir.on': true, 'tools.staticdir.dir': dir, 'tools.staticdir.index': 'index.html' },
    '/': { 'error_page.404': ({ path }: { path: string }) => `missing ${path}` },
  });
  const server = await serve(new Tree().mount(docs, '/site/docs'), { host: '127.0.0.1', port: 0, config: TEST, engine: null });
  t.after(() => server.close());
  const redirect = await one(server.port, 'GET', '/site/docs/files/docs?v=1');
  assert.equal(redirect.status, 301);
  assert.equal(redirect.headers.location, `http://127.0.0.1:${server.port}/site/docs/files/docs/?v=1`);
  assert.equal((await one(server.port, 'GET', '/site/docs/files/docs/')).body.toString(), '<h1>docs</h1>');
  assert.equal((await one(server.port, 'GET', '/site/docs/nothing')).body.toString(), 'missing /site/docs/nothing');
  const head = await one(server.port, 'HEAD', '/site');
  assert.equal(head.status, 404);
  assert.equal(head.body.length, 0);
});

test('a malformed or taken script name is refused at mount time with DRUPE_ERR_CONFIG_VALUE', () => {
  const refused = (fn: () => unknown, what: string): void => {
    assert.throws(fn, (err: Error & { code?: string }) => err.code === 'DRUPE_ERR_CONFIG_VALUE' && /script name|mounted/i.test(err.message), what);
  };
  for (const name of ['blog', '/blog/', '//blog', '/a//b', '/a/../b', '/.', '/a b', '/a%2Fb', '/a?b']) {
    refused(() => new Tree().mount({}, name), JSON.stringify(name));
  }
  refused(() => new Tree().mount({}, '/blog').mount({}, '/blog'), 'the same name twice');
  refused(() => new Tree().mount({}, '').mount({}, '/'), "'' and '/' are both the root");
  const app = new App({});
  refused(() => new Tree().mount(app, '/a').mount(app, '/b'), 'the same app twice');
  assert.equal(new Tree().mount({}, '/').mount({}, '/a/b-c.d').apps.size, 2);
});

test("quickstart(root, '/blog', config) mounts the app at that script name", async (t) => {
  const before = process.listeners('SIGINT').length;
  const write = process.stdout.write;
  let printed = '';
  // Strings are quickstart's line; the test runner's own reports (bytes) still go out.
  process.stdout.write = ((chunk: string | Uint8Array) => {
    if (typeof chunk !== 'string') return write.call(process.stdout, chunk);
    printed += chunk;
    return true;
  }) as typeof process.stdout.write;
  let server: RunningServer;
  try {
    server = await quickstart(blog(), '/blog', { global: TEST, '/admin': { 'request.show_tracebacks': true } }, { host: '127.0.0.1', port: 0 });
  } finally {
    process.stdout.write = write;
  }
  t.after(async () => {
    await server.close();
    assert.equal(process.listeners('SIGINT').length, before, 'close() removed the signal handlers');
  });
  assert.equal(printed, `Drupe serving on ${server.url}/blog/\n`, 'the start-up line names the mounted app');
  assert.equal((await get(server.url + '/blog/')).text, 'blog index /blog|/');
  assert.equal((await get(server.url + '/blog/admin/')).text, 'admin true');
  assert.equal((await get(server.url + '/')).status, 404);
  assert.equal((await get(server.url + '/blog')).headers.get('location'), `${server.url}/blog/`);
  await assert.rejects(quickstart({}, 'blog/'), (err: Error & { code?: string }) => err.code === 'DRUPE_ERR_CONFIG_VALUE');
});

// ---------------------------------------------------------------------------
// serve() on the engine

test('engine.exit() closes every server serve() put on it, gracefully', async () => {
  const engine = new Engine();
  const options = { host: '127.0.0.1', port: 0, config: { ...TEST, 'server.shutdown_timeout': 60 }, engine };
  const a = await serve(new App({ feed: feedUntilAborted() }), options);
  const b = await serve(tree(), options);
  try {
    const streams = [await streamRequest(a.port, { path: '/feed', timeoutMs: GUARD_MS }), await streamRequest(b.port, { path: '/blog/feed', timeoutMs: GUARD_MS })];
    for (const stream of streams) assert.equal((await stream.chunks()[Symbol.asyncIterator]().next()).done, false);
    await within(engine.exit(), 'engine.exit()', GUARD_MS);
    for (const stream of streams) {
      const result = await stream.done();
      assert.equal(result.complete, true, 'the stream in flight ended cleanly');
      assert.equal(result.body.toString(), 'start\nbye\n');
    }
    assert.equal(a.server.listening, false);
    assert.equal(b.server.listening, false);
    assert.deepEqual(await engine.publish('stop'), [], 'closed servers left the engine');
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
});

test('engine.stop() closes a served server; close() first takes it off the engine, so nothing closes twice', async () => {
  const engine = new Engine();
  await engine.start();
  const options = { host: '127.0.0.1', port: 0, config: TEST, engine };
  const a = await serve(new App({ index: exposed(() => 'a') }), options);
  const b = await serve(new App({ index: exposed(() => 'b') }), options);
  assert.equal((await engine.publish('reopen')).length, 2, 'each server listens on reopen');
  await a.close();
  assert.equal((await engine.publish('reopen')).length, 1, 'a closed server is off the engine');
  assert.equal((await get(b.url + '/')).text, 'b');
  await within(engine.stop(), 'engine.stop()', GUARD_MS);
  assert.equal(b.server.listening, false);
  assert.equal(engine.state, 'stopped');
  assert.deepEqual(await engine.publish('stop'), []);
  await b.close(); // still fine after the engine closed it
});

test('a serverPlugin is on the engine once (as the plugin), and options.engine null keeps serve() off every engine', async () => {
  const engine = new Engine();
  const other = new Engine();
  const plugin = engine.use(serverPlugin(tree(), { host: '127.0.0.1', port: 0, config: TEST, engine: other }));
  await engine.start();
  try {
    assert.ok(plugin.running !== undefined);
    assert.equal((await get(plugin.running.url + '/blog/')).text, 'blog index /blog|/');
    assert.deepEqual(await other.publish('stop'), [], 'serverPlugin does not put its server on options.engine');
    assert.equal((await engine.publish('reopen')).length, 1, 'the plugin alone');
  } finally {
    await engine.stop();
  }
  assert.equal(plugin.running, undefined);
  const off = await serve(new App({}), { host: '127.0.0.1', port: 0, config: TEST, engine: null });
  await off.close();
});

/** A process that serves a tree with plain serve() and asks for signals; its first line is `url <url>`. */
const SERVED = `
const { App, Tree, engine, exposed, serve } = await import(process.env.DRUPE_INDEX);
const aborted = (signal) => new Promise((resolve) => signal.aborted ? resolve() : signal.addEventListener('abort', resolve, { once: true }));
const feed = exposed(async function* ({ request }) { yield 'start\\n'; await aborted(request.signal); yield 'bye\\n'; }, { 'response.stream': true });
const tree = new Tree().mount(new App({ index: exposed(() => 'site') }), '').mount(new App({ feed }), '/blog');
const server = await serve(tree, { host: '127.0.0.1', port: 0, config: { environment: 'test', 'server.shutdown_timeout': 60 } });
engine.signals();
console.log('url ' + server.url);
`;

test('SIGTERM under engine.signals() closes a plain serve() server gracefully: its stream in a mounted app ends cleanly, exit 0', { skip: process.platform === 'win32' ? 'POSIX signals' : false }, async (t) => {
  const dir = tempDir(t, 'drupe-mount-signal-');
  const script = join(dir, 'served.mjs');
  writeFileSync(script, SERVED);
  const child = spawn(process.execPath, [script], {
    env: { ...process.env, DRUPE_INDEX: new URL('../src/index.js', import.meta.url).href },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
  });
  let err = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => { err += chunk; });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  const url = await within(new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (l) => { if (l.startsWith('url ')) resolve(l.slice(4)); });
    void exited.then(({ code }) => reject(new Error(`the process exited (${code}) before its URL: ${err}`)));
  }), 'the URL', 15_000);
  const port = Number(new URL(url).port);
  const stream = await streamRequest(port, { path: '/blog/feed', timeoutMs: 15_000 });
  assert.equal((await stream.chunks()[Symbol.asyncIterator]().next()).done, false);
  assert.ok(child.pid !== undefined);
  process.kill(child.pid, 'SIGTERM');
  const result = await within(stream.done(), 'the stream to end', 15_000);
  assert.equal(result.complete, true, 'told through request.signal, the stream ended cleanly');
  assert.equal(result.body.toString(), 'start\nbye\n');
  assert.deepEqual(await within(exited, 'the exit', 15_000), { code: 0, signal: null }, err);
  await waitFor(() => err.includes('SIGTERM'), 'the SIGTERM line', 15_000);
});
