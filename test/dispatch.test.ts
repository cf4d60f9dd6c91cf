// Dispatch over real sockets: the object tree, index/default, segment names,
// what may never dispatch, tools.trailing_slash, MethodDispatcher,
// `_cp_dispatch`, and the per-path plan cache.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HTTPError, MethodDispatcher, expose, exposed, type Config, type Context } from '../src/index.js';
import { rawRequest } from '../src/testing.js';
import { one } from './helpers/http.js';
import { startApp, get, type TestServer } from './helpers/server.js';

// ---------------------------------------------------------------------------
// The object tree

class Leaf {
  @expose()
  index() { return 'leaf index'; }

  @expose()
  page() { return 'leaf page'; }
}

class Branch {
  leaf = new Leaf();
  label = 'branch';

  @expose()
  index() { return `${this.label} index`; }

  @expose()
  hello({ params }: Context) { return `hello ${String(params.name ?? 'nobody')}`; }

  @expose()
  my_page_html() { return 'my page html'; }
}

class TreeRoot {
  branch = new Branch();
  plain = { inner: exposed(() => 'plain object inner') };

  @expose()
  index() { return 'root index'; }

  @expose()
  about() { return 'about page'; }
}

test('object tree: attributes are segments, nested classes and plain objects', async (t) => {
  const server = await startApp(new TreeRoot());
  t.after(() => server.close());
  const cases: Array<[string, string]> = [
    ['/', 'root index'],
    ['/about', 'about page'],
    ['/branch/', 'branch index'],
    ['/branch/hello?name=Ann', 'hello Ann'],
    ['/branch/leaf/', 'leaf index'],
    ['/branch/leaf/page', 'leaf page'],
    ['/plain/inner', 'plain object inner'],
  ];
  for (const [path, body] of cases) {
    const res = await get(server.url + path);
    assert.equal(res.status, 200, path);
    assert.equal(res.text, body, path);
  }
});

test('the handler runs with `this` bound to the object it lives on', async (t) => {
  const root = new TreeRoot();
  root.branch.label = 'relabelled';
  const server = await startApp(root);
  t.after(() => server.close());
  assert.equal((await get(server.url + '/branch/')).text, 'relabelled index');
});

test('`index` answers at a trailing slash, the root included', async (t) => {
  const server = await startApp(new TreeRoot());
  t.after(() => server.close());
  assert.equal((await one(server.port, 'GET', '/')).body.toString(), 'root index');
  assert.equal((await one(server.port, 'GET', '/branch/')).body.toString(), 'branch index');
  assert.equal((await one(server.port, 'GET', '/branch/leaf/')).body.toString(), 'leaf index');
});

test('a missing attribute, or a path past a handler with no default, is a 404', async (t) => {
  const server = await startApp(new TreeRoot());
  t.after(() => server.close());
  for (const path of ['/nope', '/branch/nope', '/about/extra', '/branch/leaf/page/more', '/plain/', '/plain/missing']) {
    assert.equal((await one(server.port, 'GET', path)).status, 404, path);
  }
});

// ---------------------------------------------------------------------------
// default

class Archive {
  @expose()
  index() { return 'archive index'; }

  @expose()
  default({ args }: Context) { return `archive default ${JSON.stringify(args)}`; }
}

class Docs {
  @expose()
  page() { return 'docs page'; }
  // no default: the root's catches what Docs cannot answer
}

class DefaultRoot {
  archive = new Archive();
  docs = new Docs();

  @expose()
  index() { return 'root index'; }

  @expose()
  default({ args }: Context) { return `root default ${JSON.stringify(args)}`; }
}

