// Drupe's benchmark harness: every framework, every scenario, interleaved.
//   npm run bench                      everything (about 12 minutes)
//   npm run bench -- hello stream      a subset of scenarios
//   npm run bench -- --rounds=3 --duration=5 --frameworks=node-http,drupe,fastify
//   npm run bench -- --node-flags=      every server with V8's own heap sizing (see YOUNG_GENERATION)
//   npm run bench -- workers [--rounds=3 --duration=5]   Drupe's hello with 1 and 2 worker processes (bench/workers.mjs)
//   npm run bench -- h2 [--rounds=3 --duration=5]        hello and stream over TLS h2 with h2load (bench/h2.mjs)
//   npm run bench -- inject [--rounds=5 --duration=3 --window=1]  app.inject against the same handler over a socket (bench/inject.mjs)
//   npm run bench -- validate [--rounds=3 --duration=5]  a validated JSON POST: Drupe (zod, valibot) against Fastify (bench/validate.mjs)
//   npm run bench -- ws [--rounds=5 --duration=5 --idle=2000]   WebSocket echo and idle memory, Drupe against plain ws (bench/ws.mjs)
//   npm run bench -- session [--rounds=3 --duration=5]   one session value read and written per request: Drupe (RAM, Redis, none) against Fastify's sessions (bench/session.mjs)
// Servers run on core 1, load generators on core 0; only 127.0.0.1.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpuMicros, rssKiB, sleep } from './load/proc.mjs';
import { freePort, spawnReady, stopChild } from './load/server-process.mjs';
import { report, updateDocs } from './report.mjs';

const BENCH = dirname(fileURLToPath(import.meta.url));

// The workers scenario is its own run: Drupe alone, unpinned, one process against 1 and 2 workers.
if (process.argv[2] === 'workers') {
  const { main } = await import('./workers.mjs');
  await main(process.argv.slice(3));
  process.exit(0);
}
// So is h2: /hello and /stream over TLS with HTTP/2, h2load against node:http2 and Fastify (bench/h2.mjs).
if (process.argv[2] === 'h2') {
  const { main } = await import('./h2.mjs');
  await main(process.argv.slice(3));
  process.exit(0);
}
// validate is its own run: a validated JSON POST, Drupe with zod and valibot against Fastify's JSON Schema (bench/validate.mjs).
if (process.argv[2] === 'validate') {
  const { main } = await import('./validate.mjs');
  await main(process.argv.slice(3));
  process.exit(0);
}
// The ws scenario is its own run too: a WebSocket echo on Drupe against ws's own server (bench/ws.mjs).
if (process.argv[2] === 'ws') {
  const { main } = await import('./ws.mjs');
  await main(process.argv.slice(3));
  process.exit(0);
}
// So is inject: app.inject against the same handler over a socket (bench/inject.mjs).
if (process.argv[2] === 'inject') {
  const { main } = await import('./inject.mjs');
  await main(process.argv.slice(3));
  process.exit(0);
}
// And session: Drupe's sessions on RAM and Redis against @fastify/session, with redis-server beside them (bench/session.mjs).
if (process.argv[2] === 'session') {
  const { main } = await import('./session.mjs');
  await main(process.argv.slice(3));
  process.exit(0);
}
const ROOT = join(BENCH, '..');

export const FRAMEWORKS = ['node-http', 'drupe', 'fastify', 'hono', 'koa', 'express'];
/**
 * Measured only when named in --frameworks: Drupe with `response.headers.server: ''`,
 * to show what its one header more than the peers costs (see docs/benchmarks.md).
 */
const VARIANTS = ['drupe-no-server'];
// kind: wrk (requests/s), sse (events/s), slow (RSS per connection).
export const SCENARIOS = {
  hello: { kind: 'wrk', path: '/hello', connections: 100, expect: { body: 'Hello World!' } },
  tree: { kind: 'wrk', path: '/a/b/c?name=x', connections: 100, expect: { body: 'Hello x' } },
  json: { kind: 'wrk', path: '/json', connections: 100, expect: { length: 1024, json: true } },
  stream: { kind: 'wrk', path: '/stream', connections: 50, expect: { length: 100 * 1024 } },
  'stream-text': { kind: 'wrk', path: '/stream-text', connections: 50, expect: { length: 100 * 1024, type: 'text/html' } },
  big: { kind: 'wrk', path: '/big', connections: 8, expect: { length: 10 * 1024 * 1024 } },
  file: { kind: 'wrk', path: '/static/1mb.bin', connections: 16, expect: { length: 1024 * 1024 } },
  sse: { kind: 'sse', clients: 1000 },
  'slow-clients': { kind: 'slow', path: '/slow', clients: 2000, expect: { length: 256 * 1024 } },
};

