import { createServer } from 'node:http';
import { port, host, HELLO, ready } from './common.mjs';
function onRequest(req, res) {
  res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': 12 });
  res.end(HELLO);
}
const s = createServer({ headersTimeout: 10000, requestTimeout: 300000, keepAliveTimeout: 5000, connectionsCheckingInterval: 1000, noDelay: true }, onRequest);
s.on('checkContinue', onRequest);
s.listen(port, host, () => ready('x'));
