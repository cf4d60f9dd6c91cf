// Config over real sockets: precedence (global → '/' → class _cp_config →
// deeper path sections → handler config, deeper wins), sections under a
// default handler, and validation at start-up with the key named.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { App, DrupeError, HTTPError, NotFound, defineTool, expose, exposed, serve, type Config, type Context, type ErrorPageInfo } from '../src/index.js';
import type { ParsedResponse } from '../src/testing.js';
import { one } from './helpers/http.js';
import { startApp, get } from './helpers/server.js';

/** Config a test means to be wrong: the type system would (rightly) refuse most of it. */
const bad = (o: Record<string, unknown>): Config => o as Config;

const page = (label: string) => (info: ErrorPageInfo): string => `${label} ${info.status}`;

// ---------------------------------------------------------------------------
// Precedence

class Leaf {
  @expose()
  missing() { throw new NotFound(); }
}

class Middle {
  static _cp_config: Config = { 'error_page.404': page('class Middle') };
  leaf = new Leaf();

  @expose()
  missing() { throw new NotFound(); }

  @expose({ 'error_page.404': page('handler') })
  own() { throw new NotFound(); }
}

class PrecedenceRoot {
  middle = new Middle();
  other = { missing: exposed(() => { throw new NotFound(); }) };

  @expose()
  missing() { throw new NotFound(); }
}

test('precedence: global config is the floor', async (t) => {
  const server = await startApp(new PrecedenceRoot(), {}, { 'error_page.404': page('global') });
  t.after(() => server.close());
  assert.equal((await get(server.url + '/missing')).text, 'global 404');
  assert.equal((await get(server.url + '/nowhere')).text, 'global 404');
  assert.equal((await get(server.url + '/other/missing')).text, 'global 404');
});

test("precedence: the app's '/' section beats global config", async (t) => {
  const server = await startApp(new PrecedenceRoot(), { '/': { 'error_page.404': page('app') } }, { 'error_page.404': page('global') });
  t.after(() => server.close());
  assert.equal((await get(server.url + '/missing')).text, 'app 404');
  assert.equal((await get(server.url + '/other/missing')).text, 'app 404');
  assert.equal((await get(server.url + '/nowhere/at/all')).text, 'app 404');
});

test("precedence: a class's _cp_config beats '/' for its subtree only", async (t) => {
  const server = await startApp(new PrecedenceRoot(), { '/': { 'error_page.404': page('app') } }, { 'error_page.404': page('global') });
  t.after(() => server.close());
  assert.equal((await get(server.url + '/middle/missing')).text, 'class Middle 404');
  assert.equal((await get(server.url + '/middle/leaf/missing')).text, 'class Middle 404');
  // No handler under the node: the node's config still applies to its 404.
  assert.equal((await get(server.url + '/middle/nothing-here')).text, 'class Middle 404');
  assert.equal((await get(server.url + '/missing')).text, 'app 404');
  assert.equal((await get(server.url + '/other/missing')).text, 'app 404');
});

test('precedence: a deeper path section beats a shallower class config', async (t) => {
  const server = await startApp(new PrecedenceRoot(), {
    '/': { 'error_page.404': page('app') },
    '/middle/leaf': { 'error_page.404': page('section /middle/leaf') },
  });
  t.after(() => server.close());
  assert.equal((await get(server.url + '/middle/leaf/missing')).text, 'section /middle/leaf 404');
  assert.equal((await get(server.url + '/middle/missing')).text, 'class Middle 404');
});

test('precedence: at one path, the section beats the class config there (CherryPy order)', async (t) => {
  const server = await startApp(new PrecedenceRoot(), { '/middle': { 'error_page.404': page('section /middle') } });
  t.after(() => server.close());
  assert.equal((await get(server.url + '/middle/missing')).text, 'section /middle 404');
  assert.equal((await get(server.url + '/middle/leaf/missing')).text, 'section /middle 404');
});

test('precedence: a deeper class config beats a shallower section', async (t) => {
  class Inner {
    static _cp_config: Config = { 'error_page.404': page('class Inner') };
    @expose() missing() { throw new NotFound(); }
  }
  const root = { outer: { inner: new Inner(), missing: exposed(() => { throw new NotFound(); }) } };
  const server = await startApp(root, { '/outer': { 'error_page.404': page('section /outer') } });
  t.after(() => server.close());
  assert.equal((await get(server.url + '/outer/inner/missing')).text, 'class Inner 404');
  assert.equal((await get(server.url + '/outer/missing')).text, 'section /outer 404');
});