// ---- options ---------------------------------------------------------------
/**
 * Every server starts with the young generation V8 grows to under load anyway (16 MiB a
 * semi-space on 64-bit): left to itself, each starts at a size set by how much its own
 * start-up allocated, so short loads would compare start-ups (docs/benchmarks.md).
 */
const YOUNG_GENERATION = '--min-semi-space-size=16';
const opts = { rounds: 2, duration: 3, warmup: 2, hold: 4, frameworks: FRAMEWORKS.join(','), 'node-flags': YOUNG_GENERATION };
const picked = [];
for (const a of process.argv.slice(2)) {
  const m = /^--([\w-]+)=(.*)$/.exec(a);
  if (m) opts[m[1]] = m[1] === 'node-flags' || Number.isNaN(Number(m[2])) ? m[2] : Number(m[2]);
  else if (SCENARIOS[a]) picked.push(a);
  else { console.error(`unknown scenario or option: ${a}\nscenarios: ${Object.keys(SCENARIOS).join(' ')}`); process.exit(1); }
}
const scenarios = picked.length ? picked : Object.keys(SCENARIOS);
const frameworks = String(opts.frameworks).split(',').filter((f) => FRAMEWORKS.includes(f) || VARIANTS.includes(f));
opts.duration = Math.max(1, Math.round(opts.duration)); // wrk takes whole seconds
opts.warmup = Math.max(1, Math.round(opts.warmup));
// A full run is the default one: all peers, every scenario, the default node flags.
const full = !picked.length && FRAMEWORKS.every((f) => frameworks.includes(f)) && opts.rounds >= 2 && opts['node-flags'] === YOUNG_GENERATION;

const log = (...a) => console.log(...a);
const sh = (cmd, args, o = {}) => spawnSync(cmd, args, { encoding: 'utf8', ...o });

// ---- setup: dependencies, the Drupe build, the load generator, pinning ------
function setup() {
  const notes = {};
  if (!existsSync(join(BENCH, 'node_modules'))) {
    log('installing bench dependencies (npm ci in bench/) ...');
    const r = sh('npm', ['ci', '--no-audit', '--no-fund'], { cwd: BENCH, stdio: 'inherit' });
    if (r.status !== 0) throw new Error('npm ci in bench/ failed');
  }
  if (frameworks.some((f) => f.startsWith('drupe'))) {
    if (!existsSync(join(ROOT, 'node_modules'))) sh('npm', ['ci', '--no-audit', '--no-fund'], { cwd: ROOT, stdio: 'inherit' });
    log('building Drupe (npm run build) ...');
    const r = sh('npm', ['run', '--silent', 'build'], { cwd: ROOT });
    if (r.status !== 0) {
      const first = (r.stdout + r.stderr).trim().split('\n').slice(0, 3).join(' | ');
      notes.drupeBuild = `npm run build failed: ${first}`;
      log(`  ${notes.drupeBuild}`);
    }
    if (!existsSync(join(ROOT, 'dist', 'index.js'))) notes.drupeMissing = 'dist/index.js missing (build failed)';
  }
  let wrk = sh('wrk', ['-v']);
  if (wrk.error && process.getuid?.() === 0) {
    log('installing wrk (apt-get install -y wrk) ...');
    let r = sh('apt-get', ['install', '-y', 'wrk']);
    if (r.status !== 0) { sh('apt-get', ['update']); r = sh('apt-get', ['install', '-y', 'wrk']); }
    wrk = sh('wrk', ['-v']);
  }
  const useWrk = !wrk.error && opts.loader !== 'autocannon';
  notes.loader = useWrk
    ? (wrk.stdout + wrk.stderr).split('\n')[0].replace(/ Copyright.*/, '').trim()
    : `autocannon ${JSON.parse(readFileSync(join(BENCH, 'node_modules/autocannon/package.json'), 'utf8')).version}`;
  const pin = cpus().length >= 2 && !sh('taskset', ['-c', '0', 'true']).error;
  notes.pinning = pin ? 'server on core 1, load generator on core 0 (taskset)' : 'not pinned (taskset or a second core missing)';
  return { notes, useWrk, pin };
}

// ---- processes -------------------------------------------------------------
const live = new Set(); // servers and load generators running now
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => { for (const c of live) c.kill('SIGKILL'); process.exit(130); });
}

function pinned(core, cmd, args) {
  return env.pin ? ['taskset', ['-c', String(core), cmd, ...args]] : [cmd, args];
}

