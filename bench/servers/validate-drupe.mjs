// Drupe for the validate scenario: POST /users with a JSON body declared by a schema
// (`exposed(fn, { body })`), validated before the handler through Standard Schema.
// SCHEMA=zod | valibot | arktype | none (none: the body parsed with request.json(), not validated, to
// show what validation itself costs). Needs `npm run build` at the root.
import { App, serve, exposed, json } from '../../dist/index.js';
import { port, host, ready } from './common.mjs';
import { schemas } from './validate-schemas.mjs';

const kind = process.env.SCHEMA ?? 'zod';

const users = kind === 'none'
  ? exposed(async ({ request }) => {
    const body = await request.json();
    return json({ ok: true, name: body.name });
  })
  : exposed(({ body }) => json({ ok: true, name: body.name }), { body: schemas[kind]() });

await serve(new App({ users }), { host, port, config: { environment: 'production', 'log.screen': false } });
ready(`drupe-${kind}`);
