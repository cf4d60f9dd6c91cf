// Habits a CherryPy user brings, over a real socket: HTTPError("410 Gone fishin'"),
// CherryPy's %(name)s error-page placeholders, a missing error page file refused at
// start-up, @expose without parentheses and on a class, quickstart(root, '/', config).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  App, DrupeError, HTTPError, HTTPRedirect, NotFound, expose, exposed, quickstart, serve,
  type Config, type Context, type ErrorPageInfo,
} from '../src/index.js';
import { rawRequest, type ParsedResponse } from '../src/testing.js';
import { get, startApp, type TestServer } from './helpers/server.js';

const PACKAGE_VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'drupe-cherrypy-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function start(t: { after(fn: () => unknown): void }, root: object, sections: Record<string, Config> = {}, config: Config = {}): Promise<TestServer> {
  const server = await startApp(root, sections, config);
  t.after(() => server.close());
  return server;
}

/** One request on its own connection, the answer parsed from the raw bytes. */
async function raw(server: TestServer, target: string): Promise<ParsedResponse> {
  const r = await rawRequest(server.port, `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nConnection: close\r\n\r\n`);
  assert.equal(r.responses.length, 1, r.text);
  return r.responses[0]!;
}

function statusLine(res: ParsedResponse): string {
  return res.head.slice(0, res.head.indexOf('\r\n'));
}

function coded(code: string, ...parts: string[]): (err: unknown) => boolean {
  return (err) => {
    assert.ok(err instanceof DrupeError, String(err));
    assert.equal(err.code, code);
    for (const p of parts) assert.ok(err.message.includes(p), `${JSON.stringify(p)} in: ${err.message}`);
    return true;
  };
}

// ---------------------------------------------------------------------------
// HTTPError("NNN Reason")

test("HTTPError(\"410 Gone fishin'\") sends that status line; status stays a number", async (t) => {
  const err = new HTTPError("410 Gone fishin'");
  assert.equal(err.status, 410);
  assert.equal(err.reason, "Gone fishin'");
  assert.equal(err.message, "Gone fishin'");
  const server = await start(t, {
    fishing: exposed(() => { throw new HTTPError("410 Gone fishin'"); }),
    maintenance: exposed(() => { throw new HTTPError('503 Back at noon', 'Down for <maintenance>', { 'Retry-After': '60' }); }),
    plain: exposed(() => { throw new HTTPError(410, 'Gone for good'); }),
  });

  const fishing = await raw(server, '/fishing');
  assert.equal(statusLine(fishing), "HTTP/1.1 410 Gone fishin'");
  assert.ok(fishing.body.toString().includes('<title>410 Gone fishin&#39;</title>'), fishing.body.toString());

  const down = await raw(server, '/maintenance');
  assert.equal(statusLine(down), 'HTTP/1.1 503 Back at noon');
  assert.equal(down.headers['retry-after'], '60');
  assert.ok(down.body.toString().includes('Down for &lt;maintenance&gt;'), down.body.toString());

  // A number keeps the standard reason phrase.
  assert.equal(statusLine(await raw(server, '/plain')), 'HTTP/1.1 410 Gone');
});

test("an error page sees the reason given with 'NNN Reason'; NotFound and HTTPRedirect keep theirs", async (t) => {
  const seen: ErrorPageInfo[] = [];
  const server = await start(t, {
    fishing: exposed(() => { throw new HTTPError("410 Gone fishin'", 'out on the lake'); }),
    missing: exposed(() => { throw new NotFound(); }),
    away: exposed(() => { throw new HTTPRedirect('/elsewhere'); }),
  }, { '/': { 'error_page.default': (info) => { seen.push(info); return `page ${info.status} ${info.reason}`; } } });

  const fishing = await raw(server, '/fishing');
  assert.equal(fishing.body.toString(), "page 410 Gone fishin'");
  assert.equal(seen[0]?.message, 'out on the lake');

  const missing = await raw(server, '/missing');
  assert.equal(statusLine(missing), 'HTTP/1.1 404 Not Found');
  assert.equal(missing.body.toString(), 'page 404 Not Found');

  const away = await raw(server, '/away');
  assert.equal(statusLine(away), 'HTTP/1.1 303 See Other');
  assert.equal(away.headers.location, `http://127.0.0.1:${server.port}/elsewhere`);
});

