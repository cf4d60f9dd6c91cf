// Declared input (issue 18, parts 1, 2 and 6) over real sockets: params, body and args
// validated by zod, valibot and arktype schemas through Standard Schema, CherryPy's argument errors
// (404 for a GET, 400 otherwise), a 400 naming each failing field, a schema that throws is a
// logged 500, bounded JSON before validation, prototype keys never reaching the handler.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import * as v from 'valibot';
import { type } from 'arktype';
import {
  DrupeError, InternalRedirect, MethodDispatcher, ValidationError, expose, exposed,
  type Context, type StandardSchemaV1,
} from '../src/index.js';
import type { StandardSchemaResult } from '../src/lib/standard-schema.js';
import { get, start } from './helpers/server.js';
import { sessionGet, cookieOf } from './helpers/session-client.js';

function post(url: string, body: string, type = 'application/json'): ReturnType<typeof get> {
  return get(url, { method: 'POST', body, headers: { 'Content-Type': type } });
}

const pageParams = z.object({ n: z.coerce.number().int(), q: z.string().optional() });

const zodRoot = {
  page: exposed(({ params }) => JSON.stringify({ next: params.n + 1, q: params.q ?? null }), { params: pageParams }),
  strict: exposed(({ params }) => `ok ${params.a}`, { params: z.strictObject({ a: z.string() }) }),
  save: exposed(({ body }) => JSON.stringify({ upper: body.name.toUpperCase(), count: body.tags.length }), {
    body: z.object({ name: z.string().min(1), tags: z.array(z.string()) }),
  }),
  item: {
    default: exposed(({ args }) => `item ${args[0] * 2} ${args.length}`, { args: z.tuple([z.coerce.number()]) }),
  },
  plain: exposed(({ params, body, args }: Context) => JSON.stringify({ params, body: body ?? null, args })),
};

test('params: validated and coerced by a zod schema; the handler sees the schema output, request.params the strings', async (t) => {
  const seen: unknown[] = [];
  const server = await start(t, {
    ...zodRoot,
    both: exposed(({ params, request }) => {
      seen.push([params.n, request.params.n]);
      return 'x';
    }, { params: pageParams }),
  });
  const r = await get(server.url + '/page?n=41&q=hi');
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(JSON.parse(r.text), { next: 42, q: 'hi' });
  assert.equal((await get(server.url + '/both?n=7')).status, 200);
  assert.deepEqual(seen, [[7, '7']]);
  // Form bodies are params too: validated after the body is processed.
  const form = await post(server.url + '/page', 'n=9', 'application/x-www-form-urlencoded');
  assert.deepEqual(JSON.parse(form.text), { next: 10, q: null });
});

test("CherryPy's argument errors: a missing param is a 404 for GET and HEAD, a 400 for POST, naming it", async (t) => {
  const server = await start(t, zodRoot);
  const miss = await get(server.url + '/page');
  assert.equal(miss.status, 404, miss.text);
  assert.match(miss.text, /params\.n: Missing parameter/);
  assert.equal((await get(server.url + '/page', { method: 'HEAD' })).status, 404);
  const missPost = await post(server.url + '/page', 'q=1', 'application/x-www-form-urlencoded');
  assert.equal(missPost.status, 400, missPost.text);
  assert.match(missPost.text, /params\.n: Missing parameter/);
});

test('a strict params schema: unexpected params are a 404 for GET, a 400 for POST, each named', async (t) => {
  const server = await start(t, zodRoot);
  const extra = await get(server.url + '/strict?a=1&b=2&c=3');
  assert.equal(extra.status, 404, extra.text);
  assert.match(extra.text, /params\.b: Unexpected parameter; params\.c: Unexpected parameter/);
  const extraPost = await post(server.url + '/strict?a=1', 'b=2', 'application/x-www-form-urlencoded');
  assert.equal(extraPost.status, 400);
  assert.match(extraPost.text, /params\.b: Unexpected parameter/);
  assert.equal((await get(server.url + '/strict?a=1')).text, 'ok 1');
});

test("a value the schema refuses is a 400 with the library's message, for GET too", async (t) => {
  const server = await start(t, zodRoot);
  const bad = await get(server.url + '/page?n=abc');
  assert.equal(bad.status, 400, bad.text);
  assert.match(bad.text, /params\.n: Invalid input: expected number, received NaN/);
  // A missing param together with a bad one: not only an argument error, so a 400.
  const mixed = await get(server.url + '/strict?a=1&a=2');
  assert.equal(mixed.status, 400, mixed.text);
});

