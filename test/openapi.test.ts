// The OpenAPI document of the tree (app.openapi()) and tools.openapi serving it over
// real sockets: paths as the dispatchers find them, declared schemas as parameters and
// request bodies (zod and arktype through Standard JSON Schema; valibot through its converter),
// problem+json errors, mount points; every document checked against the OpenAPI 3.1
// schema (test/openapi-valid.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import * as v from 'valibot';
import { type } from 'arktype';
import { toJsonSchema, toStandardJsonSchema } from '@valibot/to-json-schema';
import { App, DrupeError, MethodDispatcher, Tree, expose, exposed, serve, type Config, type Context, type WebSocketConnection } from '../src/index.js';
import { assertValidOpenAPI } from './openapi-valid.js';
import { get, start } from './helpers/server.js';

type Doc = ReturnType<App['openapi']>;
type Op = { operationId: string; parameters?: { name: string; in: string; required: boolean; schema: unknown }[]; requestBody?: { required: boolean; content: Record<string, { schema: unknown }> }; responses: Record<string, unknown>; security?: unknown };

function op(doc: Doc, path: string, method: string): Op {
  const item = doc.paths[path] as Record<string, Op> | undefined;
  assert.ok(item, `no path ${path} in ${Object.keys(doc.paths).join(', ')}`);
  const o = item[method];
  assert.ok(o, `no ${method} at ${path}: ${Object.keys(item).join(', ')}`);
  return o;
}

class Items {
  GET({ args }: Context) { return `items ${args.join(',')}`; }
  @expose({ body: z.object({ name: z.string().min(1), qty: z.number().int().positive() }), 'tools.json_in.on': true })
  POST() { return 'created'; }
  DELETE() { return 'gone'; }
}

class Dynamic {
  _cp_dispatch(vpath: string[]) { vpath.shift(); return this.page; }
  @expose() page() { return 'dynamic'; }
}

class Site {
  api = { items: new Items() };
  blog = { index: exposed(() => 'blog'), default: exposed(() => 'archive') };
  dynamic = new Dynamic();
  hidden = { _secret: exposed(() => 'private') };
  notExposed() { return 'not a page'; }
  @expose() index() { return 'home'; }
  @expose() about() { return 'about'; }
  @expose.websocket() async chat(socket: WebSocketConnection) { await socket.close(); }
  get computed(): object { throw new Error('a getter must never run while the tree is walked'); }
}

const siteSections: Record<string, Config> = { '/api': { 'request.dispatch': new MethodDispatcher() } };

test('the tree becomes paths as the dispatchers find them: pages, an index at its slash, a default with args, MethodDispatcher resources', async () => {
  const doc = new App(new Site(), siteSections).openapi();
  // '/dynamic/page' is an attribute; what `_cp_dispatch` answers ('/dynamic/x') is dynamic and not listed.
  assert.deepEqual(Object.keys(doc.paths), ['/', '/about', '/api/items', '/blog/', '/blog/{args}', '/dynamic/page']);
  assert.deepEqual(Object.keys(doc.paths['/api/items']!), ['get', 'post', 'delete'], 'HEAD comes with GET; no other method is listed');
  assert.deepEqual(Object.keys(doc.paths['/about']!), ['get']);
  const rest = op(doc, '/blog/{args}', 'get').parameters;
  assert.deepEqual(rest?.map((p) => [p.name, p.in, p.required]), [['args', 'path', true]]);
  const ids = Object.values(doc.paths).flatMap((item) => Object.values(item as Record<string, Op>).map((o) => o.operationId));
  assert.equal(new Set(ids).size, ids.length, 'operationIds are unique');
  assert.equal(doc.openapi, '3.1.1');
  assert.deepEqual(doc.info, { title: 'Drupe application', version: '0.0.0' });
  await assertValidOpenAPI(doc);
});

