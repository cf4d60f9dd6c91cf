// Koa, as its docs teach: ctx.body for everything (a Readable for streams),
// @koa/router for routes, koa-static for files.
import Koa from 'koa';
import Router from '@koa/router';
import serve from 'koa-static';
import { Readable } from 'node:stream';
import { dirname } from 'node:path';
import {
  port, host, HELLO, JSON_BODY, BIG, STATIC_DIR, SLOW_CHUNKS, HTML, chunks, textChunks, events, sseFrame, ready,
} from './common.mjs';

const app = new Koa();
const router = new Router();

router.get('/hello', (ctx) => { ctx.body = HELLO; });
router.get('/a/b/c', (ctx) => { ctx.body = `Hello ${ctx.query.name}`; });
router.get('/json', (ctx) => { ctx.body = JSON_BODY; });
router.get('/stream', (ctx) => {
  ctx.type = 'application/octet-stream';
  ctx.body = Readable.from(chunks());
});
router.get('/stream-text', (ctx) => {
  ctx.type = HTML;
  ctx.body = Readable.from(textChunks());
});
router.get('/slow', (ctx) => {
  ctx.type = 'application/octet-stream';
  ctx.body = Readable.from(chunks(SLOW_CHUNKS));
});
router.get('/big', (ctx) => {
  ctx.type = 'application/octet-stream';
  ctx.body = BIG;
});
router.get('/sse', (ctx) => {
  ctx.type = 'text/event-stream';
  ctx.set('Cache-Control', 'no-cache');
  const it = events();
  ctx.body = Readable.from((async function* () { for await (const d of it) yield sseFrame(d); })());
});

app.use(router.routes());
app.use(router.allowedMethods());
app.use(serve(dirname(STATIC_DIR))); // GET /static/1mb.bin -> fixtures/static/1mb.bin

app.listen(port, host, () => ready('koa'));
