// Hono on @hono/node-server, as its docs teach: c.text/c.json/c.body, the
// `stream` and `streamSSE` helpers, and serveStatic from the node adapter.
import { Hono } from 'hono';
import { stream, streamSSE } from 'hono/streaming';
import { serve } from '@hono/node-server';
import { serveStatic } from '@hono/node-server/serve-static';
import { relative } from 'node:path';
import {
  port, host, HELLO, JSON_BODY, BIG, STATIC_DIR, SLOW_CHUNKS, HTML, chunks, textChunks, events, ready,
} from './common.mjs';

const app = new Hono();

const writeChunks = (n) => (c) => {
  c.header('Content-Type', 'application/octet-stream');
  return stream(c, async (s) => {
    for (const chunk of chunks(n)) await s.write(chunk);
  });
};

// s.write takes a string too (it encodes it with a TextEncoder).
const writeText = (c) => {
  c.header('Content-Type', HTML);
  return stream(c, async (s) => {
    for (const text of textChunks()) await s.write(text);
  });
};

app.get('/hello', (c) => c.text(HELLO));
app.get('/a/b/c', (c) => c.text(`Hello ${c.req.query('name')}`));
app.get('/json', (c) => c.json(JSON_BODY));
app.get('/stream', writeChunks());
app.get('/stream-text', writeText);
app.get('/slow', writeChunks(SLOW_CHUNKS));
app.get('/big', (c) => c.body(BIG, 200, { 'Content-Type': 'application/octet-stream' }));
app.get('/sse', (c) => streamSSE(c, async (s) => {
  const it = events();
  s.onAbort(() => it.return());
  for await (const data of it) await s.writeSSE({ data });
}));
// serveStatic's root is relative to the working directory.
app.use('/static/*', serveStatic({
  root: relative(process.cwd(), STATIC_DIR),
  rewriteRequestPath: (path) => path.replace(/^\/static/, ''),
}));

serve({ fetch: app.fetch, port, hostname: host }, () => ready('hono'));
