// The `ws` scenario (npm run bench -- ws): a WebSocket echo endpoint on Drupe against ws's own
// WebSocketServer doing the same echo, in interleaved rounds (the order alternates each round).
// Per server and round: echoes per second (`connections` sockets with `window` messages of 64
// bytes in flight each), server CPU per echo, and the memory one idle socket costs (RSS after
// garbage collection with `idle` sockets open, minus before, divided by `idle`). Medians over
// rounds. Server on core 1, load on core 0 when taskset and a second core exist. Only 127.0.0.1.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpuMicros } from './load/proc.mjs';
import { parseOptions, writeResults } from './load/results.mjs';
import { median } from './report.mjs';

const BENCH = dirname(fileURLToPath(import.meta.url));
const ROOT = join(BENCH, '..');
const SERVERS = [
  { name: 'plain ws', file: 'ws-plain.mjs' },
  { name: 'Drupe', file: 'ws-drupe.mjs' },
];
const live = new Set();
process.on('exit', () => { for (const c of live) c.kill('SIGKILL'); });

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer().listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
    s.on('error', reject);
  });
}

const pin = cpus().length >= 2 && !spawnSync('taskset', ['-c', '0', 'true']).error;
const pinned = (core, args) => (pin ? ['taskset', ['-c', String(core), process.execPath, ...args]] : [process.execPath, args]);

/** A child whose stdout lines come through `next(pattern)`, each wait bounded. */
function child(core, args, options = {}) {
  const [cmd, a] = pinned(core, args);
  const proc = spawn(cmd, a, { stdio: ['pipe', 'pipe', 'inherit'], ...options });
  live.add(proc);
  proc.on('exit', () => live.delete(proc));
  let buf = '';
  const waiting = [];
  proc.stdout.on('data', (d) => {
    buf += d;
    for (let i = 0; i < waiting.length; i++) {
      const m = waiting[i].re.exec(buf);
      if (m) { buf = buf.slice(m.index + m[0].length); waiting.splice(i--, 1)[0].resolve(m); }
    }
  });
  const next = (re, ms = 60_000) => new Promise((resolve, reject) => {
    const m = re.exec(buf);
    if (m) { buf = buf.slice(m.index + m[0].length); resolve(m); return; }
    const t = setTimeout(() => reject(new Error(`no ${re} within ${ms} ms`)), ms);
    waiting.push({ re, resolve: (x) => { clearTimeout(t); resolve(x); } });
  });
  return { proc, next };
}

async function measure(server, o) {
  const port = await freePort();
  const s = child(1, ['--expose-gc', join(BENCH, 'servers', server.file), String(port)], { cwd: join(BENCH, 'servers'), env: { ...process.env, NODE_ENV: 'production' } });
  await s.next(/ready\n/);
  // The server's process: under taskset, the child of taskset is the same process (taskset execs).
  const pid = s.proc.pid;
  const load = join(BENCH, 'load', 'ws-load.mjs');
  const cpu0 = cpuMicros(pid);
  const echo = child(0, [load, `--port=${port}`, '--mode=echo', `--connections=${o.connections}`, `--window=${o.window}`, `--duration=${o.duration}`]);
  const { echoesPerSecond } = JSON.parse((await echo.next(/\{.*\}\n/, (o.duration + 30) * 1000))[0]);
  await new Promise((r) => echo.proc.once('exit', r));
  const cpuPerEcho = (cpuMicros(pid) - cpu0) / (echoesPerSecond * (o.duration + 1));
  s.proc.stdin.write('mem\n');
  const before = Number((await s.next(/rss (\d+)\n/))[1]);
  const idle = child(0, [load, `--port=${port}`, '--mode=idle', `--count=${o.idle}`]);
  await idle.next(/open\n/);
  await new Promise((r) => setTimeout(r, 500));
  s.proc.stdin.write('mem\n');
  const after = Number((await s.next(/rss (\d+)\n/))[1]);
  idle.proc.stdin.end();
  await new Promise((r) => idle.proc.once('exit', r));
  s.proc.kill('SIGTERM');
  await new Promise((r) => s.proc.once('exit', r));
  return { echoesPerSecond, cpuPerEcho, bytesPerIdle: (after - before) / o.idle };
}

export async function main(argv) {
  const o = parseOptions('ws', { rounds: 5, duration: 5, connections: 50, window: 8, idle: 2000 }, argv);
  if (!existsSync(join(ROOT, 'dist', 'index.js'))) spawnSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'inherit' });
  const results = Object.fromEntries(SERVERS.map((s) => [s.name, []]));
  for (let round = 0; round < o.rounds; round++) {
    const order = round % 2 ? [...SERVERS].reverse() : SERVERS;
    for (const server of order) {
      const r = await measure(server, o);
      results[server.name].push(r);
      console.log(`round ${round + 1} ${server.name}: ${Math.round(r.echoesPerSecond)} echoes/s, ${r.cpuPerEcho.toFixed(1)} µs CPU/echo, ${(r.bytesPerIdle / 1024).toFixed(1)} KiB/idle socket`);
    }
  }
  const row = (name) => {
    const rs = results[name];
    return { name, eps: median(rs.map((r) => r.echoesPerSecond)), cpu: median(rs.map((r) => r.cpuPerEcho)), kib: median(rs.map((r) => r.bytesPerIdle)) / 1024 };
  };
  const [plain, drupe] = SERVERS.map((s) => row(s.name));
  const lines = [
    `# ws scenario, ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC`,
    '',
    `Node ${process.version}, ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), load average ${loadavg().map((x) => x.toFixed(2)).join(' ')} at the end; ${pin ? 'server on core 1, load on core 0 (taskset)' : 'not pinned'}.`,
    `${o.rounds} interleaved rounds; echo: ${o.connections} sockets × ${o.window} messages of 64 bytes in flight, ${o.duration} s after 1 s of warm-up; idle: ${o.idle} sockets. Medians.`,
    '',
    '| server | echoes/s | server CPU µs/echo | KiB per idle socket |',
    '|---|---|---|---|',
    ...[plain, drupe].map((r) => `| ${r.name} | ${Math.round(r.eps)} | ${r.cpu.toFixed(1)} | ${r.kib.toFixed(1)} |`),
    '',
    `Drupe / plain ws: ${(drupe.eps / plain.eps).toFixed(2)}× the echoes per second, ${(drupe.kib / plain.kib).toFixed(2)}× the memory per idle socket.`,
    '',
  ];
  const text = lines.join('\n');
  console.log('\n' + text);
  writeResults('ws', text);
}
