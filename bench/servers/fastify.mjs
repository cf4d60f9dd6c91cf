// Fastify, as its docs teach: route handlers return the payload; streams are
// sent as Node Readables; static files through @fastify/static.
import Fastify from 'fastify';
import fastifyStatic from '@fastify/static';
import { Readable } from 'node:stream';
import {
  port, host, HELLO, JSON_BODY, BIG, STATIC_DIR, SLOW_CHUNKS, HTML, chunks, textChunks, events, sseFrame, ready,
} from './common.mjs';

const app = Fastify({ logger: false });
app.register(fastifyStatic, { root: STATIC_DIR, prefix: '/static/' });

app.get('/hello', async () => HELLO);
app.get('/a/b/c', async (request) => `Hello ${request.query.name}`);
app.get('/json', async () => JSON_BODY);
app.get('/stream', async (request, reply) => {
  reply.type('application/octet-stream');
  return Readable.from(chunks());
});
app.get('/stream-text', async (request, reply) => {
  reply.type(HTML);
  return Readable.from(textChunks());
});
app.get('/slow', async (request, reply) => {
  reply.type('application/octet-stream');
  return Readable.from(chunks(SLOW_CHUNKS));
});
app.get('/big', async (request, reply) => {
  reply.type('application/octet-stream');
  return BIG;
});
app.get('/sse', async (request, reply) => {
  reply.header('Cache-Control', 'no-cache').type('text/event-stream');
  const it = events();
  return Readable.from((async function* () { for await (const d of it) yield sseFrame(d); })());
});

await app.listen({ port, host });
ready('fastify');
