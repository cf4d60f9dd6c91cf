// The `h2` scenario (npm run bench -- h2): /hello and /stream over TLS with HTTP/2, load from
// h2load (Debian's nghttp2-client, installed here when missing), against raw node:http2 (its
// compatibility API, the one Drupe serves on) and Fastify with `http2: true`. Interleaved rounds;
// ratios are medians of the per-round ratios to raw node:http2, measured in the same round.
// Server on core 1, h2load on core 0 (as bench/run.mjs pins them). `--before=dir`: also a built
// checkout of an earlier Drupe (its dist/) as "drupe before", in the same rounds. Only 127.0.0.1.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:http2';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpuMicros } from './load/proc.mjs';
import { freePort, spawnReady, stopChild } from './load/server-process.mjs';
import { parseOptions, writeResults } from './load/results.mjs';
import { median } from './report.mjs';

const BENCH = dirname(fileURLToPath(import.meta.url));
const ROOT = join(BENCH, '..');
const SERVERS = [
  { name: 'node:http2', file: 'h2-node.mjs' },
  { name: 'drupe', file: 'h2-drupe.mjs' },
  { name: 'fastify', file: 'h2-fastify.mjs' },
];
const PATHS = { hello: { path: '/hello', length: 12 }, stream: { path: '/stream', length: 100 * 1024 } };
const live = new Set();

const pinned = (core, cmd, args) => (spawnSync('taskset', ['-V']).error ? [cmd, args] : ['taskset', ['-c', String(core), cmd, ...args]]);

async function start(server, flags, certEnv) {
  const env = { ...certEnv, ...server.env };
  const port = await freePort();
  const [cmd, args] = pinned(cpus().length > 1 ? 1 : 0, process.execPath, [...flags, join(BENCH, 'servers', server.file), String(port)]);
  const { child } = await spawnReady(cmd, args, { cwd: join(BENCH, 'servers'), env: { ...process.env, ...env, NODE_ENV: 'production' } }, live, 30_000)
    .catch((error) => { throw new Error(`${server.name}: ${error.message}`); });
  return { child, origin: `https://127.0.0.1:${port}` };
}

/** One h2 request with node's client: the body's length, to check the server answers right. */
function probe(origin, path, ca) {
  return new Promise((resolve, reject) => {
    const session = connect(origin, { ca });
    session.on('error', reject);
    const t = setTimeout(() => { session.destroy(); reject(new Error('probe: no answer in 10 s')); }, 10_000);
    const req = session.request({ ':path': path });
    let length = 0;
    let status = 0;
    req.on('response', (h) => { status = Number(h[':status']); });
    req.on('data', (d) => { length += d.length; });
    req.on('error', reject);
    req.on('end', () => { clearTimeout(t); session.close(); resolve({ status, length, alpn: session.alpnProtocol }); });
  });
}

function h2load(url, o, seconds) {
  return new Promise((resolve, reject) => {
    const [cmd, args] = pinned(0, 'h2load', ['-t1', `-c${o.connections}`, `-m${o.streams}`, `-D${seconds}`, url]);
    const child = spawn(cmd, args);
    live.add(child);
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    // h2load waits for the streams in flight after the duration: on a loaded machine that takes a while.
    const t = setTimeout(() => child.kill('SIGKILL'), (seconds + 60) * 1000);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      live.delete(child);
      clearTimeout(t);
      const rps = Number(/finished in [\d.]+\w*, ([\d.]+) req\/s/.exec(out)?.[1]);
      const done = /requests: (\d+) total, \d+ started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored/.exec(out);
      const non2xx = /status codes: \d+ 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/.exec(out);
      const h2 = /Application protocol: (\S+)/.exec(out)?.[1];
      if (!Number.isFinite(rps) || done === null) reject(new Error(`h2load (exit ${code ?? signal}): ${out.trim().slice(-300)}`));
      else resolve({ rps, succeeded: Number(done[3]), failed: Number(done[4]) + Number(done[5]), non2xx: non2xx === null ? 0 : Number(non2xx[1]) + Number(non2xx[2]) + Number(non2xx[3]), protocol: h2 });
    });
  });
}

/** A self-signed certificate for 127.0.0.1 (the root's selfsigned dev package), written to a temp folder. */
async function certificate() {
  const { generate } = await import('selfsigned');
  const pems = await generate([{ name: 'commonName', value: 'localhost' }], {
    keyType: 'ec', curve: 'P-256', algorithm: 'sha256',
    extensions: [{ name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }] }],
  });
  const dir = mkdtempSync(join(tmpdir(), 'drupe-bench-h2-'));
  writeFileSync(join(dir, 'cert.pem'), pems.cert);
  writeFileSync(join(dir, 'key.pem'), pems.private);
  return { dir, cert: pems.cert, env: { CERT: join(dir, 'cert.pem'), KEY: join(dir, 'key.pem') } };
}