async function startServer(fw, extraEnv = {}, flags = []) {
  if (fw.startsWith('drupe') && env.notes.drupeMissing) throw new Error(env.notes.drupeMissing);
  const port = await freePort();
  const [cmd, args] = pinned(1, process.execPath, [...flags, join(BENCH, 'servers', `${fw}.mjs`), String(port)]);
  const { child, stderr } = await spawnReady(cmd, args, { cwd: join(BENCH, 'servers'), env: { ...process.env, NODE_ENV: 'production', PORT: String(port), ...extraEnv } }, live, 15_000);
  return { child, port, pid: child.pid, url: `http://127.0.0.1:${port}`, stderr };
}

/** Runs a load process on core 0, killed if it overstays `limit` seconds. */
function runLoad(cmd, args, limit) {
  const [c, a] = pinned(0, cmd, args);
  return new Promise((resolve) => {
    const child = spawn(c, a, { cwd: BENCH });
    live.add(child);
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err = (err + d).slice(-2000); });
    const t = setTimeout(() => child.kill('SIGKILL'), limit * 1000);
    child.on('exit', (code) => { live.delete(child); clearTimeout(t); resolve({ code, out, err }); });
  });
}

// ---- one measurement -------------------------------------------------------
async function probe(url, expect) {
  const res = await fetch(url, { signal: AbortSignal.timeout(10000) });
  const body = Buffer.from(await res.arrayBuffer());
  if (res.status !== 200) throw new Error(`probe: status ${res.status}`);
  if (expect.body && body.toString() !== expect.body) throw new Error(`probe: body ${JSON.stringify(body.toString().slice(0, 40))}`);
  if (expect.length && body.length !== expect.length) throw new Error(`probe: ${body.length} bytes, expected ${expect.length}`);
  if (expect.json) JSON.parse(body.toString());
  if (expect.type && !res.headers.get('content-type')?.startsWith(expect.type)) throw new Error(`probe: Content-Type ${res.headers.get('content-type')}`);
}

async function wrkLoad(url, connections, seconds) {
  if (env.useWrk) {
    const r = await runLoad('wrk', ['-t1', `-c${connections}`, `-d${seconds}s`, '--timeout', '5s', url], seconds + 15);
    const num = (re) => Number(re.exec(r.out)?.[1] ?? NaN);
    const requests = num(/(\d+) requests in/);
    if (!Number.isFinite(requests)) throw new Error(`wrk: ${(r.err || r.out).trim().slice(0, 160)}`);
    const socket = /Socket errors: (.*)/.exec(r.out)?.[1];
    return { requests, rps: num(/Requests\/sec:\s+([\d.]+)/), non2xx: num(/Non-2xx or 3xx responses: (\d+)/) || 0, socket };
  }
  const cli = join(BENCH, 'node_modules/autocannon/autocannon.js');
  const r = await runLoad(process.execPath, [cli, '-c', String(connections), '-d', String(seconds), '-j', url], seconds + 15);
  const j = JSON.parse(r.out);
  return { requests: j.requests.total, rps: j.requests.total / j.duration, non2xx: j.non2xx, socket: j.errors ? `errors ${j.errors}` : undefined };
}

async function measure(fw, name) {
  const sc = SCENARIOS[name];
  // Memory is measured as V8 sizes it by itself: a young generation started at its largest
  // holds start-up garbage that a default one would have collected.
  const flags = sc.kind === 'slow' ? [] : String(opts['node-flags']).split(' ').filter(Boolean);
  const server = await startServer(fw, sc.kind === 'sse' ? { BENCH_SSE_CLIENTS: String(sc.clients) } : {}, flags);
  try {
    await sleep(200);
    // Whether node flags ran goes with the reading: the report takes idle RSS from runs without them.
    const idle = { idleKiB: rssKiB(server.pid), flags: flags.length > 0 };
    if (sc.expect) {
      await probe(server.url + sc.path, sc.expect).catch((e) => {
        throw new Error(`${e.message}${server.stderr() ? ` (server said: ${server.stderr().slice(0, 160)})` : ''}`);
      });
    }
    if (sc.kind === 'wrk') {
      await wrkLoad(server.url + sc.path, sc.connections, opts.warmup); // warm-up, discarded
      const cpu0 = cpuMicros(server.pid);
      const w = await wrkLoad(server.url + sc.path, sc.connections, opts.duration);
      if (server.child.exitCode !== null) throw new Error(`server died under load: ${server.stderr().slice(0, 160)}`);
      const cpu = cpuMicros(server.pid) - cpu0;
      if (!w.requests) throw new Error('no requests served');
      if (w.non2xx > w.requests * 0.01) throw new Error(`${w.non2xx} of ${w.requests} responses not 2xx`);
      return { value: w.rps, cpuPer: cpu / w.requests, ...idle, note: w.socket };
    }
    const script = sc.kind === 'sse' ? 'sse.mjs' : 'slow.mjs';
    const args = [join(BENCH, 'load', script), `--port=${server.port}`, `--pid=${server.pid}`, `--clients=${sc.clients}`];
    if (sc.kind === 'sse') args.push(`--warmup=${opts.warmup}`, `--duration=${opts.duration}`);
    else args.push(`--hold=${opts.hold}`);
    const r = await runLoad(process.execPath, args, opts.duration + opts.hold + 90);
    let j;
    try { j = JSON.parse(r.out.trim().split('\n').pop()); } catch { throw new Error(`${script}: ${(r.err || r.out).trim().split('\n').find((l) => /Error/.test(l)) ?? `exit ${r.code}`}`); }
    if (server.child.exitCode !== null) throw new Error(`server died under load: ${server.stderr().slice(0, 160)}`);
    if (j.error) throw new Error(`${script}: ${j.error}`);
    if (j.failed > sc.clients * 0.01) throw new Error(`${j.failed} of ${sc.clients} clients failed (${j.why})`);
    if (sc.kind === 'sse') {
      if (!j.events) throw new Error('no events delivered');
      return { value: j.rate, cpuPer: j.cpuMicros / j.events, ...idle };
    }
    if (j.tooBig) throw new Error(`server RSS passed the cap (${Math.round(j.rssPeakKiB / 1024)} MiB): slow readers not waited for`);
    return { value: j.perConnKiB, ...idle, peakKiB: j.rssPeakKiB, cpuPer: j.cpuMicros / sc.clients };
  } finally {
    await stopChild(server.child, 'SIGTERM', 2000);
  }
}