test('`default` on the nearest ancestor takes the remaining segments as args', async (t) => {
  const server = await startApp(new DefaultRoot());
  t.after(() => server.close());
  const cases: Array<[string, string]> = [
    ['/archive/2024/05', 'archive default ["2024","05"]'],
    ['/archive/x', 'archive default ["x"]'],
    ['/archive/', 'archive index'],
    ['/docs/page', 'docs page'],
    ['/docs/other/deeper', 'root default ["docs","other","deeper"]'],
    ['/anything', 'root default ["anything"]'],
    ['/a/b/c/d', 'root default ["a","b","c","d"]'],
  ];
  for (const [path, body] of cases) {
    const res = await one(server.port, 'GET', path);
    assert.equal(res.status, 200, path);
    assert.equal(res.body.toString(), body, path);
  }
});

test('default args are percent-decoded, and %2F stays inside one argument', async (t) => {
  const server = await startApp(new DefaultRoot());
  t.after(() => server.close());
  const cases: Array<[string, string[]]> = [
    ['/archive/hello%20world/caf%C3%A9', ['hello world', 'café']],
    ['/archive/a%2Fb/c', ['a/b', 'c']],
    ['/archive/%2F', ['/']],
    ['/archive/x%252Fy', ['x%2Fy']],
    ['/archive/%3F%23', ['?#']],
  ];
  for (const [path, args] of cases) {
    const res = await one(server.port, 'GET', path);
    assert.equal(res.status, 200, path);
    assert.equal(res.body.toString(), `archive default ${JSON.stringify(args)}`, path);
  }
});

test('an encoded slash never walks the tree: /archive%2Fx is one segment', async (t) => {
  const server = await startApp(new DefaultRoot());
  t.after(() => server.close());
  const res = await one(server.port, 'GET', '/archive%2F2024');
  assert.equal(res.body.toString(), 'root default ["archive/2024"]');
});

test('`.` and `-` in a segment map to `_`', async (t) => {
  const server = await startApp(new TreeRoot());
  t.after(() => server.close());
  for (const path of ['/branch/my-page.html', '/branch/my_page_html', '/branch/my.page-html', '/branch/my-page-html']) {
    const res = await one(server.port, 'GET', path);
    assert.equal(res.status, 200, path);
    assert.equal(res.body.toString(), 'my page html', path);
  }
});

test('default args keep their `.` and `-`', async (t) => {
  const server = await startApp(new DefaultRoot());
  t.after(() => server.close());
  const res = await one(server.port, 'GET', '/archive/my-file.tar.gz');
  assert.equal(res.body.toString(), 'archive default ["my-file.tar.gz"]');
});

// ---------------------------------------------------------------------------
// Only exposed functions dispatch

class Guarded {
  data = 'LEAK: data';
  count = 42;
  nested = { notExposed: () => 'LEAK: nested' };
  _private = exposed(() => 'LEAK: private handler');
  __dunder = exposed(() => 'LEAK: dunder handler');

  @expose()
  index() { return 'guarded index'; }

  @expose()
  ok() { return 'ok'; }

  unexposed() { return 'LEAK: unexposed method'; }

  _hidden() { return 'LEAK: hidden'; }
}

class GuardedRoot {
  guarded = new Guarded();
  _secret = new Guarded();

  @expose()
  index() { return 'root'; }

  @expose()
  a() { return 'unused'; }

  unexposed() { return 'LEAK: unexposed on root'; }
}

test('only exposed functions are reachable; everything else is a 404 that runs nothing', async (t) => {
  const server = await startApp(new GuardedRoot());
  t.after(() => server.close());
  const paths = [
    '/unexposed', '/guarded/unexposed', '/guarded/data', '/guarded/count', '/guarded/nested/notExposed', '/guarded/nested',
    '/guarded/_private', '/guarded/__dunder', '/guarded/_hidden', '/_secret/', '/_secret/ok',
    '/constructor', '/guarded/constructor', '/__proto__', '/guarded/__proto__', '/__proto__/toString',
    '/toString', '/guarded/toString', '/hasOwnProperty', '/valueOf', '/isPrototypeOf', '/propertyIsEnumerable',
    '/toLocaleString', '/__defineGetter__', '/__lookupGetter__',
    '/constructor/constructor', '/index/constructor', '/ok/call', '/guarded/ok/apply', '/guarded/ok/bind', '/guarded/ok/prototype',
    '/guarded/ok/name', '/guarded/ok/length', '/a/toString',
    '/%5Fsecret/ok', '/guarded/%5Fprivate', '/%63onstructor',
  ];
  for (const path of paths) {
    const res = await one(server.port, 'GET', path);
    assert.equal(res.status, 404, `${path} -> ${res.status} ${res.body.toString()}`);
    const body = res.body.toString();
    assert.ok(!body.includes('LEAK') && !body.includes('[native code]') && !body.includes('guarded index'), `${path} leaked: ${body}`);
  }
  // The exposed neighbours still answer.
  assert.equal((await one(server.port, 'GET', '/guarded/ok')).body.toString(), 'ok');
});