test('precedence: handler config beats everything, at any depth of section', async (t) => {
  const server = await startApp(new PrecedenceRoot(), {
    '/': { 'error_page.404': page('app') },
    '/middle': { 'error_page.404': page('section /middle') },
    '/middle/own': { 'error_page.404': page('section /middle/own') },
  }, { 'error_page.404': page('global') });
  t.after(() => server.close());
  assert.equal((await get(server.url + '/middle/own')).text, 'handler 404');
  assert.equal((await get(server.url + '/middle/missing')).text, 'section /middle 404');
});

test('an instance _cp_config works like the class one, and overrides it', async (t) => {
  const middle = new Middle();
  (middle as unknown as { _cp_config: Config })._cp_config = { 'error_page.404': page('instance') };
  const root = { middle, plain: new Middle() };
  const server = await startApp(root);
  t.after(() => server.close());
  assert.equal((await get(server.url + '/middle/missing')).text, 'instance 404');
  assert.equal((await get(server.url + '/plain/missing')).text, 'class Middle 404');
});

test('precedence seen through response.stream: framing follows the deepest level that sets it', async (t) => {
  const gen = function* (): Generator<string> { yield 'a'; yield 'b'; };
  class Feeds {
    static _cp_config: Config = { 'response.stream': false };
    @expose() feed() { return gen(); }
    @expose({ 'response.stream': true }) live() { return gen(); }
  }
  const root = { feed: exposed(() => gen()), feeds: new Feeds(), sub: { feed: exposed(() => gen()) } };
  const server = await startApp(root, { '/sub': { 'response.stream': false } }, { 'response.stream': true });
  t.after(() => server.close());
  const streamed = (r: ParsedResponse): boolean => r.headers['transfer-encoding'] === 'chunked' && r.headers['content-length'] === undefined;
  const buffered = (r: ParsedResponse): boolean => r.headers['content-length'] === '2' && r.headers['transfer-encoding'] === undefined;
  const top = await one(server.port, 'GET', '/feed'); // global: streamed
  assert.ok(streamed(top), top.head);
  assert.equal(top.body.toString(), 'ab');
  const sub = await one(server.port, 'GET', '/sub/feed'); // section: buffered
  assert.ok(buffered(sub), sub.head);
  const cls = await one(server.port, 'GET', '/feeds/feed'); // class: buffered
  assert.ok(buffered(cls), cls.head);
  const live = await one(server.port, 'GET', '/feeds/live'); // handler: streamed
  assert.ok(streamed(live), live.head);
  assert.equal(live.body.toString(), 'ab');
});

test('precedence seen through request.show_tracebacks', async (t) => {
  const boom = (): never => { throw new Error('kaboom-detail'); };
  class Quiet {
    static _cp_config: Config = { 'request.show_tracebacks': false };
    @expose() fail() { boom(); }
    @expose({ 'request.show_tracebacks': true }) loud() { boom(); }
  }
  const root = { fail: exposed(boom), quiet: new Quiet(), debug: { fail: exposed(boom) } };
  const server = await startApp(root, { '/debug': { 'request.show_tracebacks': true } }, { 'request.show_tracebacks': false });
  t.after(() => server.close());
  const shows = async (path: string): Promise<boolean> => {
    const res = await get(server.url + path);
    assert.equal(res.status, 500, path);
    return res.text.includes('kaboom-detail');
  };
  assert.equal(await shows('/fail'), false);
  assert.equal(await shows('/debug/fail'), true);
  assert.equal(await shows('/quiet/fail'), false);
  assert.equal(await shows('/quiet/loud'), true);
});

test('error_page.default applies when no error_page.<code> matches, and a code beats it', async (t) => {
  const root = {
    teapot: exposed(() => { throw new HTTPError(418); }),
    gone: exposed(() => { throw new HTTPError(410, 'gone away'); }),
    sub: { gone: exposed(() => { throw new HTTPError(410); }) },
  };
  const server = await startApp(root, {
    '/': { 'error_page.default': page('default'), 'error_page.410': (i: ErrorPageInfo) => `410 page: ${i.message}` },
    '/sub': { 'error_page.410': page('sub') },
  });
  t.after(() => server.close());
  const teapot = await get(server.url + '/teapot');
  assert.equal(teapot.status, 418);
  assert.equal(teapot.text, 'default 418');
  assert.equal((await get(server.url + '/gone')).text, '410 page: gone away');
  assert.equal((await get(server.url + '/sub/gone')).text, 'sub 410');
});