test('every error response is problem+json: RFC 9457 members and the errors list of a failed validation', async () => {
  const doc = new App(new Site(), siteSections).openapi();
  const post = op(doc, '/api/items', 'post');
  assert.deepEqual(post.responses, {
    '200': { description: 'OK' },
    '400': { $ref: '#/components/responses/ValidationFailed' },
    '413': { $ref: '#/components/responses/PayloadTooLarge' },
    '415': { $ref: '#/components/responses/UnsupportedMediaType' },
    default: { $ref: '#/components/responses/Error' },
  });
  for (const [name, response] of Object.entries(doc.components.responses)) {
    assert.deepEqual(Object.keys(response.content ?? {}), ['application/problem+json'], name);
    assert.deepEqual(response.content!['application/problem+json']!.schema, { $ref: '#/components/schemas/Problem' });
  }
  const problem = doc.components.schemas.Problem as { properties: Record<string, unknown> };
  assert.deepEqual(Object.keys(problem.properties), ['type', 'title', 'status', 'detail', 'instance', 'errors']);
  assert.deepEqual((problem.properties.errors as { items: { required: string[] } }).items.required, ['location', 'path', 'message']);
  assert.deepEqual(op(doc, '/about', 'get').responses, { '200': { description: 'OK' }, default: { $ref: '#/components/responses/Error' } });
});