test('handlers named like members of Function.prototype (apply, call, bind, name, length) dispatch like any other', async (t) => {
  class Jobs {
    @expose() apply() { return 'apply page'; }
    @expose() call() { return 'call page'; }
    @expose() bind() { return 'bind page'; }
    @expose() name() { return 'name page'; }
    @expose() length() { return 'length page'; }
    @expose() caller() { return 'caller page'; }
    @expose() arguments() { return 'arguments page'; }
  }
  const server = await startApp({ jobs: new Jobs(), index: exposed(() => 'root') });
  t.after(() => server.close());
  for (const name of ['apply', 'call', 'bind', 'name', 'length', 'caller', 'arguments']) {
    const res = await one(server.port, 'GET', `/jobs/${name}`);
    assert.equal(res.status, 200, name);
    assert.equal(res.body.toString(), `${name} page`);
  }
  // ...while the same names on an object that does not define them stay 404s.
  for (const name of ['apply', 'call', 'name', 'length']) assert.equal((await one(server.port, 'GET', `/${name}`)).status, 404, name);
});

test('dot segments and doubled slashes: /index/.. is a 404, //a//b collapses to /a/b', async (t) => {
  const server = await startApp(new TreeRoot());
  t.after(() => server.close());
  for (const path of ['/index/..', '/about/..', '/branch/leaf/page/..', '/..', '/branch/..', '/%2e%2e', '/branch/%2E%2E', '/.', '/branch/.']) {
    const res = await one(server.port, 'GET', path);
    assert.equal(res.status, 404, `${path} -> ${res.status}`);
    assert.ok(!/root index|branch index|leaf index|leaf page|about page/.test(res.body.toString()), path);
  }
  const collapsed: Array<[string, string]> = [
    ['//about', 'about page'],
    ['//branch//hello', 'hello nobody'],
    ['/branch///leaf//page', 'leaf page'],
    ['//branch//leaf//', 'leaf index'],
  ];
  for (const [path, body] of collapsed) {
    const res = await one(server.port, 'GET', path);
    assert.equal(res.status, 200, path);
    assert.equal(res.body.toString(), body, path);
  }
});

test('a section set on a subtree applies however the path spells its slashes', async (t) => {
  const server = await startApp(new TreeRoot(), {
    '/branch': { 'hooks.before_handler': ({ response }: Context) => { response.headers.set('X-Guard', 'branch'); } },
  });
  t.after(() => server.close());
  for (const path of ['/branch/hello', '//branch//hello', '/branch//hello', '//branch/leaf/page']) {
    const res = await one(server.port, 'GET', path);
    assert.equal(res.status, 200, path);
    assert.equal(res.headers['x-guard'], 'branch', path);
  }
  assert.equal((await one(server.port, 'GET', '/about')).headers['x-guard'], undefined);
});

