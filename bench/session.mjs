// The `session` scenario (npm run bench -- session): a request that reads and writes one session
// value (GET /session: the session's counter, read, written back one higher, answered). Drupe
// with tools.sessions on its RAM store and on Redis, the same handler with sessions off, and
// Fastify with @fastify/session on its in-memory store and on Redis (connect-redis), in
// interleaved rounds; Drupe's twice more with locking 'explicit' (no lock taken, as Fastify's
// sessions take none), to show what the session lock costs. The load generator sends a session cookie with every request: before each
// measurement it opens SESSIONS sessions (one request each, keeping the Set-Cookie), and wrk sends
// them in turn (bench/load/session.lua), so every measured request reads and writes a session that
// exists. Servers on core 1, wrk and redis-server on core 0 (taskset): the server's CPU per
// request is the server's alone; Redis's is reported beside it. Only 127.0.0.1.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpuMicros, sleep } from './load/proc.mjs';
import { freePort, spawnReady, stopChild } from './load/server-process.mjs';
import { parseOptions, writeResults } from './load/results.mjs';
import { runWrk } from './load/wrk.mjs';
import { median as medianOf } from './report.mjs';

const BENCH = dirname(fileURLToPath(import.meta.url));
const ROOT = join(BENCH, '..');
const REDIS_SERVER = '/usr/bin/redis-server';
/** Sessions opened before each measurement and sent in turn: ten times the connections. */
const SESSIONS = 1000;
const SERVERS = [
  { name: 'drupe-none', file: 'session-drupe.mjs', store: 'none', sessions: false },
  { name: 'drupe-ram', file: 'session-drupe.mjs', store: 'ram', sessions: true },
  { name: 'drupe-redis', file: 'session-drupe.mjs', store: 'redis', sessions: true, redis: true },
  // Without the session lock ('explicit' locking, never taken): the same work as Fastify's sessions, which lock nothing.
  { name: 'drupe-ram-nolock', file: 'session-drupe.mjs', store: 'ram', sessions: true, locking: 'explicit' },
  { name: 'drupe-redis-nolock', file: 'session-drupe.mjs', store: 'redis', sessions: true, redis: true, locking: 'explicit' },
  { name: 'fastify-memory', file: 'session-fastify.mjs', store: 'memory', sessions: true },
  { name: 'fastify-redis', file: 'session-fastify.mjs', store: 'redis', sessions: true, redis: true },
];
/** The ratios reported: CPU per request of `of` ÷ that of `to` (paired within each round). */
const RATIOS = [
  { of: 'fastify-memory', to: 'drupe-ram', what: 'Fastify in-memory ÷ Drupe RAM' },
  { of: 'fastify-redis', to: 'drupe-redis', what: 'Fastify + connect-redis ÷ Drupe Redis' },
  { of: 'fastify-memory', to: 'drupe-ram-nolock', what: 'Fastify in-memory ÷ Drupe RAM without the lock' },
  { of: 'fastify-redis', to: 'drupe-redis-nolock', what: 'Fastify + connect-redis ÷ Drupe Redis without the lock' },
  { of: 'drupe-ram', to: 'drupe-none', what: 'Drupe RAM ÷ Drupe without sessions' },
  { of: 'drupe-redis', to: 'drupe-none', what: 'Drupe Redis ÷ Drupe without sessions' },
];
const live = new Set();

/** The median of the finite values (a round whose Redis CPU could not be read gives NaN). */
const median = (xs) => medianOf(xs.filter(Number.isFinite));

let pin = false;
const pinned = (core, cmd, args) => (pin ? ['taskset', ['-c', String(core), cmd, ...args]] : [cmd, args]);

