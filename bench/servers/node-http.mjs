// Raw node:http: the ceiling. Streams with a res.write loop that honours drain.
import { createServer } from 'node:http';
import { createReadStream, statSync } from 'node:fs';
import { join } from 'node:path';
import {
  port, host, HELLO, JSON_BODY, BIG, STATIC_DIR, SLOW_CHUNKS, HTML, chunks, textChunks, onEvent, sseFrame, ready, writeAll,
} from './common.mjs';

const FILE = join(STATIC_DIR, '1mb.bin');
const FILE_SIZE = statSync(FILE).size;

function onRequest(req, res) {
  const q = req.url.indexOf('?');
  const path = q === -1 ? req.url : req.url.slice(0, q);
  switch (path) {
    case '/hello':
      res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': 12 });
      return res.end(HELLO);
    case '/a/b/c': {
      const name = new URLSearchParams(q === -1 ? '' : req.url.slice(q + 1)).get('name');
      const body = `Hello ${name}`;
      res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': Buffer.byteLength(body) });
      return res.end(body);
    }
    case '/json': {
      const body = JSON.stringify(JSON_BODY);
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
      return res.end(body);
    }
    case '/stream':
      res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
      return writeAll(res, chunks());
    case '/stream-text':
      res.writeHead(200, { 'Content-Type': HTML });
      return writeAll(res, textChunks());
    case '/slow':
      res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
      return writeAll(res, chunks(SLOW_CHUNKS));
    case '/big':
      res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': BIG.length });
      return res.end(BIG);
    case '/static/1mb.bin':
      res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': FILE_SIZE });
      return createReadStream(FILE).pipe(res);
    case '/sse': {
      res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
      // Push each event as it comes; a client whose socket is backed up misses it.
      const off = onEvent((d) => { if (!res.writableNeedDrain) res.write(sseFrame(d)); });
      return res.on('close', off);
    }
    default:
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      return res.end('Not Found');
  }
}

createServer(onRequest).listen(port, host, () => ready('node-http'));