test('a section guarding a subtree applies however `.`, `-` or `_` spell its segments', async (t) => {
  const guard = (): never => { throw new HTTPError(403, 'guarded'); };
  const root = {
    admin_area: { secret: exposed(() => 'LEAK: admin secret') },
    shop_front: { secret: exposed(() => 'LEAK: shop secret') },
  };
  const server = await startApp(root, { '/admin_area': { 'hooks.before_handler': guard }, '/shop-front': { 'hooks.before_handler': guard } });
  t.after(() => server.close());
  for (const path of ['/admin_area/secret', '/admin-area/secret', '/admin.area/secret', '/shop-front/secret', '/shop_front/secret', '/shop.front/secret']) {
    const res = await one(server.port, 'GET', path);
    assert.equal(res.status, 403, `${path} -> ${res.status} ${res.body.toString()}`);
  }
});

// ---------------------------------------------------------------------------
// tools.trailing_slash

/** The redirect off a stray slash is off by default (CherryPy's `extra: False`); these tests switch it on. */
const EXTRA: Config = { 'tools.trailing_slash.extra': true };

test('trailing_slash (on by default): an index without its slash is a 301 to the slashed URL', async (t) => {
  const server = await startApp(new TreeRoot());
  t.after(() => server.close());
  const res = await one(server.port, 'GET', '/branch');
  assert.equal(res.status, 301);
  assert.equal(res.headers.location, `http://127.0.0.1:${server.port}/branch/`);
  const deeper = await one(server.port, 'GET', '/branch/leaf');
  assert.equal(deeper.status, 301);
  assert.equal(deeper.headers.location, `http://127.0.0.1:${server.port}/branch/leaf/`);
});

test('trailing_slash by default (CherryPy: missing on, extra off): a stray slash after a plain handler is served, not redirected', async (t) => {
  const root = { index: exposed(() => 'root'), show_msg: exposed(() => 'Hello world!'), sub: { index: exposed(() => 'sub') } };
  const server = await startApp(root);
  t.after(() => server.close());
  const stray = await one(server.port, 'GET', '/show_msg/');
  assert.equal(stray.status, 200);
  assert.equal(stray.headers.location, undefined);
  assert.equal(stray.body.toString(), 'Hello world!');
  assert.equal((await one(server.port, 'GET', '/show_msg')).body.toString(), 'Hello world!');
  assert.equal((await one(server.port, 'GET', '/sub')).status, 301, 'an index without its slash is still redirected');
});

test('trailing_slash with extra: a stray slash after a plain handler is a 301 off it', async (t) => {
  const server = await startApp(new TreeRoot(), { '/': EXTRA });
  t.after(() => server.close());
  const res = await one(server.port, 'GET', '/about/');
  assert.equal(res.status, 301);
  assert.equal(res.headers.location, `http://127.0.0.1:${server.port}/about`);
  const nested = await one(server.port, 'GET', '/branch/leaf/page/');
  assert.equal(nested.status, 301);
  assert.equal(nested.headers.location, `http://127.0.0.1:${server.port}/branch/leaf/page`);
});

test('trailing_slash keeps the query string, and the handler does not run', async (t) => {
  let calls = 0;
  const root = {
    index: exposed(() => 'root'),
    sub: { index: exposed(() => { calls++; return 'sub'; }) },
    page: exposed(() => { calls++; return 'page'; }),
  };
  const server = await startApp(root, { '/': EXTRA });
  t.after(() => server.close());
  const a = await one(server.port, 'GET', '/sub?x=1&y=a%20b');
  assert.equal(a.status, 301);
  assert.equal(a.headers.location, `http://127.0.0.1:${server.port}/sub/?x=1&y=a%20b`);
  const b = await one(server.port, 'GET', '/page/?q=z');
  assert.equal(b.status, 301);
  assert.equal(b.headers.location, `http://127.0.0.1:${server.port}/page?q=z`);
  assert.equal(calls, 0);
  // Following the redirects lands on the handlers.
  assert.equal((await get(server.url + '/sub?x=1')).status, 301);
  const followed = await fetch(server.url + '/sub?x=1');
  assert.equal(await followed.text(), 'sub');
  assert.equal(new URL(followed.url).search, '?x=1');
});

