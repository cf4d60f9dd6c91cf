// The `validate` scenario (npm run bench -- validate): a POST of a small JSON body validated by a
// schema before the handler, Drupe (a zod, a valibot and an arktype schema, and no schema: the body only
// parsed) against Fastify with its JSON Schema validation (Ajv) doing the same, Fastify with the
// same zod, valibot and arktype schemas (its validatorCompiler), and raw node:http
// doing it by hand with the same libraries (the floor under any framework). Interleaved rounds,
// medians; the server pinned to core 1 and wrk to core 0; CPU per request from /proc. The machine
// may be shared: the load average is reported at the start and the end. Only 127.0.0.1.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpuMicros } from './load/proc.mjs';
import { freePort, spawnReady, stopChild } from './load/server-process.mjs';
import { VALIDATE_BODY } from './servers/validate-common.mjs';
import { parseOptions, writeResults } from './load/results.mjs';
import { runWrk } from './load/wrk.mjs';
import { median } from './report.mjs';

const BENCH = dirname(fileURLToPath(import.meta.url));
const ROOT = join(BENCH, '..');
const ALL = [
  { name: 'fastify (JSON Schema, Ajv)', file: 'validate-fastify.mjs', env: {} },
  { name: 'drupe (zod)', file: 'validate-drupe.mjs', env: { SCHEMA: 'zod' }, lib: 'zod' },
  { name: 'drupe (valibot)', file: 'validate-drupe.mjs', env: { SCHEMA: 'valibot' }, lib: 'valibot' },
  // arktype: a Standard Schema library that compiles its schemas, as Ajv does.
  { name: 'drupe (arktype)', file: 'validate-drupe.mjs', env: { SCHEMA: 'arktype' }, lib: 'arktype' },
  { name: 'drupe (no schema)', file: 'validate-drupe.mjs', env: { SCHEMA: 'none' } },
  // Fastify with the same Standard Schema library as Drupe (a validatorCompiler, as its docs teach).
  { name: 'fastify (zod)', file: 'validate-fastify-standard.mjs', env: { SCHEMA: 'zod' }, lib: 'zod', peer: true },
  { name: 'fastify (valibot)', file: 'validate-fastify-standard.mjs', env: { SCHEMA: 'valibot' }, lib: 'valibot', peer: true },
  { name: 'fastify (arktype)', file: 'validate-fastify-standard.mjs', env: { SCHEMA: 'arktype' }, lib: 'arktype', peer: true },
  // The floor: raw node:http doing the same by hand with the same library, no framework at all.
  { name: 'node:http (zod)', file: 'validate-node.mjs', env: { SCHEMA: 'zod' } },
  { name: 'node:http (valibot)', file: 'validate-node.mjs', env: { SCHEMA: 'valibot' } },
  { name: 'node:http (arktype)', file: 'validate-node.mjs', env: { SCHEMA: 'arktype' } },
  { name: 'node:http (no schema)', file: 'validate-node.mjs', env: { SCHEMA: 'none' } },
];
const live = new Set();
let pin = false;

function pinned(core, cmd, args) {
  return pin ? ['taskset', ['-c', String(core), cmd, ...args]] : [cmd, args];
}

async function start(server, flags) {
  const port = await freePort();
  const dir = server.dir ?? join(BENCH, 'servers');
  const [cmd, args] = pinned(1, process.execPath, [...flags, join(dir, server.file), String(port)]);
  const { child } = await spawnReady(cmd, args, {
    cwd: dir, env: { ...process.env, NODE_ENV: 'production', ...server.env },
  }, live, 15_000);
  return { child, url: `http://127.0.0.1:${port}/users` };
}

function wrk(url, connections, seconds) {
  return runWrk({ url, connections, seconds, script: join(BENCH, 'load', 'validate-post.lua'), env: { ...process.env, VALIDATE_BODY }, pin, live });
}

/** The server answers the scenario's request with 200 and `{ ok: true, name }`, and refuses a bad body with a 400. */
async function probe(url) {
  const post = (body) => fetch(url, { method: 'POST', body, headers: { 'Content-Type': 'application/json' }, signal: AbortSignal.timeout(10_000) });
  const ok = await post(VALIDATE_BODY);
  const text = await ok.text();
  if (ok.status !== 200 || JSON.parse(text).name !== 'Ada Lovelace') throw new Error(`probe: ${ok.status} ${text.slice(0, 80)}`);
  return (await post(JSON.stringify({ name: '', email: 'x', age: -1, tags: [] }))).status;
}