// ---------------------------------------------------------------------------
// Path sections under a default handler

class Blog {
  @expose()
  index() { return 'blog'; }

  @expose()
  default({ args }: Context) {
    if (args.at(-1) === 'missing') throw new NotFound();
    return (function* () { yield 'archive '; yield args.join('/'); })();
  }
}

test('path sections apply to subpaths a default handler serves', async (t) => {
  const server = await startApp({ blog: new Blog() }, {
    '/blog': { 'error_page.404': page('blog section') },
    '/blog/2024': { 'response.stream': true, 'error_page.404': page('2024 section') },
    '/blog/2024/05/': { 'hooks.before_finalize': ({ response }: Context) => { response.headers.set('X-Month', 'may') } },
  });
  t.after(() => server.close());
  const y2024 = await one(server.port, 'GET', '/blog/2024/05');
  assert.equal(y2024.body.toString(), 'archive 2024/05');
  assert.equal(y2024.headers['transfer-encoding'], 'chunked');
  assert.equal(y2024.headers['x-month'], 'may');
  const deeper = await one(server.port, 'GET', '/blog/2024/05/17');
  assert.equal(deeper.headers['transfer-encoding'], 'chunked');
  assert.equal(deeper.headers['x-month'], 'may');
  const april = await one(server.port, 'GET', '/blog/2024/04');
  assert.equal(april.headers['transfer-encoding'], 'chunked');
  assert.equal(april.headers['x-month'], undefined);
  const y2023 = await one(server.port, 'GET', '/blog/2023/05');
  assert.equal(y2023.body.toString(), 'archive 2023/05');
  assert.equal(y2023.headers['content-length'], String('archive 2023/05'.length));
  assert.equal(y2023.headers['x-month'], undefined);
  assert.equal((await get(server.url + '/blog/2024/missing')).text, '2024 section 404');
  assert.equal((await get(server.url + '/blog/2023/missing')).text, 'blog section 404');
});

test('a section key with percent-encoding matches the decoded segment, an encoded slash only its own spelling', async (t) => {
  const root = { default: exposed(({ args }: Context) => `default ${JSON.stringify(args)}`) };
  const server = await startApp(root, {
    '/a b': { 'hooks.before_finalize': ({ response }: Context) => { response.headers.set('X-Section', 'a b') } },
    '/x%2Fy': { 'hooks.before_finalize': ({ response }: Context) => { response.headers.set('X-Section', 'x%2Fy') } },
    '/x/y': { 'hooks.before_finalize': ({ response }: Context) => { response.headers.set('X-Section', 'x/y') } },
  });
  t.after(() => server.close());
  assert.equal((await one(server.port, 'GET', '/a%20b/c')).headers['x-section'], 'a b');
  assert.equal((await one(server.port, 'GET', '/x/y/z')).headers['x-section'], 'x/y');
  const encoded = await one(server.port, 'GET', '/x%2Fy/z');
  assert.equal(encoded.body.toString(), 'default ["x/y","z"]');
  assert.equal(encoded.headers['x-section'], 'x%2Fy');
});

// ---------------------------------------------------------------------------
// Validation at start-up

function throwsConfig(fn: () => unknown, ...mentions: Array<string | RegExp>): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof DrupeError, `a DrupeError, got ${String(err)}`);
    assert.match(err.code, /^DRUPE_ERR_CONFIG_/);
    for (const m of mentions) {
      if (typeof m === 'string') assert.ok(err.message.includes(m), `message ${JSON.stringify(err.message)} names ${m}`);
      else assert.match(err.message, m);
    }
    return true;
  });
}

const tree = (): object => ({ index: exposed(() => 'hi') });

test("a misspelled key fails at new App(), naming it and suggesting 'response.stream'", () => {
  throwsConfig(() => new App(tree(), { '/': bad({ 'response.steam': true }) }), "'response.steam'", "'response.stream'", "'/'");
  throwsConfig(() => new App(tree(), { '/blog': bad({ 'request.show_traceback': true }) }), "'request.show_traceback'", "'request.show_tracebacks'", "'/blog'");
});

test('the Config type refuses a misspelled key at compile time', () => {
  // @ts-expect-error 'response.steam' is not a config key
  const c: Config = { 'response.steam': true };
  assert.throws(() => new App(tree(), { '/': c }), DrupeError);
});