test('declared params, body and args (zod, through Standard JSON Schema) become query parameters, a JSON body and path templates', async () => {
  const search = exposed(({ params }) => `${params.q} ${params.page}`, { params: z.object({ q: z.string().min(1), page: z.coerce.number().int().min(1).optional() }) });
  const user = exposed(({ args }) => args.join('/'), { args: z.tuple([z.string(), z.coerce.number().int().optional()]) });
  const Tree = z.object({ name: z.string(), get children() { return z.array(Tree); } });
  const plant = exposed(({ body }) => body.name, { body: Tree, 'tools.json_in.on': true });
  const signup = exposed(({ params }) => params.email, { params: z.object({ email: z.email() }), 'tools.allow.on': true, 'tools.allow.methods': ['POST'] });
  const doc = new App({ search, users: { default: user }, plant, signup }).openapi({ title: 'Shop', version: '2.1.0', description: 'A test shop' });
  assert.deepEqual(doc.info, { title: 'Shop', version: '2.1.0', description: 'A test shop' });

  const s = op(doc, '/search', 'get');
  assert.deepEqual(s.parameters, [
    { name: 'q', in: 'query', required: true, schema: { type: 'string', minLength: 1 } },
    { name: 'page', in: 'query', required: false, schema: { type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER } },
  ]);
  assert.deepEqual(Object.keys(s.responses), ['200', '400', '404', 'default'], 'GET: a failing schema is a 400, params it does not take a 404');

  // A tuple with an optional item: one path per length it takes, each item's schema on its parameter.
  assert.deepEqual(op(doc, '/users/{arg0}', 'get').parameters, [{ name: 'arg0', in: 'path', required: true, schema: { type: 'string' } }]);
  assert.deepEqual(op(doc, '/users/{arg0}/{arg1}', 'get').parameters?.map((p) => [p.name, p.schema]), [['arg0', { type: 'string' }], ['arg1', { type: 'integer', minimum: Number.MIN_SAFE_INTEGER, maximum: Number.MAX_SAFE_INTEGER }]]);
  assert.equal(doc.paths['/users/{args}'], undefined, 'a tuple with no rest item takes no more segments');

  // A recursive body: its self-reference ('#') moves into components, where '#/…' resolves.
  const p = op(doc, '/plant', 'post');
  assert.equal(p.requestBody?.required, true);
  const ref = (p.requestBody!.content['application/json']!.schema as { $ref: string }).$ref;
  assert.match(ref, /^#\/components\/schemas\//);
  const stored = doc.components.schemas[ref.slice('#/components/schemas/'.length)] as { properties: { children: { items: unknown } } };
  assert.deepEqual(stored.properties.children.items, { $ref: ref });

  // Params of a POST without a JSON body: the form body.
  const sign = op(doc, '/signup', 'post');
  assert.equal(sign.parameters, undefined);
  assert.deepEqual(Object.keys(sign.requestBody!.content), ['application/x-www-form-urlencoded']);
  assert.equal(sign.requestBody!.required, false);
  assert.equal(doc.paths['/signup']!.get, undefined, 'tools.allow names the methods');
  await assertValidOpenAPI(doc);
});

test('valibot: through toStandardJsonSchema, or the jsonSchema option; a schema nothing converts is {} and one JSON Schema cannot say says why', async () => {
  const Body = v.object({ name: v.pipe(v.string(), v.minLength(1)), qty: v.number() });
  const wrapped = exposed(({ body }) => body.name, { body: toStandardJsonSchema(Body), 'tools.json_in.on': true });
  const bare = exposed(({ body }) => body.name, { body: Body, 'tools.json_in.on': true });
  const dated = exposed(({ params }) => String(params.at), { params: z.object({ at: z.date() }) });
  const expected = { type: 'object', properties: { name: { type: 'string', minLength: 1 }, qty: { type: 'number' } }, required: ['name', 'qty'] };
  const app = new App({ wrapped, bare, dated });

  const plain = app.openapi();
  assert.deepEqual(op(plain, '/wrapped', 'post').requestBody!.content['application/json']!.schema, expected);
  assert.deepEqual(op(plain, '/bare', 'post').requestBody!.content['application/json']!.schema, {}, 'no converter: any value');
  const d = op(plain, '/dated', 'get').parameters!;
  assert.equal(d.length, 1);
  assert.equal(d[0]!.name, 'params');
  assert.match(String((d[0]!.schema as { description: string }).description), /^No JSON Schema: .*Date/);

  const converted = app.openapi({ jsonSchema: (schema) => (schema === Body ? toJsonSchema(Body) : undefined) });
  assert.deepEqual(op(converted, '/bare', 'post').requestBody!.content['application/json']!.schema, expected, "the converter's draft-07 $schema is dropped: the document's dialect is 2020-12");
  await assertValidOpenAPI(plain);
  await assertValidOpenAPI(converted);
});

test('arktype: params and body through its own Standard JSON Schema (the input side: a parsed integer is a string in the query)', async () => {
  const list = exposed(({ params }) => String(params.page), { params: type({ page: 'string.integer.parse', 'q?': 'string' }) });
  const add = exposed(({ body }) => body.name, { body: type({ name: '1 <= string <= 20', tags: 'string[]' }), 'tools.json_in.on': true });
  const doc = new App({ list, add }).openapi();
  const params = op(doc, '/list', 'get').parameters!;
  assert.deepEqual(params.map((p) => [p.name, p.required, (p.schema as { type: string }).type]), [['page', true, 'string'], ['q', false, 'string']]);
  assert.deepEqual(op(doc, '/add', 'post').requestBody!.content['application/json']!.schema, {
    type: 'object',
    properties: { name: { type: 'string', minLength: 1, maxLength: 20 }, tags: { type: 'array', items: { type: 'string' } } },
    required: ['name', 'tags'],
  });
  await assertValidOpenAPI(doc);
});

test('tools.allow, tools.auth_basic and tools.accept shape the operations: listed methods, a 401 and the basic security scheme, a 406', async () => {
  const users = { ann: 'secret' };
  const root = {
    feed: exposed(() => 'feed', { 'tools.allow.on': true, 'tools.allow.methods': ['GET', 'POST', 'PROPFIND'] }),
    admin: { index: exposed(() => 'admin') },
    report: exposed(() => 'report', { 'tools.accept.on': true, 'tools.accept.media': ['text/csv', 'application/json'] }),
  };
  const doc = new App(root, { '/admin': { 'tools.auth_basic.on': true, 'tools.auth_basic.users': users } }).openapi();
  assert.deepEqual(Object.keys(doc.paths['/feed']!), ['get', 'post']);
  const admin = op(doc, '/admin/', 'get');
  assert.deepEqual(admin.security, [{ basic: [] }]);
  assert.deepEqual(admin.responses['401'], { $ref: '#/components/responses/Unauthorized' });
  assert.deepEqual(doc.components.securitySchemes, { basic: { type: 'http', scheme: 'basic' } });
  assert.equal(op(doc, '/feed', 'get').security, undefined);
  assert.deepEqual(op(doc, '/report', 'get').responses['406'], { $ref: '#/components/responses/NotAcceptable' }, 'tools.accept: a 406');
  await assertValidOpenAPI(doc);
});

test('tools.openapi serves the document at its path over a real socket; other paths and methods are untouched', async (t) => {
  const sections: Record<string, Config> = { ...siteSections, '/': { 'tools.openapi.on': true, 'tools.openapi.title': 'Site', 'tools.openapi.version': '1.2.3' } };
  const server = await start(t, new Site(), sections);
  const res = await get(`${server.url}/openapi.json`);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'application/json');
  const served = JSON.parse(res.text) as Doc;
  assert.deepEqual(served, JSON.parse(JSON.stringify(server.app.openapi({ title: 'Site', version: '1.2.3' }))));
  assert.deepEqual(Object.keys(served.paths), ['/', '/about', '/api/items', '/blog/', '/blog/{args}', '/dynamic/page'], 'the document does not list itself');
  await assertValidOpenAPI(served);

  // What is listed is what a request reaches: every GET operation, its templates filled, answers 200.
  for (const [path, item] of Object.entries(served.paths)) {
    if ((item as Record<string, unknown>).get === undefined) continue;
    const url = path.replace(/\{arg\d+\}/g, '1').replace('{args}', 'x/y');
    assert.equal((await get(`${server.url}${url}`)).status, 200, url);
  }

  const again = await get(`${server.url}/openapi.json`);
  assert.equal(again.text, res.text);
  const head = await get(`${server.url}/openapi.json`, { method: 'HEAD' });
  assert.equal(head.status, 200);
  assert.equal(head.text, '');
  assert.equal((await get(`${server.url}/openapi.json`, { method: 'POST' })).status, 404, 'only GET and HEAD: a POST finds no handler');
  assert.equal((await get(`${server.url}/about`)).text, 'about');
  assert.equal((await get(`${server.url}/api/items/a/b`)).text, 'items a,b');
});

