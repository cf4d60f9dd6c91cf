// Drupe inside Bun's own server: app.fetch under Bun.serve (bench/bun.mjs). Run with bun; needs
// `npm run build` at the root. The same handlers as drupe.mjs's hello and stream.
import { App, exposed } from '../../dist/index.js';
import { port, host, HELLO, CHUNK, STREAM_CHUNKS, ready } from './common.mjs';

const app = new App({
  hello: exposed(() => HELLO),
  stream: exposed(function* () {
    for (let i = 0; i < STREAM_CHUNKS; i++) yield CHUNK;
  }, { 'response.stream': true }),
});
app.configure({ 'log.screen': false, environment: 'production' });
Bun.serve({ hostname: host, port, fetch: app.fetch });
ready('drupe-fetch');