export async function main(argv) {
  const opts = parseOptions('validate', { rounds: 3, duration: 5, warmup: 2, connections: 50, 'node-flags': '--min-semi-space-size=16', before: '' }, argv);
  // --before=<checkout>: an earlier build (its dist/ and bench/ installed) as 'before: drupe (…)' in the same rounds.
  const SERVERS = opts.before === '' ? ALL : [...ALL, ...ALL.filter((s) => s.file === 'validate-drupe.mjs').map((s) => ({ ...s, name: `before: ${s.name}`, dir: join(resolve(opts.before), 'bench', 'servers') }))];
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => { for (const c of live) c.kill('SIGKILL'); process.exit(130); });
  if (spawnSync('wrk', ['-v']).error) { console.error('validate: needs wrk (apt-get install wrk)'); process.exit(1); }
  pin = cpus().length >= 2 && !spawnSync('taskset', ['-c', '0', 'true']).error;
  const build = spawnSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, encoding: 'utf8' });
  if (build.status !== 0 || !existsSync(join(ROOT, 'dist', 'index.js'))) { console.error(`validate: npm run build failed\n${build.stdout}${build.stderr}`); process.exit(1); }
  const flags = String(opts['node-flags']).split(' ').filter(Boolean);
  const loadStart = loadavg();
  const machine = `${cpus().length} cores, ${cpus()[0]?.model.trim() ?? 'unknown'}, Node ${process.version}`;
  const where = pin ? 'server on core 1, wrk on core 0' : 'not pinned';
  console.log(`machine: ${machine}; load average ${loadStart.map((x) => x.toFixed(2)).join(' ')}; ${opts.rounds} round(s) of ${opts.duration} s (+${opts.warmup} s warm-up), wrk -t1 -c${opts.connections}; ${where}`);
  const rps = Object.fromEntries(SERVERS.map((s) => [s.name, []]));
  const cpu = Object.fromEntries(SERVERS.map((s) => [s.name, []]));
  const refusals = {};
  for (let round = 0; round < opts.rounds; round++) {
    const order = SERVERS.map((_, i) => SERVERS[(i + round) % SERVERS.length]);
    for (const server of order) {
      const s = await start(server, flags);
      try {
        refusals[server.name] = await probe(s.url);
        await wrk(s.url, opts.connections, opts.warmup);
        const cpu0 = cpuMicros(s.child.pid);
        const r = await wrk(s.url, opts.connections, opts.duration);
        const cpuPer = (cpuMicros(s.child.pid) - cpu0) / r.requests;
        if (r.non2xx > 0) throw new Error(`${r.non2xx} responses not 2xx`);
        rps[server.name].push(r.rps);
        cpu[server.name].push(cpuPer);
        console.log(`[${round + 1}/${opts.rounds}] ${server.name.padEnd(28)} ${r.rps.toFixed(0).padStart(8)} req/s  ${cpuPer.toFixed(1)} µs CPU/req${r.errors ? `  (socket errors: ${r.errors})` : ''}`);
      } finally {
        await stopChild(s.child);
      }
    }
  }
  const loadEnd = loadavg();
  const fmt = (x) => Math.round(x).toLocaleString('en-US');
  const base = SERVERS[0].name;
  const rows = SERVERS.map((s) => {
    const c = median(cpu[s.name]);
    // Drupe against Fastify running the same schema library (what a user switching frameworks keeps).
    const same = s.lib === undefined || s.peer ? undefined : SERVERS.find((p) => p.peer && p.lib === s.lib);
    const vsSame = same === undefined ? '' : (median(cpu[same.name]) / c).toFixed(2);
    return `| ${s.name} | ${fmt(median(rps[s.name]))} | ${c.toFixed(1)} | ${(median(cpu[base]) / c).toFixed(2)} | ${vsSame} | ${rps[s.name].map(fmt).join(', ')} | ${refusals[s.name]} |`;
  });
  const markdown = [
    `# validate: a POST with a small JSON body validated by a schema (${new Date().toISOString().slice(0, 10)})`,
    '',
    `Machine: ${machine}; ${where}. Load average (1, 5, 15 min) ${loadStart.map((x) => x.toFixed(2)).join(', ')} at the start, ${loadEnd.map((x) => x.toFixed(2)).join(', ')} at the end. Load: wrk -t1 -c${opts.connections} POSTing ${VALIDATE_BODY.length} bytes of JSON, ${opts.duration} s after a ${opts.warmup} s warm-up, ${opts.rounds} interleaved rounds, medians. Node flags: \`${opts['node-flags']}\`.`,
    '',
    '| server | median req/s | median CPU µs/req | Fastify (Ajv)\'s CPU/req ÷ this one\'s | Fastify with the same library ÷ this one | req/s by round | status for an invalid body |',
    '|---|---|---|---|---|---|---|',
    ...rows,
    '',
  ].join('\n');
  console.log(`\n${markdown}`);
  writeResults('validate', markdown);
}
