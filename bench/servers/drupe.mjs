// Drupe, as its design teaches: a tree of plain objects whose handlers are
// marked with exposed(); streams are generators under response.stream;
// static files through tools.staticdir. Needs `npm run build` at the root.
import * as drupe from '../../dist/index.js';
import {
  port, host, HELLO, JSON_BODY, BIG, STATIC_DIR, SLOW_CHUNKS, CHUNK, STREAM_CHUNKS, TEXT_CHUNK, events, ready,
} from './common.mjs';

// A namespace import, so a helper that has not landed yet costs only its route.
const { App, serve, exposed, json, sse } = drupe;

// GET /a/b/c?name=x: root.a.b.c, three levels down (a class instance at b).
class B {
  c = exposed(({ params }) => `Hello ${params.name}`);
}

const root = {
  hello: exposed(() => HELLO),
  a: { b: new B() },
  json: json && exposed(() => json(JSON_BODY)),
  stream: exposed(function* () {
    for (let i = 0; i < STREAM_CHUNKS; i++) yield CHUNK;
  }, { 'response.stream': true }),
  // GET /stream-text ('-' names '_', as in CherryPy): strings, under the default Content-Type, text/html;charset=utf-8.
  stream_text: exposed(function* () {
    for (let i = 0; i < STREAM_CHUNKS; i++) yield TEXT_CHUNK;
  }, { 'response.stream': true }),
  slow: exposed(function* () {
    for (let i = 0; i < SLOW_CHUNKS; i++) yield CHUNK;
  }, { 'response.stream': true }),
  big: exposed(() => BIG),
  sse: sse && exposed(() => sse(events()), { 'response.stream': true }),
};

let app;
try {
  app = new App(root, {
    '/': {},
    '/static': { 'tools.staticdir.on': true, 'tools.staticdir.dir': STATIC_DIR },
  });
} catch (e) { // tools.staticdir not there yet: everything but `file` still runs
  console.error(`no static files: ${e.message}`);
  app = new App(root, { '/': {} });
}
// Set only by drupe-no-server.mjs, the variant that measures the Server header's cost.
const server = process.env.BENCH_DRUPE_SERVER_HEADER;
const extra = server === undefined ? {} : { 'response.headers.server': server };
await serve(app, { host, port, config: { 'log.screen': false, environment: 'production', ...extra } });
ready(server === undefined ? 'drupe' : 'drupe-no-server');
