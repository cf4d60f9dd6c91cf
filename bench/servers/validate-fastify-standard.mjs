// Fastify for the validate scenario with the same Standard Schema library as the Drupe server
// (SCHEMA=zod | valibot | arktype), wired as Fastify's docs teach for a validator other than Ajv: a
// validatorCompiler returning `{ value }` or `{ error }` (what fastify-type-provider-zod does).
import Fastify from 'fastify';
import { port, host, ready } from './common.mjs';
import { schemas } from './validate-schemas.mjs';

const kind = process.env.SCHEMA ?? 'zod';
const app = Fastify({ logger: false });
app.setValidatorCompiler(({ schema }) => (data) => {
  const result = schema['~standard'].validate(data);
  return result.issues === undefined ? { value: result.value } : { error: new Error(result.issues.map((i) => i.message).join('; ')) };
});
app.post('/users', { schema: { body: schemas[kind]() } }, async (request) => ({ ok: true, name: request.body.name }));

await app.listen({ port, host });
ready(`fastify-${kind}`);