test('trailing_slash never builds a redirect to another host from //host paths', async (t) => {
  const root = { index: exposed(() => 'root'), evil: { index: exposed(() => 'evil index'), page: exposed(() => 'evil page') }, page: exposed(() => 'page') };
  const server = await startApp(root, { '/': EXTRA });
  t.after(() => server.close());
  for (const path of ['//evil', '//evil/page/', '//page/']) {
    const res = await one(server.port, 'GET', path);
    assert.equal(res.status, 301, path);
    const location = new URL(res.headers.location!);
    assert.equal(location.host, `127.0.0.1:${server.port}`, `${path} -> ${res.headers.location}`);
    assert.ok(!res.headers.location!.startsWith('//'), path);
  }
});

test('trailing_slash does not touch a default handler or an index at the root', async (t) => {
  const server = await startApp(new DefaultRoot());
  t.after(() => server.close());
  assert.equal((await one(server.port, 'GET', '/archive/2024/')).body.toString(), 'archive default ["2024"]');
  assert.equal((await one(server.port, 'GET', '/archive/2024')).body.toString(), 'archive default ["2024"]');
  assert.equal((await one(server.port, 'GET', '/')).status, 200);
});

test('trailing_slash is decided once per route: both redirects still happen on a cached plan, the other routes are left alone', async (t) => {
  const root = { dir: { index: exposed(() => 'dir'), leaf: exposed(() => 'leaf') } };
  const server = await startApp(root, { '/': EXTRA });
  t.after(() => server.close());
  for (let i = 0; i < 2; i++) {
    const toIndex = await one(server.port, 'GET', '/dir?x=1');
    assert.equal(toIndex.status, 301);
    assert.equal(toIndex.headers.location, `http://127.0.0.1:${server.port}/dir/?x=1`);
    const offLeaf = await one(server.port, 'GET', '/dir/leaf/');
    assert.equal(offLeaf.status, 301);
    assert.equal(offLeaf.headers.location, `http://127.0.0.1:${server.port}/dir/leaf`);
    assert.equal((await one(server.port, 'GET', '/dir/')).body.toString(), 'dir');
    assert.equal((await one(server.port, 'GET', '/dir/leaf')).body.toString(), 'leaf');
  }
});

test("'tools.trailing_slash.on': false disables both redirects", async (t) => {
  const server = await startApp(new TreeRoot(), { '/': { ...EXTRA, 'tools.trailing_slash.on': false } });
  t.after(() => server.close());
  const index = await one(server.port, 'GET', '/branch');
  assert.equal(index.status, 200);
  assert.equal(index.body.toString(), 'branch index');
  const page = await one(server.port, 'GET', '/about/');
  assert.equal(page.status, 200);
  assert.equal(page.body.toString(), 'about page');
});

test('trailing_slash can be switched off for one subtree only', async (t) => {
  const server = await startApp(new TreeRoot(), { '/': EXTRA, '/branch/leaf': { 'tools.trailing_slash.on': false } });
  t.after(() => server.close());
  assert.equal((await one(server.port, 'GET', '/branch')).status, 301);
  assert.equal((await one(server.port, 'GET', '/branch/leaf')).status, 200);
  assert.equal((await one(server.port, 'GET', '/branch/leaf/page/')).status, 200);
});

test('tools.trailing_slash.status chooses the redirect status; missing/extra switch each direction', async (t) => {
  const server = await startApp(new TreeRoot(), {
    '/': { ...EXTRA, 'tools.trailing_slash.status': 308 },
    '/branch/leaf': { 'tools.trailing_slash.extra': false },
  });
  t.after(() => server.close());
  const a = await one(server.port, 'GET', '/branch?k=v');
  assert.equal(a.status, 308);
  assert.equal(a.headers.location, `http://127.0.0.1:${server.port}/branch/?k=v`);
  assert.equal((await one(server.port, 'GET', '/about/')).status, 308);
  assert.equal((await one(server.port, 'GET', '/branch/leaf')).status, 308); // missing still on there
  const extra = await one(server.port, 'GET', '/branch/leaf/page/');
  assert.equal(extra.status, 200); // extra off under /branch/leaf
  assert.equal(extra.body.toString(), 'leaf page');
});

