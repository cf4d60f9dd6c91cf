// Fastify for the validate scenario, as its docs teach: the route's `schema.body` is JSON Schema,
// compiled by its Ajv once at start-up and checked before the handler.
import Fastify from 'fastify';
import { port, host, ready } from './common.mjs';
import { VALIDATE_JSON_SCHEMA } from './validate-common.mjs';

const app = Fastify({ logger: false });
app.post('/users', { schema: { body: VALIDATE_JSON_SCHEMA } }, async (request) => ({ ok: true, name: request.body.name }));

await app.listen({ port, host });
ready('fastify');
