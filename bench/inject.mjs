// The `inject` scenario (npm run bench -- inject): the same hello handler answered in process
// and over a socket, in interleaved rounds (the order rotates each round), each mode in a
// fresh process on core 1:
//   app.inject({ url })            the options form (in-process request and sink)
//   app.inject(url)                the fetch-like form (app.fetch's web Request and Response)
//   light-my-request               the injection library, against app.listener
//   socket, client in process      serve() and node's http client with a keep-alive agent in one process, as a test does
//   socket, wrk                    serve() alone, wrk -c100 from core 0: the server's best case; its CPU alone
// Per mode: requests per second and CPU µs per request (for the in-process modes and the
// socket with its client, the whole process's; for wrk, the server's). `window` requests in
// flight (1: one after another, as a test awaits them). Medians over rounds.
//   npm run bench -- inject [--rounds=5 --duration=3 --window=1]
import { spawn, spawnSync } from 'node:child_process';

import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpuMicros } from './load/proc.mjs';
import { parseOptions, writeResults } from './load/results.mjs';
import { median } from './report.mjs';

const BENCH = dirname(fileURLToPath(import.meta.url));
const ROOT = join(BENCH, '..');
const LOOP = join(BENCH, 'load', 'inject-loop.mjs');
const MODES = [
  { mode: 'inject', name: 'app.inject({ url })' },
  { mode: 'inject-fetch', name: 'app.inject(url) (fetch-like form)' },
  { mode: 'lmr', name: 'light-my-request on app.listener' },
  { mode: 'socket', name: 'socket: serve() + http client in one process' },
  { mode: 'serve', name: 'socket: serve(), wrk -c100 from core 0' },
];
const live = new Set();
process.on('exit', () => { for (const c of live) c.kill('SIGKILL'); });

const pin = cpus().length >= 2 && !spawnSync('taskset', ['-c', '0', 'true']).error;
const hasWrk = !spawnSync('wrk', ['-v']).error;

function start(core, cmd, args, options = {}) {
  const [c, a] = pin ? ['taskset', ['-c', String(core), cmd, ...args]] : [cmd, args];
  const proc = spawn(c, a, { stdio: ['pipe', 'pipe', 'inherit'], cwd: BENCH, ...options });
  live.add(proc);
  let out = '';
  proc.stdout.on('data', (d) => { out += d; });
  const exited = new Promise((resolve) => proc.on('exit', (code) => { live.delete(proc); resolve(code); }));
  /** The first match of `re` in what the process printed, waited for at most `ms`. */
  const next = async (re, ms) => {
    for (const until = Date.now() + ms; Date.now() < until; await new Promise((r) => setTimeout(r, 20))) {
      const m = re.exec(out);
      if (m) return m;
      if (proc.exitCode !== null) break;
    }
    proc.kill('SIGKILL');
    throw new Error(`${args.join(' ')}: no ${re} (output: ${out.slice(-200)})`);
  };
  return { proc, next, exited };
}

async function measure({ mode }, o) {
  const env = { ...process.env, NODE_ENV: 'production' };
  const flags = ['--min-semi-space-size=16'];
  if (mode !== 'serve') {
    const child = start(1, process.execPath, [...flags, LOOP, `--mode=${mode}`, `--duration=${o.duration}`, `--window=${o.window}`], { env });
    const r = JSON.parse((await child.next(/\{.*\}\n/, (o.duration + 30) * 1000))[0]);
    await child.exited;
    return { rps: r.requests / r.seconds, cpu: r.cpuMicros / r.requests };
  }
  const server = start(1, process.execPath, [...flags, LOOP, '--mode=serve'], { env });
  const port = (await server.next(/port (\d+)\n/, 15_000))[1];
  const url = `http://127.0.0.1:${port}/hello`;
  const wrk = (seconds) => new Promise((resolve) => {
    const load = start(0, 'wrk', ['-t1', '-c100', `-d${seconds}s`, url]);
    let out = '';
    load.proc.stdout.on('data', (d) => { out += d; });
    load.exited.then(() => resolve(out));
  });
  await wrk(1);
  const cpu0 = cpuMicros(server.proc.pid);
  const out = await wrk(o.duration);
  const cpu = cpuMicros(server.proc.pid) - cpu0;
  server.proc.stdin.end();
  await server.exited;
  const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? NaN);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN);
  return { rps, cpu: cpu / requests };
}

export async function main(argv) {
  const o = parseOptions('inject', { rounds: 5, duration: 3, window: 1 }, argv);
  console.log('building Drupe (npm run build) ...');
  if (spawnSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, stdio: 'inherit' }).status !== 0) throw new Error('npm run build failed');
  const modes = MODES.filter((m) => m.mode !== 'serve' || hasWrk);
  const results = Object.fromEntries(modes.map((m) => [m.mode, []]));
  const loads = [];
  for (let round = 0; round < o.rounds; round++) {
    const order = modes.map((_, i) => modes[(i + round) % modes.length]);
    for (const m of order) {
      const r = await measure(m, o);
      results[m.mode].push(r);
      console.log(`round ${round + 1} ${m.name}: ${Math.round(r.rps)} req/s, ${r.cpu.toFixed(1)} µs CPU/req`);
    }
    loads.push(loadavg()[0]);
  }
  const row = (m) => ({ ...m, rps: median(results[m.mode].map((r) => r.rps)), cpu: median(results[m.mode].map((r) => r.cpu)) });
  const rows = modes.map(row);
  const inject = rows[0];
  const lines = [
    `# inject scenario, ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC`,
    '',
    `Node ${process.version}, ${cpus().length} cores (${cpus()[0]?.model ?? '?'}); load average (1 min) after each round: ${loads.map((x) => x.toFixed(2)).join(', ')}; ${pin ? 'measured process on core 1, wrk on core 0 (taskset)' : 'not pinned'}.`,
    `GET /hello ("Hello World!"), ${o.rounds} interleaved rounds, ${o.duration} s each after 1 s of warm-up, ${o.window} request(s) in flight in process. Medians.`,
    '',
    '| mode | req/s | CPU µs/req | app.inject({ url }): × the req/s | × less CPU/req |',
    '|---|---:|---:|---:|---:|',
    ...rows.map((r) => `| ${r.name} | ${Math.round(r.rps).toLocaleString('en-US')} | ${r.cpu.toFixed(1)} | ${r === inject ? '—' : `${(inject.rps / r.rps).toFixed(1)}×`} | ${r === inject ? '—' : `${(r.cpu / inject.cpu).toFixed(1)}×`} |`),
    '',
  ];
  const text = lines.join('\n');
  console.log('\n' + text);
  writeResults('inject', text);
}