test("HTTPError refuses a status string that is not '4xx Reason' or '5xx Reason'", () => {
  const bad = ['200 OK', '302 Found', '600 Too far', '41 Short', '4100 Long', 'Gone', '410 Bad\r\nX-Injected: 1', ''];
  for (const status of bad) {
    assert.throws(() => new HTTPError(status as `${number} ${string}`), coded('DRUPE_ERR_HTTP_ERROR_STATUS'), JSON.stringify(status));
  }
  // TypeScript takes a number or 'NNN Reason' (the lines below only type-check).
  const typed: Array<() => HTTPError> = [
    () => new HTTPError(404),
    () => new HTTPError('418 Short and stout'),
    // @ts-expect-error a reason alone is not a status
    () => new HTTPError('Gone fishing'),
  ];
  assert.equal(typed.length, 3);
});

// ---------------------------------------------------------------------------
// Error page templates

test("a file error page fills CherryPy's %(status)s, %(message)s, %(traceback)s, %(version)s, escaped", async (t) => {
  const dir = tempDir(t);
  const page = join(dir, 'cherrypy.html');
  writeFileSync(page, '<h1>%(status)s</h1><p>%(message)s</p><pre>%(traceback)s</pre><i>Drupe %(version)s</i> 100%% %(unknown)s {reason}');
  const server = await start(t, {
    missing: exposed(() => { throw new HTTPError(404, '<b>no such "thing"</b> & %(status)s {status}'); }),
    boom: exposed(function boomHandler() { throw new Error('kaboom <now>'); }),
  }, { '/': { 'error_page.404': page, 'error_page.500': page } }, { environment: 'development', 'log.screen': false });

  const missing = await get(server.url + '/missing');
  assert.equal(missing.status, 404);
  // Values are escaped and never read again as placeholders; %% is a literal %, as in Python.
  assert.equal(missing.text,
    `<h1>404 Not Found</h1><p>&lt;b&gt;no such &quot;thing&quot;&lt;/b&gt; &amp; %(status)s {status}</p><pre></pre><i>Drupe ${PACKAGE_VERSION}</i> 100% %(unknown)s Not Found`);

  const boom = await get(server.url + '/boom');
  assert.equal(boom.status, 500);
  assert.match(boom.text, /^<h1>500 Internal Server Error<\/h1><p>kaboom &lt;now&gt;<\/p><pre>Error: kaboom &lt;now&gt;\n\s+at /);
});

test('a Drupe-style file page keeps working, and keeps a literal %% when it has no %( placeholder', async (t) => {
  const dir = tempDir(t);
  const page = join(dir, 'drupe.html');
  writeFileSync(page, '{status} {reason}: {message} (100%%)');
  const server = await start(t, {
    fishing: exposed(() => { throw new HTTPError("410 Gone fishin'", 'back <soon>'); }),
  }, { '/': { 'error_page.410': page } });
  const res = await get(server.url + '/fishing');
  assert.equal(res.status, 410);
  assert.equal(res.text, '410 Gone fishin&#39;: back &lt;soon&gt; (100%%)');
});

