// Every option of every tool is checked when the App is built or configured
// (issue 13 part 4): a value the tool's `prepare` refuses fails `new App` or
// `serve()` with DRUPE_ERR_CONFIG_VALUE naming where it was given, the key
// and the value — it never reaches a request.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { App, DrupeError, defineTool, expose, exposed, serve, type Config } from '../src/index.js';

/** `fn` throws a start-up config error whose message names every one of `mentions`. */
function refuses(fn: () => unknown, ...mentions: string[]): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof DrupeError, `a DrupeError, got ${String(err)}`);
    assert.equal(err.code, 'DRUPE_ERR_CONFIG_VALUE', err.message);
    for (const m of mentions) assert.ok(err.message.includes(m), `${JSON.stringify(err.message)} names ${m}`);
    return true;
  });
}

const root = (): object => ({ index: exposed(() => 'home'), page: exposed(() => 'page'), sub: { index: exposed(() => 'sub') } });

/** One bad value per built-in tool option that has a constraint beyond its type: [key, value, what the message shows of the value]. */
const BAD: Array<[key: string, value: unknown, shown: string]> = [
  ['tools.gzip.level', 42, '42'],
  ['tools.gzip.brotli_quality', 12, '12'],
  ['tools.gzip.min_size', -1, '-1'],
  ['tools.gzip.encodings', ['zip'], '["zip"]'],
  ['tools.proxy.trusted', ['localhost'], '"localhost"'],
  ['tools.proxy.trusted', ['10.0.0.0/33'], '"10.0.0.0/33"'],
  ['tools.proxy.base', 'ftp://example.com', '"ftp://example.com"'],
  ['tools.proxy.remote', 'X Forwarded', '"X Forwarded"'],
  ['tools.expires.secs', -1, '-1'],
  ['tools.cors.origins', ['https://app.example/path'], '"https://app.example/path"'],
  ['tools.cors.origins', ['app.example'], '"app.example"'],
  ['tools.cors.max_age', 1.5, '1.5'],
  ['tools.cors.methods', ['GET POST'], '["GET POST"]'],
  ['tools.allow.methods', ['GET', 'NOT A METHOD'], '["GET","NOT A METHOD"]'],
  ['tools.auth_basic.checkpassword', 'letmein', '"letmein"'],
  ['tools.auth_basic.users', { ann: 5 }, '5'],
  ['tools.auth_basic.realm', 'two\nlines', '"two\\nlines"'],
  ['tools.json_in.content_type', ['json'], '["json"]'],
  ['tools.json_out.content_type', 'text/plain\r\nX-Evil: 1', '"text/plain\\r\\nX-Evil: 1"'],
  ['tools.response_headers.headers', { 'Bad Name': 'x' }, '{"Bad Name":"x"}'],
  ['tools.response_headers.headers', { 'X-Split': 'a\r\nb' }, '{"X-Split":"a\\r\\nb"}'],
  ['tools.trailing_slash.status', 200, '200'],
  ['tools.staticdir.match', '(', '"("'],
  ['tools.staticdir.content_types', { md: 5 }, '5'],
  ['tools.staticfile.match', '[a-', '"[a-"'],
  ['tools.staticfile.content_types', { txt: 'text/plain\n' }, '"text/plain\\n"'],
];

test('a value a built-in tool refuses fails new App() in a path section, naming the section, the key and the value', () => {
  const tools = new Set<string>();
  for (const [key, value, shown] of BAD) {
    tools.add(key.split('.')[1]!);
    refuses(() => new App(root(), { '/sub': { [key]: value } as Config }), `'${key}'`, "section '/sub'", shown, 'expected');
  }
  // Every built-in tool with a constrained option is covered (etags takes a boolean only).
  assert.deepEqual([...tools].sort(), ['allow', 'auth_basic', 'cors', 'expires', 'gzip', 'json_in', 'json_out', 'proxy', 'response_headers', 'staticdir', 'staticfile', 'trailing_slash']);
});

test('...in a class _cp_config and in a handler config, naming which', () => {
  class Shop {
    static _cp_config: Config = { 'tools.proxy.trusted': ['localhost'] };
    @expose() index(): string { return 'shop'; }
  }
  refuses(() => new App({ shop: new Shop() }), "'tools.proxy.trusted'", '_cp_config of /shop', '"localhost"');
  const handler = exposed(() => 'x', { 'tools.expires.secs': -3 });
  refuses(() => new App({ cache: { page: handler } }), "'tools.expires.secs'", 'the config of handler /cache/page', '-3');
});

test('...in the global config given to serve() (or app.configure), and nothing listens; the app still starts with good config', async () => {
  const app = new App(root());
  await assert.rejects(serve(app, { host: '127.0.0.1', port: 0, config: { environment: 'test', 'tools.gzip.level': 42 } }), (err: unknown) => {
    assert.ok(err instanceof DrupeError);
    assert.equal(err.code, 'DRUPE_ERR_CONFIG_VALUE');
    assert.equal(err.message, "Config key 'tools.gzip.level' in global config: expected an integer -1 … 9, got 42");
    return true;
  });
  refuses(() => app.configure({ 'tools.cors.origins': ['https://ok.example', 'https://bad.example/'] }), "'tools.cors.origins'", 'global config', '"https://bad.example/"');
  const running = await serve(app, { host: '127.0.0.1', port: 0, config: { environment: 'test', 'tools.gzip.level': 9 } });
  try {
    assert.equal(await (await fetch(running.url + '/page')).text(), 'page');
  } finally {
    await running.close();
  }
});

test('good values pass, whatever the section; options are checked even where the tool is not switched on', () => {
  assert.ok(new App(root(), {
    '/': { 'tools.gzip.level': -1, 'tools.cors.origins': ['*', 'https://APP.example:443', 'chrome-extension://abc', 'null'], 'tools.proxy.trusted': ['::ffff:10.0.0.1', '10.0.0.0/8'] },
    '/sub': { 'tools.expires.secs': 0.5, 'tools.staticdir.match': '\\.css$', 'tools.staticdir.content_types': { '.MD': 'text/markdown; charset=utf-8' } },
  }));
  refuses(() => new App(root(), { '/sub': { 'tools.gzip.on': false, 'tools.gzip.level': 10 } }), "'tools.gzip.level'");
});

test("a tool's prepare sees a section's options over the global config's: a refusal that needs both names the section", async () => {
  defineTool({
    name: 'startup_range',
    point: 'before_handler',
    defaults: { min: 0, max: 10 },
    prepare({ min, max }) {
      if (min > max) throw new Error(`tools.startup_range.min: expected at most max (${max}), got ${min}`);
      return { span: max - min };
    },
    run({ response }, { span }) { response.headers.set('X-Span', span); },
  });
  const app = new App(root(), { '/sub': { 'tools.startup_range.on': true, 'tools.startup_range.min': 8 } });
  refuses(() => app.configure({ 'tools.startup_range.max': 5 }), "Config key 'tools.startup_range.min' in section '/sub'", 'got 8');
  app.configure({ 'tools.startup_range.max': 50 });
  const running = await serve(app, { host: '127.0.0.1', port: 0, config: { environment: 'test', 'tools.startup_range.max': 20 } });
  try {
    assert.equal((await fetch(running.url + '/sub/')).headers.get('x-span'), '12');
  } finally {
    await running.close();
  }
});