// ---- the run ---------------------------------------------------------------
function orderFor(round) {
  if (round === 0) return frameworks;
  if (round === 1) return [...frameworks].reverse();
  return frameworks.map((_, i) => frameworks[(i + round) % frameworks.length]);
}

const env = setup();
const started = Date.now();
const machine = {
  cores: cpus().length,
  cpu: cpus()[0]?.model.trim() ?? 'unknown',
  memory: `${Math.round(totalmem() / 2 ** 30)} GiB`,
  node: process.version,
  loader: env.notes.loader,
  pinning: env.notes.pinning,
  nodeFlags: String(opts['node-flags']),
  kernel: sh('uname', ['-r']).stdout.trim(),
  loadStart: loadavg()[0],
};
log(`machine: ${machine.cores} cores, ${machine.cpu}, Node ${machine.node}, ${machine.loader}; ${machine.pinning}`);
log(`scenarios: ${scenarios.join(' ')}; frameworks: ${frameworks.join(' ')}; ${opts.rounds} round(s) of ${opts.duration} s (+${opts.warmup} s warm-up)`);

const results = {}; // results[scenario][fw] = { runs: [...], errors: [...] }
for (let round = 0; round < opts.rounds; round++) {
  for (const name of scenarios) {
    for (const fw of orderFor(round)) {
      const slot = ((results[name] ??= {})[fw] ??= { runs: [], errors: [] });
      if (slot.errors.length && !slot.runs.length && round > 0) continue; // failed before: don't retry every round
      try {
        const r = await measure(fw, name);
        slot.runs.push({ ...r, round });
        log(`[${round + 1}/${opts.rounds}] ${name.padEnd(12)} ${fw.padEnd(9)} ${r.value.toFixed(1).padStart(10)}  cpu/unit ${r.cpuPer.toFixed(1)} µs`);
      } catch (e) {
        slot.errors.push(e.message);
        log(`[${round + 1}/${opts.rounds}] ${name.padEnd(12)} ${fw.padEnd(9)}        n/a  ${e.message}`);
      }
    }
  }
}

machine.seconds = Math.round((Date.now() - started) / 1000);
machine.loadEnd = loadavg()[0];
const { text, markdown } = report({ results, scenarios, frameworks, machine, opts, notes: env.notes, SCENARIOS });
log(`\n${text}`);
const date = new Date().toISOString().slice(0, 10);
const stem = join(BENCH, 'results', full ? date : `${date}-${picked.join('-') || 'custom'}`);
// A second run the same day gets -2, -3, …: results already written (and perhaps quoted) stay as they are.
let file = `${stem}.md`;
for (let n = 2; existsSync(file); n++) file = `${stem}-${n}.md`;
mkdirSync(dirname(file), { recursive: true });
writeFileSync(file, markdown);
log(`wrote ${file.slice(ROOT.length + 1)}`);
if (full) updateDocs(join(ROOT, 'docs', 'benchmarks.md'), `../bench/results/${file.slice(file.lastIndexOf('/') + 1)}`, machine);