test('an error_page file that does not exist is refused at start-up, naming the section, key and path', async (t) => {
  const dir = tempDir(t);
  const missing = join(dir, 'no-such-page.html');
  const root = { index: exposed(() => 'ok') };
  assert.throws(() => new App(root, { '/blog': { 'error_page.404': missing } }),
    coded('DRUPE_ERR_CONFIG_VALUE', "section '/blog'", "'error_page.404'", missing));
  // A directory is not a page either.
  mkdirSync(join(dir, 'a-directory'));
  assert.throws(() => new App(root, { '/': { 'error_page.default': join(dir, 'a-directory') } }),
    coded('DRUPE_ERR_CONFIG_VALUE', "'error_page.default'", 'a-directory'));
  // In the global config, serve() refuses it before listening.
  await assert.rejects(serve(new App(root), { host: '127.0.0.1', port: 0, config: { environment: 'test', 'error_page.500': missing } }),
    coded('DRUPE_ERR_CONFIG_VALUE', 'global config', "'error_page.500'", missing));
  // In a class's _cp_config and in a handler's config.
  class Shop {
    static _cp_config: Config = { 'error_page.404': missing };
    @expose() index() { return 'shop'; }
  }
  assert.throws(() => new App({ shop: new Shop() }), coded('DRUPE_ERR_CONFIG_VALUE', '_cp_config of /shop', missing));
  assert.throws(() => new App({ page: exposed(() => 'x', { 'error_page.404': missing }) }),
    coded('DRUPE_ERR_CONFIG_VALUE', 'the config of handler /page', missing));
});

// ---------------------------------------------------------------------------
// @expose without parentheses, and on a class

class BareRoot {
  @expose
  index() { return 'bare index'; }

  @expose
  hello({ params }: Context) { return `hello ${String(params.name ?? 'nobody')}`; }

  @expose({ 'error_page.404': () => 'the page of its own config' })
  configured() { throw new NotFound(); }

  notExposed() { return 'never'; }
}

test('@expose without parentheses exposes the method, as in CherryPy', async (t) => {
  const server = await start(t, new BareRoot());
  assert.equal((await get(server.url + '/')).text, 'bare index');
  assert.equal((await get(server.url + '/hello?name=Ada')).text, 'hello Ada');
  assert.equal((await get(server.url + '/configured')).text, 'the page of its own config');
  assert.equal((await get(server.url + '/notExposed')).status, 404);
});

class PlainBase {
  inherited() { return 'from an unexposed base'; }
}

@expose
class Catalog extends PlainBase {
  static _cp_config: Config = { 'error_page.404': () => 'catalog 404' };
  calls = 0;

  index() { return 'catalog index'; }
  item({ params }: Context) { return `item ${String(params.id ?? '?')}`; }
  _internal() { return 'private'; }
  get expensive() { this.calls++; return () => 'a getter is not a page'; }

  @expose({ 'error_page.404': () => 'its own page' })
  special() { throw new NotFound(); }
}

@expose()
class Shelf {
  list() { return 'shelf list'; }
}

test('@expose on a class exposes its own public methods; _names, getters and inherited methods stay out', async (t) => {
  const catalog = new Catalog();
  const server = await start(t, { catalog, shelf: new Shelf(), index: exposed(() => 'root') });
  assert.equal(catalog.calls, 0, 'start-up never runs a getter');
  assert.equal((await get(server.url + '/catalog/')).text, 'catalog index');
  assert.equal((await get(server.url + '/catalog/item?id=7')).text, 'item 7');
  assert.equal((await get(server.url + '/shelf/list')).text, 'shelf list');
  for (const path of ['/catalog/_internal', '/catalog/expensive', '/catalog/inherited', '/catalog/constructor']) {
    const res = await get(server.url + path);
    assert.equal(res.status, 404, path);
    assert.equal(res.text, 'catalog 404', path);
  }
  // A method with its own @expose(config) keeps that config.
  assert.equal((await get(server.url + '/catalog/special')).text, 'its own page');
});

test('start-up validation sees the config of a method exposed on an exposed class', () => {
  @expose
  class Broken {
    @expose({ 'tools.no_such_tool.on': true })
    page() { return 'x'; }
  }
  assert.throws(() => new App({ broken: new Broken() }), coded('DRUPE_ERR_CONFIG_KEY', 'the config of handler /broken/page', 'no_such_tool'));
});

test('@expose(config) on a class is refused: class config goes in static _cp_config', () => {
  assert.throws(() => {
    @expose({ 'response.stream': true })
    class Streamy { feed() { return 'x'; } }
    return Streamy;
  }, coded('DRUPE_ERR_CONFIG_VALUE', 'class Streamy', 'static _cp_config'));
  // An empty config is the same as @expose().
  @expose({})
  class Fine { page() { return 'fine'; } }
  assert.ok(new Fine());
});

