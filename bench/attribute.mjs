// Where a framework's instructions go, from one callgrind profile of a server
// run with --perf-basic-prof (bench/instructions.sh does both with ATTRIBUTE=1):
// JIT code is named through the server's /tmp/perf-<pid>.map, then each
// request's instructions are split into the framework's own JavaScript, the
// V8 builtins it calls directly, node's writeHead and end, and the rest.
//   node attribute.mjs <callgrind file> <perf map> <requests> <framework>
// TOP=N also lists the N functions with the most self cost per request, JIT code by name.
import { readFileSync } from 'node:fs';

const [file, mapFile, requests, framework] = process.argv.slice(2);
const n = Number(requests);
// What counts as the framework's own code, by the file its functions come from.
const OWN = {
  drupe: /\/dist\//,
  'drupe-no-server': /\/dist\//,
  fastify: /node_modules\/(fastify|find-my-way|avvio|@fastify)\//,
  hono: /node_modules\/(hono|@hono)\//,
  koa: /node_modules\/(koa|@koa|koa-[\w-]+)\//,
  express: /node_modules\/(express|router|body-parser|finalhandler|send|serve-static)\//,
  'node-http': /servers\/node-http\.mjs/,
  'h2-drupe': /\/dist\//,
  'validate-drupe': /\/dist\//,
  'validate-node': /servers\/validate-node\.mjs/,
  'validate-fastify': /node_modules\/(fastify|find-my-way|avvio|@fastify|ajv|fast-json-stringify|secure-json-parse)\//,
  'h2-fastify': /node_modules\/(fastify|find-my-way|avvio|@fastify)\//,
  'h2-node': /servers\/(h2-node|common)\.mjs/,
}[framework];
if (!OWN) throw new Error(`unknown framework ${framework}`);

const map = readFileSync(mapFile, 'utf8').split('\n').filter(Boolean).map((line) => {
  const [start, size, ...name] = line.split(' ');
  return { start: parseInt(start, 16), end: parseInt(start, 16) + parseInt(size, 16), name: name.join(' ') };
}).sort((a, b) => a.start - b.start);

function jitName(address) {
  let lo = 0;
  let hi = map.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (map[mid].start <= address) lo = mid + 1;
    else hi = mid - 1;
  }
  const e = map[hi];
  return e !== undefined && address < e.end ? e.name : undefined;
}

// callgrind's compressed names: "(12) name" defines id 12, "(12)" reuses it.
const ids = new Map();
const resolve = (rest) => {
  const m = /^\((\d+)\)(?: (.*))?$/.exec(rest.trim());
  if (m === null) return rest.trim();
  if (m[2] !== undefined) ids.set(m[1], m[2]);
  const name = ids.get(m[1]) ?? rest;
  const hex = /^0x([0-9a-f]+)/.exec(name);
  return hex === null ? name : (jitName(parseInt(hex[1], 16)) ?? name);
};

const totals = { own: 0, builtins: 0, writeHead: 0, end: 0 };
let all = 0;
const self = new Map();
let fn = '';
let callee = '';
let afterCalls = false;
for (const line of readFileSync(file, 'utf8').split('\n')) {
  if (line.startsWith('fn=')) { fn = resolve(line.slice(3)); continue; }
  if (line.startsWith('cfn=')) { callee = resolve(line.slice(4)); continue; }
  if (line.startsWith('calls=')) { afterCalls = true; continue; }
  if (!/^[0-9+*-]/.test(line)) continue;
  const cost = Number(line.split(' ')[1] ?? 0);
  if (afterCalls) {
    // A call's line carries the callee's inclusive cost: count only calls out of the framework's own code.
    afterCalls = false;
    if (!OWN.test(fn) || OWN.test(callee)) continue;
    if (/writeHead|_storeHeader/.test(callee)) totals.writeHead += cost;
    else if (/^JS:\*?~?\^?end node:_http_outgoing/.test(callee)) totals.end += cost;
    // Calls into JavaScript, and the builtins that only pass a call on (a generator's next, Function.prototype.call),
    // carry the callee's whole cost: the framework's own share of it is already in its self cost, node's is not its.
    else if (!callee.startsWith('JS:') && !callee.includes('GeneratorPrototypeNext') && !callee.includes('Call_Receiver')) totals.builtins += cost;
    continue;
  }
  all += cost;
  self.set(fn, (self.get(fn) ?? 0) + cost);
  if (OWN.test(fn)) totals.own += cost;
}
const per = (x) => String(Math.round(x / n)).padStart(7);
console.log(`${framework.padEnd(10)} ${per(all)} instructions/request, JIT compilation included:`
  + ` own JS ${per(totals.own).trim()}, builtins it calls ${per(totals.builtins).trim()},`
  + ` node's writeHead ${per(totals.writeHead).trim()}, end ${per(totals.end).trim()}`);
const top = Number(process.env.TOP ?? 0);
for (const [name, cost] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) {
  console.log(`${per(cost)}  ${name.slice(0, 150)}`);
}