test('an unknown namespace fails at new App(), naming the key', () => {
  throwsConfig(() => new App(tree(), { '/': bad({ 'foo.bar': 1 }) }), "'foo.bar'", "'foo'");
  throwsConfig(() => new App(tree(), { '/': bad({ nonsense: true }) }), "'nonsense'");
});

test('an unknown tool, or an unknown option of a known tool, fails at new App()', () => {
  throwsConfig(() => new App(tree(), { '/': bad({ 'tools.nope.on': true }) }), "'tools.nope.on'", "'nope'");
  throwsConfig(() => new App(tree(), { '/': bad({ 'tools.trailing_slash.nope': 1 }) }), "'tools.trailing_slash.nope'", "'nope'");
  throwsConfig(() => new App(tree(), { '/': bad({ 'tools.trailing_slash': true }) }), "'tools.trailing_slash'");
  defineTool({ name: 'config_test_tool', point: 'before_handler', defaults: { level: 1 }, run() { /* nothing */ } });
  throwsConfig(() => new App(tree(), { '/': bad({ 'tools.config_test_tool.levle': 2 }) }), "'tools.config_test_tool.levle'", 'level');
  assert.ok(new App(tree(), { '/': { 'tools.config_test_tool.on': true, 'tools.config_test_tool.level': 2 } }));
});

test('a value of the wrong type fails at new App(), naming the key', () => {
  throwsConfig(() => new App(tree(), { '/': bad({ 'response.stream': 'yes' }) }), "'response.stream'", 'boolean');
  throwsConfig(() => new App(tree(), { '/': bad({ 'request.show_tracebacks': 1 }) }), "'request.show_tracebacks'");
  throwsConfig(() => new App(tree(), { '/': bad({ 'server.max_request_body_size': -1 }) }), "'server.max_request_body_size'");
  throwsConfig(() => new App(tree(), { '/': bad({ 'server.max_request_body_size': '10MB' }) }), "'server.max_request_body_size'");
  throwsConfig(() => new App(tree(), { '/': bad({ 'tools.trailing_slash.on': 'true' }) }), "'tools.trailing_slash.on'");
  throwsConfig(() => new App(tree(), { '/': bad({ 'tools.trailing_slash.status': '301' }) }), "'tools.trailing_slash.status'");
  throwsConfig(() => new App(tree(), { '/': bad({ 'request.dispatch': {} }) }), "'request.dispatch'");
  throwsConfig(() => new App(tree(), { '/': bad({ 'error_page.404': 404 }) }), "'error_page.404'");
  throwsConfig(() => new App(tree(), { '/': bad({ 'hooks.before_handler': 'log' }) }), "'hooks.before_handler'");
  throwsConfig(() => new App(tree(), { '/': bad({ 'hooks.before_handler': [() => undefined, { priority: 1 }] }) }), "'hooks.before_handler'");
});

test('response.headers.server is checked at new App(): a string of printable ASCII, and the only response.headers key', () => {
  throwsConfig(() => new App(tree(), { '/': bad({ 'response.headers.server': 'a\r\nX-Injected: 1' }) }), "'response.headers.server'", 'printable ASCII');
  throwsConfig(() => new App(tree(), { '/': bad({ 'response.headers.server': 1 }) }), "'response.headers.server'");
  throwsConfig(() => new App(tree(), { '/': bad({ 'response.headers.server': null }) }), "'response.headers.server'");
  throwsConfig(() => new App(tree(), { '/': bad({ 'response.headers.x-frame-options': 'DENY' }) }), "'response.headers.x-frame-options'", 'tools.response_headers');
  assert.ok(new App(tree(), { '/': { 'response.headers.server': 'Example/1.0 (test)' } }));
});

test('a server-wide key in a section fails at new App()', () => {
  throwsConfig(() => new App(tree(), { '/': bad({ 'server.socket_port': 8080 }) }), "'server.socket_port'", 'serve');
  throwsConfig(() => new App(tree(), { '/api': bad({ environment: 'production' }) }), "'environment'");
  throwsConfig(() => new App(tree(), { '/': bad({ 'log.access_file': '/tmp/x.log' }) }), "'log.access_file'");
});

