import { createServer } from 'node:http';
import { port, host, HELLO, ready } from './common.mjs';
const V = process.env.V;
const handlers = {
  lit: (req, res) => { res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': 12 }); res.end(HELLO); },
  litserver: (req, res) => { res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': 12, Server: 'Drupe' }); res.end(HELLO); },
  littype: (req, res) => { res.writeHead(200, { 'Content-Type': 'text/html;charset=utf-8', 'Content-Length': 12 }); res.end(HELLO); },
  litstr: (req, res) => { res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': '12' }); res.end(HELLO); },
  lit3: (req, res) => { res.writeHead(200, undefined, { 'Content-Type': 'text/plain', 'Content-Length': 12 }); res.end(HELLO); },
  dyn: (req, res) => { const head = {}; head['Content-Type'] = 'text/plain'; head['Content-Length'] = 12; res.writeHead(200, head); res.end(HELLO); },
  arr: (req, res) => { res.writeHead(200, ['Content-Type', 'text/plain', 'Content-Length', 12]); res.end(HELLO); },
  arrserver: (req, res) => { res.writeHead(200, ['Content-Type', 'text/plain', 'Content-Length', 12, 'Server', 'Drupe']); res.end(HELLO); },
};
const onRequest = handlers[V];
const s = createServer({ headersTimeout: 10000, requestTimeout: 300000, keepAliveTimeout: 5000, connectionsCheckingInterval: 1000, noDelay: true }, onRequest);
s.listen(port, host, () => ready('x'));
