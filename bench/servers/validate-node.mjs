// Raw node:http for the validate scenario, the floor under every framework: the body read, parsed
// with JSON.parse and checked through Standard Schema by the same library the Drupe server uses
// (SCHEMA=zod | valibot | arktype | none), by hand, with nothing a framework adds (no routing, no limits,
// no content-type check, no prototype-key guard).
import { createServer } from 'node:http';
import { port, host, ready } from './common.mjs';
import { schemas } from './validate-schemas.mjs';

const kind = process.env.SCHEMA ?? 'zod';
const schema = kind === 'none' ? null : schemas[kind]();

function answer(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

createServer((req, res) => {
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', () => {
    let body;
    try { body = JSON.parse(Buffer.concat(chunks).toString('utf8')); } catch { return answer(res, 400, { error: 'invalid JSON' }); }
    if (schema !== null) {
      const result = schema['~standard'].validate(body);
      if (result.issues !== undefined) return answer(res, 400, { issues: result.issues.length });
      body = result.value;
    }
    answer(res, 200, { ok: true, name: body.name });
  });
}).listen(port, host, () => ready(`node-http-${kind}`));