test('body: a JSON body validated, typed values to the handler; each failing field named; not JSON is a 415', async (t) => {
  const server = await start(t, zodRoot);
  const ok = await post(server.url + '/save', JSON.stringify({ name: 'drupe', tags: ['a', 'b'] }));
  assert.equal(ok.status, 200, ok.text);
  assert.deepEqual(JSON.parse(ok.text), { upper: 'DRUPE', count: 2 });
  // A +json type is JSON too.
  assert.equal((await post(server.url + '/save', JSON.stringify({ name: 'x', tags: [] }), 'application/merge-patch+json')).status, 200);
  const bad = await post(server.url + '/save', JSON.stringify({ name: '', tags: ['a', 3] }));
  assert.equal(bad.status, 400, bad.text);
  assert.match(bad.text, /body\.name: Too small/);
  assert.match(bad.text, /body\.tags\.1: Invalid input: expected string, received number/);
  const form = await post(server.url + '/save', 'name=x', 'application/x-www-form-urlencoded');
  assert.equal(form.status, 415, form.text);
  const none = await get(server.url + '/save', { method: 'POST' });
  assert.equal(none.status, 400, none.text);
  assert.match(none.text, /body: Invalid input: expected object, received undefined/);
  assert.equal((await post(server.url + '/save', '{"name":')).status, 400);
});

test('body with tools.json_in on: its content types count as JSON; a declared body is not merged into params', async (t) => {
  const server = await start(t, {
    save: exposed(({ body, params }) => JSON.stringify({ n: body.n, param: params.n ?? null }), {
      body: z.object({ n: z.number() }),
      'tools.json_in.on': true,
      'tools.json_in.content_type': ['application/vnd.drupe'],
    }),
    // Beside a strict params schema, the body's keys are not unexpected params.
    both: exposed(({ body, params }) => `${params.page}:${body.n}`, {
      params: z.strictObject({ page: z.coerce.number() }),
      body: z.object({ n: z.number() }),
      'tools.json_in.on': true,
    }),
    // Without a declared body, json_in's to_params goes on as before: strings.
    legacy: exposed(async ({ params, request }) => JSON.stringify({ param: params.n, json: await request.json() }), { 'tools.json_in.on': true }),
  });
  const r = await post(server.url + '/save', '{"n":5}', 'application/vnd.drupe');
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(JSON.parse(r.text), { n: 5, param: null });
  assert.equal((await post(server.url + '/both?page=2', '{"n":7}')).text, '2:7');
  assert.deepEqual(JSON.parse((await post(server.url + '/legacy', '{"n":5}')).text), { param: '5', json: { n: 5 } });
});

test('args: the virtual path validated; a path the schema refuses names no resource (404)', async (t) => {
  const server = await start(t, zodRoot);
  assert.equal((await get(server.url + '/item/21')).text, 'item 42 1');
  const bad = await get(server.url + '/item/abc');
  assert.equal(bad.status, 404, bad.text);
  assert.match(bad.text, /args\.0: /);
  const long = await get(server.url + '/item/1/2', { method: 'POST' });
  assert.equal(long.status, 404, long.text);
});

test('without a declaration nothing changes: string params, string args, no body', async (t) => {
  const server = await start(t, zodRoot);
  const r = await post(server.url + '/plain?n=1', '{"a":1}');
  assert.deepEqual(JSON.parse(r.text), { params: { n: '1' }, body: null, args: [] });
});

test('valibot schemas: params, body and CherryPy argument errors the same way', async (t) => {
  const server = await start(t, {
    page: exposed(({ params }) => `next ${params.n + 1}`, { params: v.object({ n: v.pipe(v.string(), v.transform(Number), v.number()) }) }),
    save: exposed(({ body }) => `saved ${body.name}`, { body: v.object({ name: v.pipe(v.string(), v.minLength(2)) }) }),
  });
  assert.equal((await get(server.url + '/page?n=1')).text, 'next 2');
  const miss = await get(server.url + '/page');
  assert.equal(miss.status, 404, miss.text);
  assert.match(miss.text, /params\.n: /);
  assert.equal((await post(server.url + '/save', '{"name":"ab"}')).text, 'saved ab');
  const bad = await post(server.url + '/save', '{"name":"a"}');
  assert.equal(bad.status, 400);
  assert.match(bad.text, /body\.name: Invalid length: Expected &gt;=2 but received 1/);
});