test('a handler-level trailing_slash setting wins over the section', async (t) => {
  const root = {
    index: exposed(() => 'root'),
    loose: exposed(() => 'loose', { 'tools.trailing_slash.on': false }),
    strict: exposed(() => 'strict'),
  };
  const server = await startApp(root, { '/': EXTRA });
  t.after(() => server.close());
  assert.equal((await one(server.port, 'GET', '/loose/')).status, 200);
  assert.equal((await one(server.port, 'GET', '/strict/')).status, 301);
});

// ---------------------------------------------------------------------------
// MethodDispatcher

class Items {
  store = new Map<string, string>([['1', 'one']]);

  GET({ args }: Context) {
    if (args.length === 0) return `items ${[...this.store.keys()].join(',')}`;
    return `item ${args.join('/')}=${this.store.get(args[0]!) ?? '?'}`;
  }

  async POST({ request, response }: Context) {
    const body = await request.text();
    const id = String(this.store.size + 1);
    this.store.set(id, body);
    response.status = 201;
    response.headers.set('Location', `/api/items/${id}`);
    return `created ${id}`;
  }

  PUT({ args, params }: Context) {
    this.store.set(args[0]!, String(params.value));
    return `put ${args[0]}`;
  }

  DELETE({ args, response }: Context) {
    this.store.delete(args[0]!);
    response.status = 204;
  }
}

class ReadOnly {
  GET() { return 'read only'; }
}

class Api {
  items = new Items();
  readonly = new ReadOnly();
}

class RestRoot {
  api = new Api();

  @expose()
  index() { return 'root'; }
}

async function startRest(): Promise<TestServer> {
  return startApp(new RestRoot(), { '/api': { 'request.dispatch': new MethodDispatcher() } });
}

test('MethodDispatcher: GET, POST, PUT, DELETE on one resource', async (t) => {
  const server = await startRest();
  t.after(() => server.close());
  assert.equal((await get(server.url + '/api/items')).text, 'items 1');
  assert.equal((await get(server.url + '/api/items/1')).text, 'item 1=one');
  const created = await get(server.url + '/api/items', { method: 'POST', body: 'two' });
  assert.equal(created.status, 201);
  assert.equal(created.text, 'created 2');
  assert.equal(created.headers.get('location'), '/api/items/2');
  assert.equal((await get(server.url + '/api/items/2')).text, 'item 2=two');
  const put = await get(server.url + '/api/items/2?value=deux', { method: 'PUT' });
  assert.equal(put.status, 200);
  assert.equal(put.text, 'put 2');
  assert.equal((await get(server.url + '/api/items/2')).text, 'item 2=deux');
  const del = await one(server.port, 'DELETE', '/api/items/2');
  assert.equal(del.status, 204);
  assert.equal(del.headers['content-length'], undefined);
  assert.equal((await get(server.url + '/api/items')).text, 'items 1');
  // The tree outside the section still uses the object dispatcher.
  assert.equal((await get(server.url + '/')).text, 'root');
});

test('MethodDispatcher: segments past the resource are args', async (t) => {
  const server = await startRest();
  t.after(() => server.close());
  const res = await one(server.port, 'GET', '/api/items/1/extra/a%2Fb');
  assert.equal(res.status, 200);
  assert.equal(res.body.toString(), 'item 1/extra/a/b=one');
});

test('MethodDispatcher: a method the resource lacks is a 405 with Allow, and nothing runs', async (t) => {
  const server = await startRest();
  t.after(() => server.close());
  const res = await one(server.port, 'PATCH', '/api/items/1');
  assert.equal(res.status, 405);
  const allow = res.headers.allow!.split(/,\s*/).sort();
  assert.deepEqual(allow, ['DELETE', 'GET', 'HEAD', 'POST', 'PUT']);
  const ro = await one(server.port, 'POST', '/api/readonly', { 'Content-Length': '0' });
  assert.equal(ro.status, 405);
  assert.deepEqual(ro.headers.allow!.split(/,\s*/).sort(), ['GET', 'HEAD']);
  const del = await one(server.port, 'DELETE', '/api/readonly');
  assert.equal(del.status, 405);
  assert.equal((await get(server.url + '/api/readonly')).text, 'read only');
});

