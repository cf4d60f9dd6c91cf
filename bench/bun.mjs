// Drupe on Bun against Bun's own server doing the same work (issue 16): hello and stream, each
// server a bun process on core 1, wrk on core 0, only 127.0.0.1, rounds interleaved, medians.
//   node bench/bun.mjs [--rounds=3] [--duration=3]
// Servers: bun-serve (Bun.serve by hand: the reference), drupe (serve() on Bun's node:http,
// servers/drupe.mjs as is), drupe-fetch (app.fetch under Bun.serve), node-http (servers/node-http.mjs
// on Bun: what Bun's node:http costs by itself, the ceiling for serve() there), and for scale
// drupe-node (servers/drupe.mjs on this node, with bench/run.mjs's node flags). bun is the root
// package's devDependency (node_modules/.bin/bun); wrk comes from Debian's package.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { get } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpuMicros } from './load/proc.mjs';
import { freePort, spawnReady } from './load/server-process.mjs';
import { median } from './report.mjs';

const BENCH = dirname(fileURLToPath(import.meta.url));
const ROOT = join(BENCH, '..');
const BUN = join(ROOT, 'node_modules', '.bin', 'bun');
const opts = { rounds: 3, duration: 3, warmup: 1 };
for (const a of process.argv.slice(2)) {
  const m = /^--(\w+)=(\d+)$/.exec(a);
  if (!m || !(m[1] in opts)) { console.error(`unknown option ${a}`); process.exit(1); }
  opts[m[1]] = Number(m[2]);
}
const SERVERS = ['bun-serve', 'node-http', 'drupe', 'drupe-fetch', 'drupe-node'];
const FILES = { 'drupe-node': 'drupe' };
const SCENARIOS = { hello: { path: '/hello', connections: 100, body: 12 }, stream: { path: '/stream', connections: 50, body: 100 * 1024 } };

const sh = (cmd, args, o = {}) => spawnSync(cmd, args, { encoding: 'utf8', ...o });
if (!existsSync(BUN)) throw new Error(`no bun at ${BUN}: run npm ci at the root`);
if (!existsSync(join(ROOT, 'dist', 'index.js'))) sh('npm', ['run', 'build'], { cwd: ROOT, stdio: 'inherit' });
if (sh('wrk', ['-v']).error) {
  sh('apt-get', ['update', '-q']);
  if (sh('apt-get', ['install', '-y', '-q', 'wrk'], { stdio: 'inherit' }).status !== 0) throw new Error('wrk is needed (apt-get install wrk)');
}
const pin = !sh('taskset', ['-c', '0', 'true']).error;
const pinned = (core, cmd, args) => (pin ? ['taskset', ['-c', String(core), cmd, ...args]] : [cmd, args]);

async function startServer(name) {
  const port = await freePort();
  const file = join(BENCH, 'servers', `${FILES[name] ?? name}.mjs`);
  const [cmd, args] = name === 'drupe-node'
    ? pinned(1, process.execPath, ['--min-semi-space-size=16', file, String(port)])
    : pinned(1, BUN, [file, String(port)]);
  const { child } = await spawnReady(cmd, args, { cwd: join(BENCH, 'servers'), env: { ...process.env, NODE_ENV: 'production' }, stdio: ['ignore', 'pipe', 'pipe'] }, new Set(), 15_000);
  return { port, pid: child.pid, stop: () => new Promise((r) => { child.once('exit', r); child.kill('SIGKILL'); }) };
}

/**
 * Check the answer once with fetch, then load it with wrk: requests per second, and the server's
 * CPU time per request (µs; steadier than req/s on a machine that runs other work too).
 */
async function load(port, pid, { path, connections, body }, seconds) {
  // A connection of its own (no pool): one kept idle through a run would meet the server's keep-alive timeout.
  const [status, got] = await new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      let n = 0;
      res.on('data', (c) => { n += c.length; });
      res.on('end', () => resolve([res.statusCode, n]));
      res.on('error', reject);
    }).on('error', reject);
  });
  if (status !== 200 || got !== body) throw new Error(`${path}: status ${status}, ${got} bytes (expected ${body})`);
  const [cmd, args] = pinned(0, 'wrk', ['-t1', `-c${connections}`, `-d${seconds}s`, '--timeout', '5s', `http://127.0.0.1:${port}${path}`]);
  const cpu0 = cpuMicros(pid);
  const r = sh(cmd, args, { timeout: (seconds + 15) * 1000 });
  const cpu = cpuMicros(pid) - cpu0;
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(r.stdout)?.[1]);
  const requests = Number(/(\d+) requests in/.exec(r.stdout)?.[1]);
  if (!Number.isFinite(rps)) throw new Error(`wrk: ${r.stdout}${r.stderr}`);
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(r.stdout)?.[1];
  if (non2xx !== undefined) throw new Error(`${path}: ${non2xx} non-2xx responses`);
  return { rps, cpu: cpu / requests };
}

const runs = {};
const version = sh(BUN, ['--version']).stdout.trim();
console.log(`bun ${version}, node ${process.version}; ${opts.rounds} rounds of ${opts.duration} s (after ${opts.warmup} s warm-up); ${pin ? 'server on core 1, wrk on core 0' : 'not pinned'}`);
for (let round = 0; round < opts.rounds; round++) {
  // Interleaved: each round visits every server, in an order that turns each round.
  const order = SERVERS.map((_, i) => SERVERS[(i + round) % SERVERS.length]);
  for (const name of order) {
    const server = await startServer(name);
    try {
      for (const [scenario, spec] of Object.entries(SCENARIOS)) {
        await load(server.port, server.pid, spec, opts.warmup);
        const run = await load(server.port, server.pid, spec, opts.duration);
        ((runs[scenario] ??= {})[name] ??= []).push(run);
        console.log(`  round ${round + 1} ${scenario} ${name}: ${Math.round(run.rps)} req/s, ${run.cpu.toFixed(1)} µs CPU/req`);
      }
    } finally {
      await server.stop();
    }
  }
}
console.log('\nmedians: requests/s and server CPU µs per request (ratio to Bun.serve: req/s, and Bun.serve\'s CPU per request over this one\'s)');
for (const [scenario, byServer] of Object.entries(runs)) {
  const base = { rps: median(byServer['bun-serve'].map((r) => r.rps)), cpu: median(byServer['bun-serve'].map((r) => r.cpu)) };
  for (const name of SERVERS) {
    const rps = median(byServer[name].map((r) => r.rps));
    const cpu = median(byServer[name].map((r) => r.cpu));
    console.log(`  ${scenario.padEnd(7)} ${name.padEnd(12)} ${String(Math.round(rps)).padStart(7)} req/s ${(rps / base.rps).toFixed(2)}x   ${cpu.toFixed(1).padStart(6)} µs ${(base.cpu / cpu).toFixed(2)}x`);
  }
}
