// Fastify over HTTP/2 with TLS, as its docs teach (`http2: true`, `https: { allowHTTP1: true }`).
import Fastify from 'fastify';
import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { port, host, HELLO, chunks, ready } from './common.mjs';

const app = Fastify({
  logger: false,
  http2: true,
  https: { key: readFileSync(process.env.KEY), cert: readFileSync(process.env.CERT), allowHTTP1: true },
});
app.get('/hello', async () => HELLO);
app.get('/stream', async (request, reply) => {
  reply.type('application/octet-stream');
  return Readable.from(chunks());
});
await app.listen({ port, host });
ready('fastify-h2');