test('arktype schemas: params parsed to numbers, a body, args, and its own messages in the 400', async (t) => {
  const server = await start(t, {
    page: exposed(({ params, request }) => `next ${params.n + 1} ${typeof request.params.n}`, { params: type({ n: 'string.integer.parse' }) }),
    save: exposed(async ({ body, request }) => `saved ${body.name} ${body.tags.length} ${typeof body.n} ${typeof ((await request.json()) as { n: unknown }).n}`, {
      body: type({ name: '1 <= string <= 20', tags: 'string[]', n: 'string.integer.parse' }),
    }),
    item: { default: exposed(({ args }) => `item ${args[0] * 2}`, { args: type(['string.integer.parse']) }) },
  });
  assert.equal((await get(server.url + '/page?n=41')).text, 'next 42 string', 'the handler gets numbers, request.params keeps the strings');
  const notInt = await get(server.url + '/page?n=4.5');
  assert.equal(notInt.status, 400, notInt.text);
  assert.match(notInt.text, /params\.n: .*integer/);
  assert.equal((await get(server.url + '/page')).status, 404, 'a missing param of a GET');
  assert.equal((await post(server.url + '/save', '{"name":"ab","tags":["x","y"],"n":"5"}')).text, 'saved ab 2 number string', 'the handler gets the parsed number, request.json() keeps what was sent');
  const bad = await post(server.url + '/save', '{"name":"","tags":[1],"n":"5"}');
  assert.equal(bad.status, 400);
  assert.match(bad.text, /body\.name: name must be non-empty/);
  assert.match(bad.text, /body\.tags\.0: /);
  assert.equal((await get(server.url + '/item/21')).text, 'item 42');
  assert.equal((await get(server.url + '/item/x')).status, 404, 'args the schema refuses name no resource');
});

/** A hand-written Standard Schema: what any library's object looks like to Drupe. */
function schema<T>(validate: (value: unknown) => StandardSchemaResult<T> | Promise<StandardSchemaResult<T>>): StandardSchemaV1<unknown, T> {
  return { '~standard': { version: 1, vendor: 'test', validate } };
}

test('an async schema is awaited; one that throws or rejects is a logged 500, and the server goes on', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'drupe-validation-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const errorLog = join(dir, 'error.log');
  const server = await start(t, {
    slow: exposed(({ params }) => `slow ${params.id}`, {
      params: schema(async (value) => ({ value: { id: `#${String((value as Record<string, unknown>).id)}` } })),
    }),
    slowBad: exposed(() => 'never', { params: schema(async () => ({ issues: [{ message: 'Nope', path: [{ key: 'id' }] }] })) }),
    throws: exposed(() => 'never', { params: schema(() => { throw new Error('schema bug 7f3a'); }) }),
    rejects: exposed(() => 'never', { body: schema(() => Promise.reject(new Error('schema bug 9c1e'))) }),
    ok: exposed(() => 'still here'),
  }, {}, { environment: 'production', 'log.screen': false, 'log.error_file': errorLog });
  assert.equal((await get(server.url + '/slow?id=3')).text, 'slow #3');
  const bad = await get(server.url + '/slowBad?id=1');
  assert.equal(bad.status, 400);
  assert.match(bad.text, /params\.id: Nope/);
  const thrown = await get(server.url + '/throws');
  assert.equal(thrown.status, 500);
  assert.doesNotMatch(thrown.text, /7f3a/); // no traceback in production
  const rejected = await post(server.url + '/rejects', '{}');
  assert.equal(rejected.status, 500);
  assert.equal((await get(server.url + '/ok')).text, 'still here');
  await server.close();
  const log = readFileSync(errorLog, 'utf8');
  assert.match(log, /schema bug 7f3a/);
  assert.match(log, /schema bug 9c1e/);
});

test('JSON bodies are bounded in size and depth before any schema runs', async (t) => {
  let runs = 0;
  const counting = schema((value) => { runs++; return { value }; });
  const server = await start(t, { save: exposed(() => 'saved', { body: counting }) }, {
    '/': { 'server.max_request_body_size': 1000, 'request.max_json_depth': 5 },
  });
  assert.equal((await post(server.url + '/save', '[[[[[[1]]]]]]')).status, 400);
  assert.equal((await post(server.url + '/save', JSON.stringify({ s: 'x'.repeat(2000) }))).status, 413);
  assert.equal(runs, 0);
  assert.equal((await post(server.url + '/save', '[[1]]')).text, 'saved');
  assert.equal(runs, 1);
});