test('tools.openapi.json_schema: the converter given in config is used for the served document', async (t) => {
  const Body = v.object({ name: v.string() });
  const named = exposed(({ body }) => body.name, { body: Body, 'tools.json_in.on': true });
  const convert = (schema: object) => (schema === Body ? toJsonSchema(Body, { target: 'draft-2020-12' }) : undefined);
  const server = await start(t, { named }, { '/': { 'tools.openapi.on': true, 'tools.openapi.json_schema': convert } });
  const doc = JSON.parse((await get(`${server.url}/openapi.json`)).text) as Doc;
  assert.deepEqual(op(doc, '/named', 'post').requestBody!.content['application/json']!.schema, { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] });
  await assertValidOpenAPI(doc);
});

test("a mounted app's paths start at its script name; tools.openapi.path is below the mount point", async (t) => {
  const shop = new App({ index: exposed(() => 'shop'), cart: exposed(() => 'cart') }, { '/': { 'tools.openapi.on': true, 'tools.openapi.path': '/spec.json' } });
  const tree = new Tree().mount(new App({ index: exposed(() => 'home') }), '').mount(shop, '/shop');
  assert.deepEqual(Object.keys(shop.openapi().paths), ['/shop/', '/shop/cart']);
  const server = await serve(tree, { host: '127.0.0.1', port: 0, config: { environment: 'test' } });
  t.after(() => server.close());
  const res = await get(`${server.url}/shop/spec.json`);
  assert.equal(res.status, 200);
  assert.deepEqual(Object.keys((JSON.parse(res.text) as Doc).paths), ['/shop/', '/shop/cart']);
  assert.equal((await get(`${server.url}/spec.json`)).status, 404, 'the root app has no tools.openapi');
});

test('tools.openapi options are checked at start-up', () => {
  assert.throws(() => new App({}, { '/': { 'tools.openapi.on': true, 'tools.openapi.path': 'openapi.json' } }), (err: unknown) => err instanceof DrupeError && err.code === 'DRUPE_ERR_CONFIG_VALUE' && /tools\.openapi\.path/.test(err.message));
  assert.throws(() => new App({}, { '/': { 'tools.openapi.json_schema': 'zod' } }), (err: unknown) => err instanceof DrupeError && /tools\.openapi\.json_schema/.test(err.message));
});

test('a tree with cycles and deep nesting is walked within bounds', async () => {
  type Loop = { self?: Loop; page: unknown; next?: Loop };
  const root: Loop = { page: exposed(() => 'p') };
  root.self = root;
  let node = root;
  for (let i = 0; i < 100; i++) node = node.next = { page: exposed(() => String(i)) };
  const doc = new App(root).openapi();
  const paths = Object.keys(doc.paths);
  assert.ok(paths.includes('/page') && paths.includes('/next/page'));
  assert.ok(paths.length <= 34, `the walk stops at its depth bound (${paths.length} paths)`);
  await assertValidOpenAPI(doc);
});