test('MethodDispatcher: a node without method handlers is a 404', async (t) => {
  const server = await startRest();
  t.after(() => server.close());
  assert.equal((await one(server.port, 'GET', '/api')).status, 404);
  assert.equal((await one(server.port, 'GET', '/api/')).status, 404);
  assert.equal((await one(server.port, 'GET', '/api/items/constructor')).body.toString(), 'item constructor=?');
});

test('MethodDispatcher: HEAD runs GET and sends its Content-Length with no body', async (t) => {
  const server = await startRest();
  t.after(() => server.close());
  const getRes = await one(server.port, 'GET', '/api/items/1');
  const r = await rawRequest(server.port, `HEAD /api/items/1 HTTP/1.1\r\nHost: x\r\n\r\nGET /api/items/1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
  assert.equal(r.responses.length, 2, r.text);
  const [head, after] = r.responses;
  assert.equal(head!.status, 200);
  assert.equal(head!.headers['content-length'], String(Buffer.byteLength('item 1=one')));
  assert.equal(head!.headers['content-length'], getRes.headers['content-length']);
  assert.equal(head!.body.length, 0);
  // The next response on the same socket starts right where the HEAD head ended.
  assert.equal(after!.body.toString(), 'item 1=one');
  assert.ok(r.text.indexOf('item 1=one') === r.text.lastIndexOf('item 1=one'));
});

// ---------------------------------------------------------------------------
// _cp_dispatch

class Profile {
  @expose()
  index({ params }: Context) { return `profile of ${String(params.user)}`; }

  @expose()
  posts({ params, args }: Context) { return `posts of ${String(params.user)} ${JSON.stringify(args)}`; }
}

class Users {
  profile = new Profile();
  seen: string[][] = [];

  @expose()
  index() { return 'all users'; }

  _cp_dispatch(vpath: string[], params: Record<string, string>): unknown {
    this.seen.push([...vpath]);
    if (!/^\d+$/.test(vpath[0]!)) return undefined;
    params.user = vpath.shift()!;
    if (vpath[0] === 'profile') {
      vpath.shift();
      return this.profile;
    }
    if (vpath[0] === 'card') {
      vpath.shift();
      return exposed(({ params: p }: Context) => `card ${String(p.user)}`);
    }
    return undefined;
  }
}

class DynRoot {
  users = new Users();

  @expose()
  index() { return 'root'; }
}

test('_cp_dispatch serves a dynamic tree: /users/42/profile', async (t) => {
  const root = new DynRoot();
  const server = await startApp(root);
  t.after(() => server.close());
  assert.equal((await one(server.port, 'GET', '/users/42/profile/')).body.toString(), 'profile of 42');
  assert.equal((await one(server.port, 'GET', '/users/7/profile/')).body.toString(), 'profile of 7');
  assert.equal((await one(server.port, 'GET', '/users/7/profile/posts')).body.toString(), 'posts of 7 []');
  assert.equal((await one(server.port, 'GET', '/users/9/card')).body.toString(), 'card 9');
  assert.deepEqual(root.users.seen.slice(0, 2), [['42', 'profile'], ['7', 'profile']]);
  // The real attribute wins over the hook, and the hook is not asked for it.
  root.users.seen.length = 0;
  assert.equal((await one(server.port, 'GET', '/users/')).body.toString(), 'all users');
  assert.equal(root.users.seen.length, 0);
});

test('_cp_dispatch: its answer is not cached, each request asks again', async (t) => {
  const root = new DynRoot();
  const server = await startApp(root);
  t.after(() => server.close());
  for (let i = 0; i < 20; i++) {
    const id = String(i % 3);
    assert.equal((await one(server.port, 'GET', `/users/${id}/profile/`)).body.toString(), `profile of ${id}`);
  }
  assert.equal(root.users.seen.length, 20);
});

test('_cp_dispatch: no node returned is a 404; the query cannot spoof its params', async (t) => {
  const server = await startApp(new DynRoot());
  t.after(() => server.close());
  assert.equal((await one(server.port, 'GET', '/users/abc/profile/')).status, 404);
  assert.equal((await one(server.port, 'GET', '/users/42/elsewhere')).status, 404);
  assert.equal((await one(server.port, 'GET', '/users/42/profile/?user=999')).body.toString(), 'profile of 42');
});

// ---------------------------------------------------------------------------
// The plan cache

test('plan cache: the same path served many times stays correct', async (t) => {
  let n = 0;
  const root = {
    index: exposed(() => 'root'),
    count: exposed(({ params }: Context) => `count ${++n} ${String(params.k ?? '')}`),
    sub: { index: exposed(() => 'sub'), default: exposed(({ args }: Context) => `sub default ${args.join(',')}`) },
  };
  const server = await startApp(root);
  t.after(() => server.close());
  for (let i = 1; i <= 200; i++) {
    assert.equal((await get(`${server.url}/count?k=${i}`)).text, `count ${i} ${i}`);
    assert.equal((await get(`${server.url}/sub/x${i % 2}`)).text, `sub default x${i % 2}`);
    if (i % 50 === 0) {
      assert.equal((await get(`${server.url}/sub`)).status, 301);
      assert.equal((await get(`${server.url}/sub/`)).text, 'sub');
      assert.equal((await get(`${server.url}/nope`)).status, 404);
    }
  }
});

test('plan cache: thousands of distinct paths to a default handler stay correct (past the cache bound too)', async (t) => {
  const root = {
    index: exposed(() => 'root'),
    known: exposed(() => 'known'),
    default: exposed(({ args }: Context) => `default ${args.join('|')}`),
  };
  const server = await startApp(root);
  t.after(() => server.close());
  // Pipelined batches on raw sockets (answered in order), a few sockets at a time.
  const total = 10_500;
  const batch = 500;
  const expected = (i: number): string => `default p${i}|q${i % 7}`;
  const runBatch = async (from: number): Promise<string[]> => {
    const to = Math.min(total, from + batch);
    let bytes = '';
    for (let i = from; i < to; i++) {
      bytes += `GET /p${i}/q${i % 7} HTTP/1.1\r\nHost: x\r\n${i === to - 1 ? 'Connection: close\r\n' : ''}\r\n`;
    }
    const r = await rawRequest(server.port, bytes, { timeoutMs: 20_000 });
    const failures: string[] = [];
    if (r.responses.length !== to - from) failures.push(`batch ${from}: ${r.responses.length} responses`);
    r.responses.forEach((res, k) => {
      const i = from + k;
      if (res.status !== 200 || res.body.toString() !== expected(i)) failures.push(`${i}: ${res.status} ${res.body.toString()}`);
    });
    return failures;
  };
  const starts = Array.from({ length: Math.ceil(total / batch) }, (_, k) => k * batch);
  const failures: string[] = [];
  for (let k = 0; k < starts.length; k += 4) {
    for (const f of await Promise.all(starts.slice(k, k + 4).map(runBatch))) failures.push(...f);
  }
  assert.deepEqual(failures.slice(0, 5), []);
  // Paths seen first (and likely evicted since) still answer correctly, and so do fixed routes.
  for (const i of [0, 1, 2, 5000, total - 1]) {
    assert.equal((await get(`${server.url}/p${i}/q${i % 7}`)).text, expected(i));
  }
  assert.equal((await get(`${server.url}/known`)).text, 'known');
  assert.equal((await get(`${server.url}/`)).text, 'root');
});
