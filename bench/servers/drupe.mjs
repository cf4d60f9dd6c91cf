// Drupe, as its design teaches: a tree of plain objects whose handlers are
// marked with exposed(); streams are generators under response.stream;
// static files through tools.staticdir. Needs `npm run build` at the root.
import { App, serve, exposed, json, sse } from '../../dist/index.js';
import {
  port, host, HELLO, JSON_BODY, BIG, STATIC_DIR, SLOW_CHUNKS, CHUNK, STREAM_CHUNKS, events, ready,
} from './common.mjs';

class C {
  index = exposed(({ params }) => `Hello ${params.name}`);
}

const root = {
  hello: exposed(() => HELLO),
  a: { b: { c: new C() } },
  json: exposed(() => json(JSON_BODY)),
  stream: exposed(function* () {
    for (let i = 0; i < STREAM_CHUNKS; i++) yield CHUNK;
  }, { 'response.stream': true }),
  slow: exposed(function* () {
    for (let i = 0; i < SLOW_CHUNKS; i++) yield CHUNK;
  }, { 'response.stream': true }),
  big: exposed(() => BIG),
  sse: exposed(() => sse(events()), { 'response.stream': true }),
};

const app = new App(root, {
  '/': {},
  '/static': { 'tools.staticdir.on': true, 'tools.staticdir.dir': STATIC_DIR },
});
await serve(app, { host, port, config: { 'log.screen': false, environment: 'production' } });
ready('drupe');
