// Drupe for the validate scenario: POST /users with a JSON body declared by a schema
// (`exposed(fn, { body })`), validated before the handler through Standard Schema.
// SCHEMA=zod | valibot | none (none: the body parsed with request.json(), not validated, to
// show what validation itself costs). Needs `npm run build` at the root.
import { App, serve, exposed, json } from '../../dist/index.js';
import { z } from 'zod';
import * as v from 'valibot';
import { port, host, ready } from './common.mjs';
import { EMAIL_PATTERN } from './validate-common.mjs';

const kind = process.env.SCHEMA ?? 'zod';
const schemas = {
  zod: () => z.object({
    name: z.string().min(1).max(100),
    email: z.string().regex(EMAIL_PATTERN),
    age: z.number().int().min(0).max(150),
    tags: z.array(z.string()).max(10),
  }),
  valibot: () => v.object({
    name: v.pipe(v.string(), v.minLength(1), v.maxLength(100)),
    email: v.pipe(v.string(), v.regex(EMAIL_PATTERN)),
    age: v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(150)),
    tags: v.pipe(v.array(v.string()), v.maxLength(10)),
  }),
};

const users = kind === 'none'
  ? exposed(async ({ request }) => {
    const body = await request.json();
    return json({ ok: true, name: body.name });
  })
  : exposed(({ body }) => json({ ok: true, name: body.name }), { body: schemas[kind]() });

await serve(new App({ users }), { host, port, config: { environment: 'production', 'log.screen': false } });
ready(`drupe-${kind}`);
