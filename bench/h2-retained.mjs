// What one h2 stream in flight holds on the server (`node bench/h2-retained.mjs [servers…]`):
// each server (bench/servers/h2-*.mjs) is warmed up, then a client opens STREAMS (200) /stream
// requests over two sessions with a 1 KiB flow-control window and reads none of them, so every
// stream waits for 'drain' mid-body, as most streams in flight do under h2load. A heap snapshot
// before and one while they wait (each taken after a full collection: only what is reachable)
// give the objects and bytes one stream in flight keeps alive: the difference over STREAMS, in
// all and by V8's node type and name. The JS heap's part (not `native`: node's C++ buffers) is
// what the young-generation collector copies. KEEP=dir: also keep each server's second snapshot
// there (`name.heapsnapshot`), to open in a heap viewer. Only 127.0.0.1.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:http2';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, spawnReady } from './load/server-process.mjs';

const BENCH = dirname(fileURLToPath(import.meta.url));
const STREAMS = Number(process.env.STREAMS ?? 200);
const TOP = Number(process.env.TOP ?? 14);
const servers = process.argv.slice(2).length > 0 ? process.argv.slice(2) : ['h2-node', 'h2-drupe'];
const dir = mkdtempSync(join(tmpdir(), 'h2-retained-'));
const live = new Set();
process.on('exit', () => { for (const c of live) c.kill('SIGKILL'); rmSync(dir, { recursive: true, force: true }); });

const openssl = spawn('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2', '-subj', '/CN=localhost',
  '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
await new Promise((r) => openssl.on('exit', r));
const ca = readFileSync(join(dir, 'cert.pem'));

function get(session, path) {
  return new Promise((resolve, reject) => {
    const req = session.request({ ':path': path });
    req.on('data', () => {});
    req.on('end', resolve);
    req.on('error', reject);
  });
}

async function snapshot(child, cwd) {
  const before = new Set(readdirSync(cwd));
  child.kill('SIGUSR2');
  for (let i = 0; i < 600; i++) {
    await new Promise((r) => setTimeout(r, 200));
    const made = readdirSync(cwd).filter((f) => f.endsWith('.heapsnapshot') && !before.has(f));
    if (made.length > 0) {
      const file = join(cwd, made[0]);
      // Written in pieces: wait until it parses.
      try { return JSON.parse(readFileSync(file, 'utf8')); } catch { /* not complete yet */ }
    }
  }
  throw new Error('no heap snapshot');
}

/** Count and self size of the snapshot's nodes by "type name". */
function tally(snap) {
  const { node_fields: fields, node_types: [types] } = snap.snapshot.meta;
  const nf = fields.length;
  const [ti, ni, si] = [fields.indexOf('type'), fields.indexOf('name'), fields.indexOf('self_size')];
  const by = new Map();
  let count = 0;
  let bytes = 0;
  let js = 0;
  for (let i = 0; i < snap.nodes.length; i += nf) {
    const type = types[snap.nodes[i + ti]];
    if (type === 'synthetic') continue;
    let name = snap.strings[snap.nodes[i + ni]];
    if (type === 'string' || type === 'concatenated string' || type === 'sliced string') name = '';
    else if (type === 'number') name = '';
    else if (name.length > 50) name = `${name.slice(0, 50)}…`;
    const key = `${type} ${name}`;
    const size = snap.nodes[i + si];
    const e = by.get(key) ?? { count: 0, bytes: 0 };
    e.count++;
    e.bytes += size;
    by.set(key, e);
    count++;
    bytes += size;
    if (type !== 'native') js += size;
  }
  return { by, count, bytes, js };
}

const lines = [];
for (const name of servers) {
  const cwd = join(dir, name);
  rmSync(cwd, { recursive: true, force: true });
  spawn('mkdir', ['-p', cwd]);
  await new Promise((r) => setTimeout(r, 100));
  const port = await freePort();
  const { child } = await spawnReady(process.execPath, ['--heapsnapshot-signal=SIGUSR2', join(BENCH, 'servers', `${name}.mjs`), String(port)],
    { cwd, env: { ...process.env, CERT: join(dir, 'cert.pem'), KEY: join(dir, 'key.pem'), NODE_ENV: 'production' } }, live, 30_000);
  const origin = `https://127.0.0.1:${port}`;
  const warm = connect(origin, { ca });
  for (let round = 0; round < 40; round++) await Promise.all(Array.from({ length: 50 }, () => get(warm, '/stream')));
  const sessions = [0, 1].map(() => connect(origin, { ca, settings: { initialWindowSize: 1024 } }));
  await Promise.all(sessions.map((s) => new Promise((r) => s.once('remoteSettings', r))));
  const a = tally(await snapshot(child, cwd));
  const held = [];
  for (let i = 0; i < STREAMS; i++) {
    const req = sessions[i % 2].request({ ':path': '/stream' });
    req.pause();
    held.push(req);
  }
  await new Promise((r) => setTimeout(r, 1500));
  const held2 = await snapshot(child, cwd);
  if (process.env.KEEP) writeFileSync(join(process.env.KEEP, `${name}.heapsnapshot`), JSON.stringify(held2));
  const b = tally(held2);
  const rows = [];
  for (const [key, e] of b.by) {
    const was = a.by.get(key) ?? { count: 0, bytes: 0 };
    const dc = (e.count - was.count) / STREAMS;
    const db = (e.bytes - was.bytes) / STREAMS;
    if (dc >= 0.5 || db >= 16) rows.push({ key, dc, db });
  }
  rows.sort((x, y) => y.db - x.db);
  lines.push(`${name}: ${((b.count - a.count) / STREAMS).toFixed(1)} objects, ${((b.bytes - a.bytes) / STREAMS).toFixed(0)} bytes per stream in flight, ${((b.js - a.js) / STREAMS).toFixed(0)} of them on the JS heap (${STREAMS} streams)`);
  for (const r of rows.slice(0, TOP)) lines.push(`  ${r.db.toFixed(0).padStart(6)} B ${r.dc.toFixed(1).padStart(5)} × ${r.key}`);
  console.log(lines.slice(-1 - Math.min(TOP, rows.length)).join('\n'));
  for (const s of [...sessions, warm]) s.destroy();
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
}
if (process.env.OUT) writeFileSync(process.env.OUT, `${lines.join('\n')}\n`);
process.exit(0);