test('a legacy-decorator call of @expose says what to do instead of exposing nothing', () => {
  const legacy = expose as unknown as (target: object, key: string, desc: PropertyDescriptor) => void;
  const proto = { page() { return 'x'; } };
  assert.throws(() => legacy(proto, 'page', Object.getOwnPropertyDescriptor(proto, 'page')!),
    coded('DRUPE_ERR_CONFIG_VALUE', 'page', 'experimentalDecorators'));
  const legacyInner = expose() as unknown as (target: object, key: string, desc: PropertyDescriptor) => void;
  assert.throws(() => legacyInner(proto, 'page', Object.getOwnPropertyDescriptor(proto, 'page')!),
    coded('DRUPE_ERR_CONFIG_VALUE', 'page', 'experimentalDecorators'));
});

// ---------------------------------------------------------------------------
// quickstart(root, '/', config)

/**
 * Run quickstart with stdout captured. Its signal handlers (engine.signals()) come off with the
 * returned server's close() after the test, checked there (never send a signal).
 */
async function quickstartQuietly(t: { after(fn: () => unknown): void }, run: () => Promise<Awaited<ReturnType<typeof quickstart>>>): Promise<{ server: Awaited<ReturnType<typeof quickstart>>; printed: string }> {
  const before = { int: process.listeners('SIGINT'), term: process.listeners('SIGTERM') };
  const printed: string[] = [];
  const write = process.stdout.write;
  process.stdout.write = ((chunk: string | Uint8Array) => { printed.push(String(chunk)); return true; }) as typeof process.stdout.write;
  try {
    const server = await run();
    t.after(async () => {
      await server.close();
      assert.deepEqual(process.listeners('SIGINT'), before.int, 'close() removed the SIGINT handler');
      assert.deepEqual(process.listeners('SIGTERM'), before.term, 'close() removed the SIGTERM handler');
    });
    return { server, printed: printed.join('') };
  } finally {
    process.stdout.write = write;
  }
}

test("quickstart(root, '/', config) in CherryPy's order serves; a 'global' section is the server-wide config", async (t) => {
  const root = { index: exposed(() => 'quick'), missing: exposed(() => { throw new NotFound(); }) };
  const { server, printed } = await quickstartQuietly(t, () => quickstart(root, '/', {
    global: { environment: 'test', 'server.socket_host': '127.0.0.1', 'server.socket_port': 0, 'response.headers.server': 'QuickShop' },
    '/': { 'error_page.404': () => 'quick 404' },
  }));
  assert.ok(printed.includes(server.url), printed);
  assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  const res = await get(server.url + '/');
  assert.equal(res.text, 'quick');
  assert.equal(res.headers.get('server'), 'QuickShop');
  assert.equal((await get(server.url + '/missing')).text, 'quick 404');
});

test("quickstart(root, '', config, options) works too, options.config over the 'global' section", async (t) => {
  const { server } = await quickstartQuietly(t, () => quickstart({ index: exposed(() => 'empty script name') }, '', {
    global: { 'response.headers.server': 'FromGlobalSection' },
  }, { host: '127.0.0.1', port: 0, config: { environment: 'test', 'response.headers.server': 'FromOptions' } }));
  const res = await get(server.url + '/');
  assert.equal(res.text, 'empty script name');
  assert.equal(res.headers.get('server'), 'FromOptions');
});

test('quickstart with a malformed script name says what it expects, before listening', async () => {
  const before = process.listeners('SIGINT').length;
  await assert.rejects(quickstart({ index: exposed(() => 'x') }, 'blog/', {}, { host: '127.0.0.1', port: 0, config: { environment: 'test' } }),
    coded('DRUPE_ERR_CONFIG_VALUE', '"blog/"', "start with '/'"));
  assert.equal(process.listeners('SIGINT').length, before, 'no signal handler left behind');
});