test('a bad hooks.<point> or error_page.<code> fails at new App()', () => {
  throwsConfig(() => new App(tree(), { '/': bad({ 'hooks.before_everything': () => undefined }) }), "'hooks.before_everything'", 'before_handler');
  throwsConfig(() => new App(tree(), { '/': bad({ 'hooks.on_end_resource_': () => undefined }) }), "'hooks.on_end_resource_'");
  throwsConfig(() => new App(tree(), { '/': bad({ 'error_page.200': 'x.html' }) }), "'error_page.200'");
  throwsConfig(() => new App(tree(), { '/': bad({ 'error_page.abc': 'x.html' }) }), "'error_page.abc'");
  throwsConfig(() => new App(tree(), { '/': bad({ 'error_page.4044': 'x.html' }) }), "'error_page.4044'");
  throwsConfig(() => new App(tree(), { '/': bad({ 'error_page.': 'x.html' }) }), "'error_page.'");
  // The good spellings pass (a page file must exist: this test file is one).
  assert.ok(new App(tree(), { '/': { 'error_page.404': fileURLToPath(import.meta.url), 'error_page.default': page('d'), 'hooks.before_handler': { run: () => undefined, priority: 10, failsafe: true } } }));
});

test('a section path must start with /', () => {
  throwsConfig(() => new App(tree(), { blog: {} }), "'blog'");
});

test("a misspelled key in a handler's @expose config fails at new App(), naming key and handler", () => {
  class Deep {
    @expose({ 'respons.stream': true } as Config)
    page() { return 'x'; }
  }
  class Root {
    a = { deep: new Deep() };
    @expose() index() { return 'i'; }
  }
  throwsConfig(() => new App(new Root()), "'respons.stream'", "'response.stream'", '/a/deep/page');
  const fnRoot = { x: { y: exposed(() => 'y', bad({ 'tools.nope.on': true })) } };
  throwsConfig(() => new App(fnRoot), "'tools.nope.on'", '/x/y');
});

test('a misspelled key in a class _cp_config (static or instance) fails at new App()', () => {
  class Admin {
    static _cp_config = bad({ 'error_pages.404': 'x.html' });
    @expose() index() { return 'admin'; }
  }
  throwsConfig(() => new App({ admin: new Admin(), index: exposed(() => 'i') }), "'error_pages.404'", '/admin');
  const inst = { _cp_config: bad({ 'response.stream': 'no' }), index: exposed(() => 'i') };
  throwsConfig(() => new App({ sub: inst }), "'response.stream'", '/sub');
  class RootCfg {
    static _cp_config = bad({ 'server.socket_port': 1 });
    @expose() index() { return 'i'; }
  }
  throwsConfig(() => new App(new RootCfg()), "'server.socket_port'");
});

test('validation does not run getters and tolerates cycles in the tree', () => {
  let touched = false;
  const root: Record<string, unknown> = { index: exposed(() => 'i') };
  root.self = root;
  Object.defineProperty(root, 'lazy', { enumerable: true, get() { touched = true; return {}; } });
  assert.ok(new App(root));
  assert.equal(touched, false);
});

test('global config is validated at serve(), with the key named, and nothing listens', async () => {
  const app = new App(tree());
  const rejectsConfig = async (config: Config, ...mentions: string[]): Promise<void> => {
    await assert.rejects(serve(app, { host: '127.0.0.1', port: 0, config: { environment: 'test', ...config } }), (err: unknown) => {
      assert.ok(err instanceof DrupeError, String(err));
      for (const m of mentions) assert.ok(err.message.includes(m), `${err.message} names ${m}`);
      return true;
    });
  };
  await rejectsConfig(bad({ 'response.steam': true }), "'response.steam'", "'response.stream'", 'global');
  await rejectsConfig(bad({ 'foo.bar': 1 }), "'foo.bar'");
  await rejectsConfig(bad({ 'server.socket_port': 'eighty' }), "'server.socket_port'");
  await rejectsConfig(bad({ 'server.socket_port': 70000 }), "'server.socket_port'");
  await rejectsConfig(bad({ environment: 'staging' }), "'environment'");
  await rejectsConfig(bad({ 'tools.nope.on': true }), "'tools.nope.on'");
  // The same app still starts with good config afterwards.
  const running = await serve(app, { host: '127.0.0.1', port: 0, config: { environment: 'test' } });
  try {
    assert.equal((await get(running.url + '/')).text, 'hi');
  } finally {
    await running.close();
  }
});

test('global-only keys are accepted in the global config', async (t) => {
  const app = new App(tree());
  const running = await serve(app, { host: '127.0.0.1', port: 0, config: { environment: 'test', 'server.socket_host': '127.0.0.1', 'server.max_header_size': 16384, 'log.screen': false } });
  t.after(() => running.close());
  assert.equal((await get(running.url + '/')).text, 'hi');
});