test('prototype keys never reach the handler: not from a JSON body, not from params, not into Object.prototype', async (t) => {
  const seen: Array<{ proto: boolean; keys: string[]; ctor: unknown; nested: string[] }> = [];
  const loose = z.looseObject({ name: z.string() });
  const server = await start(t, {
    save: exposed(({ body }) => {
      const b = body as unknown as Record<string, unknown> & { inner: Record<string, unknown> };
      seen.push({ proto: Object.getPrototypeOf(b) === Object.prototype, keys: Object.keys(b).sort(), ctor: Object.hasOwn(b, 'constructor') ? b.constructor : null, nested: Object.keys(b.inner).sort() });
      const merged = Object.assign({}, b, b.inner);
      return String((merged as { admin?: unknown }).admin ?? 'none');
    }, { body: loose }),
    find: exposed(({ params }) => {
      const p = params as Record<string, unknown>;
      return JSON.stringify({ keys: Object.keys(p).sort(), proto: Object.getPrototypeOf(p) === Object.prototype, admin: (Object.assign({}, p) as { admin?: unknown }).admin ?? null });
    }, { params: z.looseObject({ q: z.string() }) }),
  });
  const body = '{"name":"a","__proto__":{"admin":true},"constructor":{"prototype":{"admin":true}},"inner":{"\\u005f_proto__":{"admin":true},"constructor":"Ferrari"}}';
  const r = await post(server.url + '/save', body);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.text, 'none');
  assert.deepEqual(seen, [{ proto: true, keys: ['inner', 'name'], ctor: null, nested: ['constructor'] }]);
  const q = await get(server.url + '/find?q=1&__proto__=x&__proto__=y&constructor=a&constructor=b');
  assert.equal(q.status, 200, q.text);
  assert.deepEqual(JSON.parse(q.text), { keys: ['q'], proto: true, admin: null });
  assert.equal(({} as { admin?: unknown }).admin, undefined);
});

test('a prototype key spelled only with \\u escapes is dropped too (the guard walks any body whose text could name one)', async (t) => {
  const seen: unknown[] = [];
  const server = await start(t, {
    save: exposed(({ body }) => {
      const b = body as unknown as Record<string, unknown> & { inner: Record<string, unknown> };
      seen.push({ keys: Object.keys(b).sort(), nested: Object.keys(b.inner).sort() });
      return String((Object.assign({}, b, b.inner) as { admin?: unknown }).admin ?? 'none');
    }, { body: z.looseObject({ name: z.string() }) }),
  });
  // No literal __proto__ or constructor anywhere in the text: only the escapes name them.
  const body = '{"name":"a","\\u0063onstructor":{"prototype":{"admin":true}},"inner":{"\\u005f_proto__":{"admin":true},"ok":1}}';
  assert.ok(!body.includes('__proto__') && !body.includes('constructor'));
  const r = await post(server.url + '/save', body);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.text, 'none');
  assert.deepEqual(seen, [{ keys: ['inner', 'name'], nested: ['ok'] }]);
  // A plain body (nothing to drop) reaches the handler whole.
  const plain = await post(server.url + '/save', '{"name":"b","inner":{"x":"\\"proto\\""},"extra":[1,{"y":2}]}');
  assert.equal(plain.status, 200, plain.text);
  assert.deepEqual(seen[1], { keys: ['extra', 'inner', 'name'], nested: ['x'] });
});

test('validation messages are escaped on the HTML error page', async (t) => {
  const server = await start(t, zodRoot);
  const r = await get(server.url + '/strict?a=1&%3Cscript%3Ealert(1)%3C%2Fscript%3E=1');
  assert.equal(r.status, 404);
  assert.ok(!r.text.includes('<script>alert(1)'), r.text);
  assert.match(r.text, /&lt;script&gt;alert\(1\)/);
});

test('a declaration is checked when it is made: a value that is not a Standard Schema is refused', () => {
  assert.throws(() => exposed(() => 'x', { params: { parse() {} } as never }), (err: unknown) => err instanceof DrupeError && err.code === 'DRUPE_ERR_CONFIG_VALUE' && /Standard Schema/.test(err.message));
  assert.throws(() => expose({ body: 'nope' as never }), DrupeError);
  // Config keys beside the declaration stay config.
  exposed(() => 'x', { params: pageParams, 'response.stream': false });
});

