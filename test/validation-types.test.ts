// Type-level tests, checked by `npm test`'s type-check: a handler's context is typed from its
// declaration with no annotation (exposed), or with `Context<typeof declaration>` (@expose); a
// wrong use is a compile error (@ts-expect-error fails the type-check when no error is there).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import * as v from 'valibot';
import type { StandardSchemaV1 as SpecSchema } from '@standard-schema/spec';
import { expose, exposed, type Context, type StandardSchemaV1, type Params } from '../src/index.js';
import { declaredInput } from '../src/core/expose.js';

/** True only when A and B are the same type. */
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false;
function expectType<T extends true>(_: T): void {}

test('exposed types params, args and body from zod schemas, with no annotation', () => {
  const handler = exposed(
    ({ params, args, body }) => {
      expectType<Equal<typeof params, { page: number; q?: string | undefined }>>(true);
      expectType<Equal<typeof args, [string, number]>>(true);
      expectType<Equal<typeof body, { name: string; tags: string[] }>>(true);
      return `${params.page + args[1]} ${body.name.toUpperCase()}`;
    },
    {
      params: z.object({ page: z.coerce.number(), q: z.string().optional() }),
      args: z.tuple([z.string(), z.coerce.number()]),
      body: z.object({ name: z.string(), tags: z.array(z.string()) }),
      'tools.json_in.on': true,
    },
  );
  assert.equal(typeof handler, 'function');
  assert.deepEqual(Object.keys(declaredInput(handler) ?? {}).sort(), ['args', 'body', 'params']);
});

test('exposed types the context from valibot schemas too', () => {
  exposed(({ params, body }) => {
    expectType<Equal<typeof params, { n: number }>>(true);
    expectType<Equal<typeof body, { ok: boolean }>>(true);
    return String(params.n);
  }, { params: v.object({ n: v.pipe(v.string(), v.transform(Number)) }), body: v.object({ ok: v.boolean() }) });
});

test('without a declaration the context is as before: string params, string args, no body', () => {
  const handler = exposed(({ params, args, body }) => {
    expectType<Equal<typeof params, Params>>(true);
    expectType<Equal<typeof args, readonly string[]>>(true);
    expectType<Equal<typeof body, unknown>>(true);
    return 'x';
  }, { 'response.stream': false });
  assert.equal(declaredInput(handler), undefined);
  const plain = exposed(() => 'plain');
  assert.equal(declaredInput(plain), undefined);
});

test('@expose checks the method against its declaration: Context<typeof declaration>', () => {
  const search = { params: z.object({ q: z.string(), limit: z.coerce.number().default(10) }) };
  class Root {
    @expose(search)
    find({ params }: Context<typeof search>) {
      expectType<Equal<typeof params, { q: string; limit: number }>>(true);
      return `${params.q} ${params.limit}`;
    }
    // @ts-expect-error -- a method typed for other params than it declares is a compile error
    @expose(search) wrong(_ctx: Context<{ params: StandardSchemaV1<unknown, { other: number }> }>) { return ''; }
  }
  assert.ok(declaredInput(Root.prototype.find) !== undefined);
});

test('a misuse is a compile error: a handler that reads what it did not declare', () => {
  exposed(({ params }) => {
    // @ts-expect-error -- 'missing' is not in the schema
    return params.missing;
  }, { params: z.object({ present: z.string() }) });
});

test("Drupe's copy of the Standard Schema interface and the spec's package are the same type both ways", () => {
  type A = StandardSchemaV1<{ a: string }, { a: number }>;
  type B = SpecSchema<{ a: string }, { a: number }>;
  const a = null as unknown as A;
  const b = null as unknown as B;
  const toSpec: B = a;
  const fromSpec: A = b;
  assert.equal(toSpec, fromSpec);
  // And a zod schema is one of Drupe's.
  const schema: StandardSchemaV1<unknown, string> = z.string();
  assert.equal(schema['~standard'].vendor, 'zod');
});
