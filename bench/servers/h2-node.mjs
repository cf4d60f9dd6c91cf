// Raw node:http2 over TLS, the ceiling for the h2 scenario: the compatibility API (the one Drupe
// serves on), ALPN h2 + http/1.1 as Drupe offers; streams with a res.write loop that honours drain.
import { createSecureServer } from 'node:http2';
import { readFileSync } from 'node:fs';
import { port, host, HELLO, chunks, ready, writeAll } from './common.mjs';

const server = createSecureServer({ key: readFileSync(process.env.KEY), cert: readFileSync(process.env.CERT), allowHTTP1: true }, (req, res) => {
  switch (req.url) {
    case '/hello':
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 12 });
      return res.end(HELLO);
    case '/stream':
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      return writeAll(res, chunks());
    default:
      res.writeHead(404, { 'content-type': 'text/plain' });
      return res.end('Not Found');
  }
});
server.listen(port, host, () => ready('node-http2'));