test('ValidationError: status 400 (or 404), errors listed, a subclass of HTTPError', () => {
  const e = new ValidationError([{ location: 'body', path: 'a.b', message: 'Required' }]);
  assert.equal(e.status, 400);
  assert.equal(e.message, 'Invalid request input: body.a.b: Required');
  assert.deepEqual(e.errors, [{ location: 'body', path: 'a.b', message: 'Required' }]);
  const many = new ValidationError(Array.from({ length: 8 }, (_, i) => ({ location: 'params' as const, path: `p${i}`, message: 'x' })), 404);
  assert.equal(many.status, 404);
  assert.match(many.message, /and 3 more$/);
});

class Things {
  @expose({ params: z.object({ limit: z.coerce.number().max(10) }) })
  GET({ params }: Context<{ params: StandardSchemaV1<unknown, { limit: number }> }>) {
    return `limit ${params.limit}`;
  }

  @expose({ body: z.object({ title: z.string() }) })
  POST({ body }: Context<{ body: StandardSchemaV1<unknown, { title: string }> }>) {
    return `created ${body.title}`;
  }
}

test('MethodDispatcher resources: each method validates its own declaration', async (t) => {
  const server = await start(t, { things: new Things() }, { '/things': { 'request.dispatch': new MethodDispatcher() } });
  assert.equal((await get(server.url + '/things?limit=3')).text, 'limit 3');
  assert.equal((await get(server.url + '/things?limit=30')).status, 400);
  assert.equal((await post(server.url + '/things', '{"title":"t"}')).text, 'created t');
  assert.equal((await post(server.url + '/things', '{}')).status, 400);
});

test('with tools.sessions (which wraps the handler) and tools.caching on, validation still runs first', async (t) => {
  const server = await start(t, {
    count: exposed(({ params, request }) => {
      const n = (request.session.get('n') as number | undefined ?? 0) + params.by;
      request.session.set('n', n);
      return `n ${n}`;
    }, { params: z.object({ by: z.coerce.number() }) }),
  }, { '/': { 'tools.sessions.on': true, 'tools.caching.on': true } });
  const first = await sessionGet(server.url + '/count?by=2');
  assert.equal(first.text, 'n 2');
  const id = cookieOf(first.setCookies, 'session_id');
  assert.ok(id !== undefined);
  assert.equal((await sessionGet(server.url + '/count?by=3', id)).text, 'n 5');
  assert.equal((await sessionGet(server.url + '/count?by=x', id)).status, 400);
  assert.equal((await sessionGet(server.url + '/count', id)).status, 404);
  assert.equal((await sessionGet(server.url + '/count?by=1', id)).text, 'n 6');
});

test('an InternalRedirect starts over: the next handler validates its own declaration, the first one leaves nothing behind', async (t) => {
  const server = await start(t, {
    first: exposed(({ params }) => {
      throw new InternalRedirect('/second', { m: String(params.n * 10) });
    }, { params: z.object({ n: z.coerce.number() }) }),
    second: exposed(({ params, body }) => JSON.stringify({ m: params.m, body: body ?? null }), { params: z.object({ m: z.coerce.number() }) }),
    plain: exposed(({ params, body }: Context) => JSON.stringify({ params, body: body ?? null })),
    toPlain: exposed(() => { throw new InternalRedirect('/plain', 'x=1'); }, { params: z.object({}) }),
  });
  assert.deepEqual(JSON.parse((await get(server.url + '/first?n=4')).text), { m: 40, body: null });
  assert.deepEqual(JSON.parse((await get(server.url + '/toPlain')).text), { params: { x: '1' }, body: null });
});

test('a body with a great many bad items: at most 100 issues kept, the message names five and counts the rest', async (t) => {
  const server = await start(t, { save: exposed(() => 'x', { body: z.array(z.string()) }) });
  const r = await post(server.url + '/save', JSON.stringify(Array.from({ length: 5000 }, (_, i) => i)));
  assert.equal(r.status, 400);
  assert.match(r.text, /body\.4: Invalid input: expected string, received number; and 4995 more/);
  assert.ok(r.text.length < 20_000, `${r.text.length} characters`);
  const e = new ValidationError(Array.from({ length: 500 }, (_, i) => ({ location: 'body' as const, path: String(i), message: 'x'.repeat(1000) })));
  assert.equal(e.errors.length, 100);
  assert.ok(e.message.length < 1200, String(e.message.length));
});