function setup() {
  if (spawnSync('h2load', ['--version']).error) {
    console.log('installing h2load (Debian nghttp2-client) ...');
    const asRoot = process.getuid?.() === 0 ? [] : ['sudo', '-n'];
    const run = (args) => spawnSync(asRoot[0] ?? args[0], asRoot.length ? [...asRoot.slice(1), ...args] : args.slice(1), { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    run(['apt-get', 'update', '-q']);
    if (run(['apt-get', 'install', '-y', '-q', 'nghttp2-client']).status !== 0) throw new Error('h2: apt-get install nghttp2-client failed');
  }
  if (!existsSync(join(ROOT, 'node_modules'))) spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: ROOT, stdio: 'inherit' });
  if (!existsSync(join(BENCH, 'node_modules'))) spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: BENCH, stdio: 'inherit' });
  const build = spawnSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, encoding: 'utf8' });
  if (build.status !== 0 || !existsSync(join(ROOT, 'dist', 'index.js'))) throw new Error(`h2: npm run build failed\n${build.stdout}${build.stderr}`);
}

export async function main(argv) {
  const opts = parseOptions('h2', { rounds: 3, duration: 5, warmup: 2, connections: 50, streams: 10, 'node-flags': '--min-semi-space-size=16', scenarios: 'hello,stream', before: '' }, argv);
  const servers = opts.before === '' ? SERVERS
    : [...SERVERS, { name: 'drupe before', file: 'h2-drupe.mjs', env: { DRUPE_DIST: join(opts.before, 'dist', 'index.js') } }];
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => { for (const c of live) c.kill('SIGKILL'); process.exit(130); });
  setup();
  const cert = await certificate();
  try {
    const flags = String(opts['node-flags']).split(' ').filter(Boolean);
    const scenarios = String(opts.scenarios).split(',').filter((s) => PATHS[s]);
    const machine = `${cpus().length} cores, ${cpus()[0]?.model.trim() ?? 'unknown'}, Node ${process.version}, load average ${loadavg()[0].toFixed(2)} at the start`;
    console.log(`machine: ${machine}; ${opts.rounds} round(s) of ${opts.duration} s (+${opts.warmup} s warm-up), h2load -t1 -c${opts.connections} -m${opts.streams}`);
    const runs = {};
    const cpu = {};
    const ratios = {};
    for (const sc of scenarios) for (const s of servers) { runs[`${sc} ${s.name}`] = []; cpu[`${sc} ${s.name}`] = []; ratios[`${sc} ${s.name}`] = []; }
    for (let round = 0; round < opts.rounds; round++) {
      const order = servers.map((_, i) => servers[(i + round) % servers.length]);
      const inRound = {};
      for (const server of order) {
        const s = await start(server, flags, cert.env);
        try {
          for (const sc of scenarios) {
            const { path, length } = PATHS[sc];
            const p = await probe(s.origin, path, cert.cert);
            if (p.status !== 200 || p.length !== length || p.alpn !== 'h2') throw new Error(`${server.name} ${path}: probe got ${p.status}, ${p.length} bytes over ${p.alpn}`);
            await h2load(s.origin + path, opts, opts.warmup);
            const cpu0 = cpuMicros(s.child.pid);
            const r = await h2load(s.origin + path, opts, opts.duration);
            const cpuPer = (cpuMicros(s.child.pid) - cpu0) / r.succeeded;
            if (r.failed > 0 || r.non2xx > 0) throw new Error(`${server.name} ${path}: ${r.failed} failed, ${r.non2xx} not 2xx`);
            const key = `${sc} ${server.name}`;
            runs[key].push(r.rps);
            cpu[key].push(cpuPer);
            inRound[key] = r.rps;
            console.log(`[${round + 1}/${opts.rounds}] ${sc.padEnd(7)} ${server.name.padEnd(12)} ${r.rps.toFixed(0).padStart(8)} req/s  ${cpuPer.toFixed(1)} µs CPU/req  (${r.protocol})`);
          }
        } finally {
          await stopChild(s.child, 'SIGKILL');
        }
      }
      for (const sc of scenarios) for (const s of servers) ratios[`${sc} ${s.name}`].push(inRound[`${sc} ${s.name}`] / inRound[`${sc} node:http2`]);
    }
    const fmt = (x) => Math.round(x).toLocaleString('en-US');
    const rows = [];
    for (const sc of scenarios) {
      for (const s of servers) {
        const k = `${sc} ${s.name}`;
        rows.push(`| ${sc} | ${s.name} | ${fmt(median(runs[k]))} | ${median(ratios[k]).toFixed(2)} | ${median(cpu[k]).toFixed(1)} | ${runs[k].map(fmt).join(', ')} |`);
      }
    }
    const markdown = [
      `# h2: /hello and /stream over TLS with HTTP/2 (${new Date().toISOString().slice(0, 10)})`,
      '',
      `Machine: ${machine}. Load: h2load -t1 -c${opts.connections} -m${opts.streams} (${opts.connections * opts.streams} streams in flight), ${opts.duration} s after a ${opts.warmup} s warm-up, ${opts.rounds} interleaved rounds; server on core 1, h2load on core 0. Node flags: \`${opts['node-flags']}\`. A self-signed EC P-256 certificate; ALPN h2.`,
      '',
      '| scenario | server | median req/s | ÷ node:http2 (median of per-round ratios) | median CPU µs/req | req/s by round |',
      '|---|---|---|---|---|---|',
      ...rows,
      '',
    ].join('\n');
    console.log(`\n${markdown}`);
    writeResults('h2', markdown);
  } finally {
    rmSync(cert.dir, { recursive: true, force: true });
  }
}
