// Drupe over HTTP/2 with TLS (server.http2 and the server.ssl_* keys): the h2 scenario's
// /hello and /stream, as drupe.mjs answers them. CERT and KEY name the PEM files; DRUPE_DIST, another
// build's dist/index.js (bench/h2.mjs --before).
import { port, host, HELLO, CHUNK, STREAM_CHUNKS, ready } from './common.mjs';

const { App, serve, exposed } = await import(process.env.DRUPE_DIST ?? '../../dist/index.js');

const root = {
  hello: exposed(() => HELLO),
  stream: exposed(function* () {
    for (let i = 0; i < STREAM_CHUNKS; i++) yield CHUNK;
  }, { 'response.stream': true }),
};
await serve(new App(root), {
  host,
  port,
  config: {
    'log.screen': false,
    environment: 'production',
    'server.http2': true,
    'server.ssl_certificate': process.env.CERT,
    'server.ssl_private_key': process.env.KEY,
  },
});
ready('drupe-h2');
