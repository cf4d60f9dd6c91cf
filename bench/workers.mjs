// The `workers` scenario (npm run bench -- workers): Drupe's hello in one process, then with
// server.workers 1 and 2, in interleaved rounds; the scaling ratio is the median over rounds of
// (2 workers' req/s ÷ 1 worker's req/s), each pair measured in the same round.
// Nothing is pinned here: the point is two workers on two cores, so on a 2-core machine the
// load generator shares the cores with them (docs/benchmarks.md). Only 127.0.0.1.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpuMicros } from './load/proc.mjs';
import { freePort, spawnReady, stopChild } from './load/server-process.mjs';
import { parseOptions, writeResults } from './load/results.mjs';
import { runWrk } from './load/wrk.mjs';
import { median } from './report.mjs';

const BENCH = dirname(fileURLToPath(import.meta.url));
const ROOT = join(BENCH, '..');
const CONFIGS = [
  { name: 'one process', workers: 0 },
  { name: '1 worker', workers: 1 },
  { name: '2 workers', workers: 2 },
];
const live = new Set();

/** CPU time of a server and its child processes (the workers), in µs: what a request costs the machine. */
function treeCpu(pid) {
  let total = cpuMicros(pid);
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) total += cpuMicros(Number(name));
    } catch { /* gone meanwhile */ }
  }
  return total;
}

async function start(workers, flags) {
  const port = await freePort();
  const { child } = await spawnReady(process.execPath, [...flags, join(BENCH, 'servers', 'drupe-workers.mjs'), String(port)], {
    cwd: join(BENCH, 'servers'), env: { ...process.env, NODE_ENV: 'production', WORKERS: String(workers) },
  }, live, 30_000);
  return { child, url: `http://127.0.0.1:${port}/hello` };
}

function wrk(url, connections, seconds) {
  return runWrk({ url, connections, seconds, live });
}

export async function main(argv) {
  const opts = parseOptions('workers', { rounds: 3, duration: 5, warmup: 2, connections: 100, 'node-flags': '--min-semi-space-size=16' }, argv);
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => { for (const c of live) c.kill('SIGKILL'); process.exit(130); });
  if (spawnSync('wrk', ['-v']).error) { console.error('workers: needs wrk (apt-get install wrk)'); process.exit(1); }
  const build = spawnSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, encoding: 'utf8' });
  if (build.status !== 0 || !existsSync(join(ROOT, 'dist', 'index.js'))) { console.error(`workers: npm run build failed\n${build.stdout}${build.stderr}`); process.exit(1); }
  const flags = String(opts['node-flags']).split(' ').filter(Boolean);
  const machine = `${cpus().length} cores, ${cpus()[0]?.model.trim() ?? 'unknown'}, Node ${process.version}, load average ${loadavg()[0].toFixed(2)} at the start`;
  console.log(`machine: ${machine}; ${opts.rounds} round(s) of ${opts.duration} s (+${opts.warmup} s warm-up), wrk -t1 -c${opts.connections}, not pinned`);
  const runs = Object.fromEntries(CONFIGS.map((c) => [c.name, []]));
  const cpu = Object.fromEntries(CONFIGS.map((c) => [c.name, []]));
  const ratios = [];
  for (let round = 0; round < opts.rounds; round++) {
    const order = CONFIGS.map((_, i) => CONFIGS[(i + round) % CONFIGS.length]);
    const inRound = {};
    for (const c of order) {
      const s = await start(c.workers, flags);
      try {
        const probe = await fetch(s.url, { signal: AbortSignal.timeout(10_000) });
        if ((await probe.text()) !== 'Hello World!') throw new Error('probe: wrong body');
        await wrk(s.url, opts.connections, opts.warmup);
        const cpu0 = treeCpu(s.child.pid);
        const r = await wrk(s.url, opts.connections, opts.duration);
        const cpuPer = (treeCpu(s.child.pid) - cpu0) / (r.rps * opts.duration);
        if (r.non2xx > 0) throw new Error(`${r.non2xx} responses not 2xx`);
        runs[c.name].push(r.rps);
        cpu[c.name].push(cpuPer);
        inRound[c.name] = r.rps;
        console.log(`[${round + 1}/${opts.rounds}] ${c.name.padEnd(12)} ${r.rps.toFixed(0).padStart(8)} req/s  ${cpuPer.toFixed(1)} µs CPU/req${r.errors ? `  (socket errors: ${r.errors})` : ''}`);
      } finally {
        await stopChild(s.child, 'SIGTERM', 20_000); // the primary stops its workers gracefully
      }
    }
    ratios.push(inRound['2 workers'] / inRound['1 worker']);
  }
  const fmt = (x) => Math.round(x).toLocaleString('en-US');
  const ratio = median(ratios);
  const rows = CONFIGS.map((c) => `| ${c.name} | ${fmt(median(runs[c.name]))} | ${median(cpu[c.name]).toFixed(1)} | ${runs[c.name].map(fmt).join(', ')} |`);
  const markdown = [
    `# workers: Drupe's hello in one process and with server.workers 1 and 2 (${new Date().toISOString().slice(0, 10)})`,
    '',
    `Machine: ${machine}. Load: wrk -t1 -c${opts.connections}, ${opts.duration} s after a ${opts.warmup} s warm-up, ${opts.rounds} interleaved rounds; nothing pinned (the load generator shares the cores with the workers). Node flags: \`${opts['node-flags']}\`.`,
    '',
    '| server | median req/s | median CPU µs/req (server and workers) | req/s by round |',
    '|---|---|---|---|',
    ...rows,
    '',
    `Scaling ratio (2 workers ÷ 1 worker, median of the per-round ratios ${ratios.map((r) => r.toFixed(2)).join(', ')}): **${ratio.toFixed(2)}**.`,
    '',
  ].join('\n');
  console.log(`\n${markdown}`);
  writeResults('workers', markdown);
}