/** A redis-server of the run's own: free port, temp dir, no persistence, on core 0. */
async function startRedis() {
  if (!existsSync(REDIS_SERVER)) throw new Error(`${REDIS_SERVER} is missing (apt-get install -y redis-server)`);
  const dir = mkdtempSync(join(tmpdir(), 'drupe-bench-redis-'));
  const port = await freePort();
  const [cmd, args] = pinned(0, REDIS_SERVER, ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', '--daemonize', 'no']);
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  let out = '';
  child.stdout.on('data', (d) => { out += d; });
  for (let i = 0; !out.includes('Ready to accept connections'); i++) {
    if (child.exitCode !== null || i > 500) throw new Error(`redis-server did not start: ${out.slice(-300)}`);
    await sleep(20);
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    pid: child.pid,
    stop() { child.kill('SIGKILL'); rmSync(dir, { recursive: true, force: true }); },
  };
}

async function startServer(s, flags, redis) {
  const port = await freePort();
  const [cmd, args] = pinned(1, process.execPath, [...flags, join(BENCH, 'servers', s.file), String(port)]);
  const env = { ...process.env, NODE_ENV: 'production', PORT: String(port), BENCH_SESSION_STORE: s.store, BENCH_SESSION_LOCKING: s.locking ?? '', BENCH_REDIS_URL: redis.url };
  const { child, stderr } = await spawnReady(cmd, args, { cwd: join(BENCH, 'servers'), env }, live, 15_000);
  return { child, port, pid: child.pid, url: `http://127.0.0.1:${port}/session`, stderr };
}

/** One GET /session; its counter and the `name=value` of the session cookie it set, if any. */
async function get(url, cookie) {
  const res = await fetch(url, { headers: cookie ? { cookie } : {}, signal: AbortSignal.timeout(10_000) });
  const body = await res.text();
  if (res.status !== 200) throw new Error(`GET /session: ${res.status} ${body.slice(0, 80)}`);
  const set = res.headers.getSetCookie().map((c) => c.split(';')[0]).find((c) => c.startsWith('session_id='));
  return { n: Number(body), set };
}

/**
 * SESSIONS sessions opened on `s` (their cookies), each then read and written once more to
 * check the server keeps them. Without sessions: cookies of the same size, which it ignores.
 */
async function openSessions(s, server) {
  const cookies = [];
  for (let i = 0; i < SESSIONS; i += 50) {
    const batch = await Promise.all(Array.from({ length: Math.min(50, SESSIONS - i) }, () => get(server.url)));
    for (const r of batch) {
      if (!s.sessions) { cookies.push(`session_id=${Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('base64url')}`); continue; }
      if (r.n !== 1 || r.set === undefined) throw new Error(`a new session answered ${r.n} and set ${r.set ?? 'no cookie'}`);
      cookies.push(r.set);
    }
  }
  if (s.sessions) {
    const again = await get(server.url, cookies[0]);
    if (again.n !== 2) throw new Error(`a session's second request answered ${again.n}, not 2: the session was not kept`);
  }
  return cookies;
}

function wrk(url, connections, seconds, cookies) {
  return runWrk({ url, connections, seconds, script: join(BENCH, 'load', 'session.lua'), scriptArgs: cookies, pin, live });
}

async function measure(s, opts, flags, redis) {
  const server = await startServer(s, flags, redis);
  try {
    await sleep(200);
    const cookies = await openSessions(s, server);
    await wrk(server.url, opts.connections, opts.warmup, cookies); // warm-up, discarded
    const cpu0 = cpuMicros(server.pid);
    const redis0 = cpuMicros(redis.pid);
    const r = await wrk(server.url, opts.connections, opts.duration, cookies);
    const cpu = cpuMicros(server.pid) - cpu0;
    const redisCpu = cpuMicros(redis.pid) - redis0;
    if (server.child.exitCode !== null) throw new Error(`server died under load: ${server.stderr()}`);
    if (!r.requests) throw new Error('no requests served');
    if (r.non2xx > 0) throw new Error(`${r.non2xx} of ${r.requests} responses not 2xx`);
    if (s.sessions) {
      // Every session was read and written about requests ÷ SESSIONS times more: the counter says so.
      const after = await get(server.url, cookies[0]);
      if (!(after.n > 2)) throw new Error(`after the load a session's counter is ${after.n}: the writes were not kept`);
    }
    return { rps: r.rps, cpuPer: cpu / r.requests, redisPer: s.redis ? redisCpu / r.requests : NaN, errors: r.errors };
  } finally {
    await stopChild(server.child);
  }
}

export async function main(argv) {
  const opts = parseOptions('session', { rounds: 3, duration: 5, warmup: 2, connections: 100, 'node-flags': '--min-semi-space-size=16', servers: SERVERS.map((s) => s.name).join(',') }, argv);
  const servers = SERVERS.filter((s) => String(opts.servers).split(',').includes(s.name));
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => { for (const c of live) c.kill('SIGKILL'); process.exit(130); });
  if (spawnSync('wrk', ['-v']).error) { console.error('session: needs wrk (apt-get install wrk)'); process.exit(1); }
  if (!existsSync(join(BENCH, 'node_modules', '@fastify', 'session'))) {
    const r = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: BENCH, stdio: 'inherit' });
    if (r.status !== 0) { console.error('session: npm ci in bench/ failed'); process.exit(1); }
  }
  const build = spawnSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, encoding: 'utf8' });
  if (build.status !== 0 || !existsSync(join(ROOT, 'dist', 'index.js'))) { console.error(`session: npm run build failed\n${build.stdout}${build.stderr}`); process.exit(1); }
  pin = cpus().length >= 2 && !spawnSync('taskset', ['-c', '0', 'true']).error;
  const flags = String(opts['node-flags']).split(' ').filter(Boolean);
  const redisVersion = spawnSync(REDIS_SERVER, ['--version'], { encoding: 'utf8' }).stdout.trim().replace(/ sha=.*/, '');
  const loadStart = loadavg()[0];
  const machine = `${cpus().length} cores, ${cpus()[0]?.model.trim() ?? 'unknown'}, Node ${process.version}, ${redisVersion}`;
  const pinning = pin ? 'servers on core 1; wrk and redis-server on core 0 (taskset)' : 'not pinned (taskset or a second core missing)';
  console.log(`machine: ${machine}; ${pinning}; load average ${loadStart.toFixed(2)} at the start`);
  console.log(`${opts.rounds} round(s) of ${opts.duration} s (+${opts.warmup} s warm-up), wrk -t1 -c${opts.connections}, ${SESSIONS} sessions sent in turn`);

  const redis = await startRedis();
  const runs = Object.fromEntries(servers.map((s) => [s.name, []]));
  const errors = Object.fromEntries(servers.map((s) => [s.name, []]));
  const paired = Object.fromEntries(RATIOS.map((r) => [r.what, []]));
  try {
    for (let round = 0; round < opts.rounds; round++) {
      const order = round === 1 ? [...servers].reverse() : servers.map((_, i) => servers[(i + round) % servers.length]);
      const inRound = {};
      for (const s of order) {
        try {
          const r = await measure(s, opts, flags, redis);
          runs[s.name].push(r);
          inRound[s.name] = r;
          console.log(`[${round + 1}/${opts.rounds}] ${s.name.padEnd(15)} ${r.rps.toFixed(0).padStart(8)} req/s  ${r.cpuPer.toFixed(1).padStart(6)} µs CPU/req${s.redis ? `  redis ${r.redisPer.toFixed(1)} µs/req` : ''}${r.errors ? `  (socket errors: ${r.errors})` : ''}`);
        } catch (e) {
          errors[s.name].push(e.message);
          console.log(`[${round + 1}/${opts.rounds}] ${s.name.padEnd(15)}      n/a  ${e.message}`);
        }
      }
      for (const r of RATIOS) if (inRound[r.of] && inRound[r.to]) paired[r.what].push(inRound[r.of].cpuPer / inRound[r.to].cpuPer);
    }
  } finally {
    redis.stop();
  }
  const loadEnd = loadavg()[0];
  const fmt = (x) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : 'n/a');
  const f1 = (x) => (Number.isFinite(x) ? x.toFixed(1) : '—');
  const rows = servers.map((s) => {
    const rs = runs[s.name];
    if (!rs.length) return `| ${s.name} | n/a | n/a | — | ${errors[s.name][0] ?? ''} |`;
    return `| ${s.name} | ${fmt(median(rs.map((r) => r.rps)))} | ${f1(median(rs.map((r) => r.cpuPer)))} | ${f1(median(rs.map((r) => r.redisPer)))} | ${rs.map((r) => fmt(r.rps)).join(', ')} |`;
  });
  const ratioRows = RATIOS.filter((r) => paired[r.what].length).map((r) => `| ${r.what} | **${median(paired[r.what]).toFixed(2)}** | ${paired[r.what].map((x) => x.toFixed(2)).join(', ')} |`);
  const markdown = [
    `# session: one session value read and written per request (${new Date().toISOString().slice(0, 10)})`,
    '',
    `Machine: ${machine}; ${pinning}. Load average ${loadStart.toFixed(2)} at the start, ${loadEnd.toFixed(2)} at the end. Load: wrk -t1 -c${opts.connections} with ${SESSIONS} session cookies sent in turn (bench/load/session.lua), ${opts.duration} s after a ${opts.warmup} s warm-up, ${opts.rounds} interleaved rounds. Node flags: \`${opts['node-flags']}\`.`,
    '',
    '| server | median req/s | median server CPU µs/req | median Redis CPU µs/req | req/s by round |',
    '|---|---|---|---|---|',
    ...rows,
    '',
    'Server CPU per request, paired by round (the ratio within each round, then the median; above 1: the first costs more):',
    '',
    '| ratio | median | by round |',
    '|---|---|---|',
    ...ratioRows,
    '',
  ].join('\n');
  console.log(`\n${markdown}`);
  writeResults('session', markdown);
}
