// Worker mode (server.workers / workerPool): real processes, real cluster workers on 127.0.0.1,
// signals sent with process.kill. Every wait is bounded; each primary is killed by PID after its
// test (its workers notice the IPC channel close and stop).
//
// The counting client opens a fresh connection per request (agent: false): a keep-alive
// connection left idle is closed by a draining worker, and a client that sends its next request
// on it at that moment sees the close instead of an answer. Clients retry idempotent requests in
// that case; this test counts what the server does with the requests it was given.
import test from 'node:test';
import assert from 'node:assert/strict';
import { get as httpGet } from 'node:http';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, exposed, serve, type DrupeError } from '../src/index.js';
import { streamRequest } from '../src/testing.js';
import { within, waitFor } from './helpers/async.js';
import { tempDir } from './helpers/files.js';
import { spawnNode, type Spawned } from './helpers/process.js';
import { freePort } from './helpers/server.js';

const SKIP = process.platform === 'win32' ? 'POSIX signals' : false;

/**
 * The site. MODE 'pool': the primary runs workerPool on the engine and each worker a
 * serverPlugin + runAsWorker; MODE 'serve': serve() with server.workers in both. The worker
 * fails on purpose with THROW_AT_IMPORT (throws), REFUSE (workerFailed), or CRASH_MARKER (throws
 * when that file exists). stdout: `ready …` once every worker is ready; stderr: the log lines.
 */
const SITE = `
import cluster from 'node:cluster';
import { existsSync } from 'node:fs';
const { App, engine, exposed, serve, serverPlugin } = await import(process.env.DRUPE_INDEX);
const { workerPool, runAsWorker, workerFailed } = await import(process.env.DRUPE_WORKERS);
const wait = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const workers = Number(process.env.WORKERS);
if (cluster.isPrimary) engine.subscribe('log', (message, level) => console.error(level + ' ' + message));
if (cluster.isWorker) {
  if (process.env.THROW_AT_IMPORT) throw new Error('the app module is broken');
  if (process.env.REFUSE) workerFailed('the database is down', 3);
  if (process.env.CRASH_MARKER && existsSync(process.env.CRASH_MARKER)) throw new Error('cannot start: the crash marker is there');
}
const root = {
  index: exposed(() => 'pid ' + process.pid + '\\n' + 'x'.repeat(__BUFFERED__)),
  stream: exposed(() => (async function* () {
    yield 'pid ' + process.pid + '\\n';
    for (let i = 0; i < __CHUNKS__; i++) { await wait(5); yield 'chunk ' + i + ' ' + 'y'.repeat(200) + '\\n'; }
  })(), { 'response.stream': true }),
  crash: exposed(() => { setTimeout(() => process.exit(1), 10); return 'crashing'; }),
  // In flight for a while (about a second): a stop must let it finish.
  slow: exposed(() => (async function* () {
    yield 'pid ' + process.pid + '\\n';
    for (let i = 0; i < 20; i++) { await wait(50); yield 'slow ' + i + '\\n'; }
  })(), { 'response.stream': true }),
};
const config = { environment: 'test', 'server.shutdown_timeout': 30, ...(process.env.ACCESS_FILE ? { 'log.access_file': process.env.ACCESS_FILE } : {}) };
const port = Number(process.env.PORT);
if (process.env.MODE === 'pool') {
  if (cluster.isPrimary) {
    const pool = engine.use(workerPool({ workers, shutdownTimeout: Number(process.env.SHUTDOWN_MS ?? 30_000) }));
    engine.signals();
    try {
      await engine.start();
    } catch (error) {
      console.error('start failed: ' + error.message);
      process.exit(error.exitCode ?? 1);
    }
    console.log('ready ' + pool.pids.join(' '));
  } else {
    engine.use(serverPlugin(new App(root), { host: '127.0.0.1', port, config }));
    // A plugin whose stop never ends: the engine cuts it at its stopTimeout (15 s), the pool kills first.
    if (process.env.HANG_STOP) engine.use({ stop: () => new Promise(() => {}) });
    await engine.start();
    runAsWorker(engine);
  }
} else {
  const server = await serve(new App(root), { host: '127.0.0.1', port, config: { ...config, 'server.workers': workers } });
  if (cluster.isPrimary) {
    engine.signals();
    console.log('ready ' + server.url);
  }
}
`;
const BUFFERED = 1000;
const CHUNKS = 8;

/** What `path` answers from the worker with `pid`, byte for byte. */
function expected(path: string, pid: number): string {
  if (path === '/') return `pid ${pid}\n${'x'.repeat(BUFFERED)}`;
  let body = `pid ${pid}\n`;
  for (let i = 0; i < CHUNKS; i++) body += `chunk ${i} ${'y'.repeat(200)}\n`;
  return body;
}

interface Site extends Spawned {
  port: number;
}

async function site(t: { after(fn: () => unknown): void }, env: Record<string, string>, detached = false): Promise<Site> {
  const dir = tempDir(t, 'drupe-workers-');
  const script = join(dir, 'site.mjs');
  writeFileSync(script, SITE.replaceAll('__BUFFERED__', String(BUFFERED)).replaceAll('__CHUNKS__', String(CHUNKS)));
  const port = await freePort();
  const s = spawnNode(t, [script], {
    env: {
      ...process.env,
      MODE: 'serve',
      WORKERS: '2',
      ...env,
      PORT: String(port),
      DRUPE_INDEX: new URL('../src/index.js', import.meta.url).href,
      DRUPE_WORKERS: new URL('../src/app/workers.js', import.meta.url).href,
    },
    detached, // its own process group, for a signal sent to the whole group as a terminal does
    lines: 'both',
  });
  t.after(() => {
    // Every worker the primary logged, should one outlive it.
    for (const pid of new Set(s.output().split('\n').flatMap((l) => [...l.matchAll(/\bpids? ([\d, ]+)/g)].flatMap((m) => m[1]!.split(', ').map(Number))))) {
      if (pid > 0 && alive(pid)) process.kill(pid, 'SIGKILL');
    }
  });
  return { ...s, port, line: (match, what, ms = 60_000) => s.line(match, what, ms) };
}

/** Started workers' PIDs, from the pool's "N workers ready (pids a, b)" line. */
async function readyPids(s: Site): Promise<number[]> {
  const l = await s.line((x) => /workers ready \(pids /.test(x), 'the workers ready');
  return /\(pids ([\d, ]+)\)/.exec(l)![1]!.split(', ').map(Number);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

interface Answer { status: number; body: string }

/** One GET on a fresh connection; rejects on a connection error or a truncated body. */
function get(port: number, path: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const r = httpGet({ host: '127.0.0.1', port, path, agent: false, timeout: 30_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        if (!res.complete) reject(new Error(`truncated ${path}`));
        else resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() });
      });
    });
    r.on('error', reject);
    r.on('timeout', () => r.destroy(new Error(`no answer to ${path}`)));
  });
}

/** The worker PID an answer came from, after checking the answer is whole and right. */
function check(path: string, a: Answer): number {
  assert.equal(a.status, 200, a.body);
  const pid = Number(/^pid (\d+)\n/.exec(a.body)?.[1]);
  assert.ok(pid > 0, `no pid in ${JSON.stringify(a.body.slice(0, 40))}`);
  assert.equal(a.body, expected(path, pid), `the body of ${path} from ${pid}`);
  return pid;
}

interface Outcome { phase: string; path: string; pid?: number; error?: string }

/**
 * `concurrency` loops of GETs (buffered and streamed in turn), each tagged with the phase it
 * started in, until `stop()` holds or `max` were sent (a bound, not a target).
 */
function load(port: number, phase: () => string, stop: () => boolean, outcomes: Outcome[] = [], max = 20_000, concurrency = 4): { outcomes: Outcome[]; done: Promise<void> } {
  let sent = 0;
  const loop = async (n: number): Promise<void> => {
    while (!stop() && sent < max) {
      const path = (sent + n) % 2 === 0 ? '/' : '/stream';
      sent++;
      const started = phase();
      try {
        outcomes.push({ phase: started, path, pid: check(path, await get(port, path)) });
      } catch (error) {
        outcomes.push({ phase: started, path, error: error instanceof Error ? error.message : String(error) });
      }
    }
  };
  return { outcomes, done: Promise.all(Array.from({ length: concurrency }, (_, n) => loop(n))).then(() => undefined) };
}

const count = (outcomes: Outcome[], phase: string): { sent: number; failed: Outcome[] } => {
  const mine = outcomes.filter((o) => o.phase === phase);
  return { sent: mine.length, failed: mine.filter((o) => o.error !== undefined) };
};

function signal(s: Site, name: NodeJS.Signals): void {
  assert.ok(s.child.pid !== undefined);
  process.kill(s.child.pid, name);
}

test('workerPool: two workers share the port and both answer; SIGHUP replaces both one at a time; SIGTERM exits 0', { skip: SKIP }, async (t) => {
  const s = await site(t, { MODE: 'pool' });
  const ready = await s.line((l) => l.startsWith('ready '), 'ready');
  const pids = ready.slice(6).split(' ').map(Number);
  assert.equal(pids.length, 2);
  const seen = new Set<number>();
  for (let i = 0; i < 50 && seen.size < 2; i++) seen.add(check('/', await get(s.port, '/')));
  assert.deepEqual([...seen].sort(), [...pids].sort(), 'both workers answer');
  signal(s, 'SIGHUP');
  const done = await s.line((l) => l.includes('workers: rolling restart done (2 replaced'), 'the rolling restart');
  const fresh = /pids ([\d, ]+)\)/.exec(done)![1]!.split(', ').map(Number);
  assert.equal(fresh.filter((p) => pids.includes(p)).length, 0, 'every worker was replaced');
  const after = check('/stream', await get(s.port, '/stream'));
  assert.ok(fresh.includes(after));
  signal(s, 'SIGTERM');
  assert.deepEqual(await within(s.exited, 'the exit', 60_000), { code: 0, signal: null }, s.output());
  assert.match(s.output(), /workers: all stopped/);
});

test('workerPool: a SIGHUP during a rolling restart is not lost: another full round follows the one under way', { skip: SKIP }, async (t) => {
  const s = await site(t, { MODE: 'pool' });
  const ready = await s.line((l) => l.startsWith('ready '), 'ready');
  const first = ready.slice(6).split(' ').map(Number);
  signal(s, 'SIGHUP');
  await s.line((l) => l.includes('workers: rolling restart of 2 workers'), 'the first restart begun');
  signal(s, 'SIGHUP');
  await s.line((l) => l.includes('workers: a rolling restart is under way; another will follow it'), 'the second one queued');
  await waitFor(() => s.output().split('\n').filter((l) => l.includes('rolling restart done (2 replaced')).length === 2, 'two rounds done', 60_000);
  const rounds = s.output().split('\n').filter((l) => l.includes('rolling restart done')).map((l) => /pids ([\d, ]+)\)/.exec(l)![1]!.split(', ').map(Number));
  const [middle, last] = rounds as [number[], number[]];
  assert.equal(middle.filter((p) => first.includes(p)).length, 0);
  assert.equal(last.filter((p) => first.includes(p) || middle.includes(p)).length, 0, 'the second round replaced every worker again');
  assert.ok(last.includes(check('/', await get(s.port, '/'))));
  signal(s, 'SIGTERM');
  assert.deepEqual(await within(s.exited, 'the exit', 60_000), { code: 0, signal: null }, s.output());
});

test('workerPool: a worker that reports it cannot start (workerFailed) stops start-up with its one line and exit code', { skip: SKIP }, async (t) => {
  const s = await site(t, { MODE: 'pool', REFUSE: '1' });
  assert.deepEqual(await within(s.exited, 'the exit', 60_000), { code: 3, signal: null }, s.output());
  assert.match(s.output(), /start failed: worker \d \(pid \d+\) failed to start: the database is down \(exit code 3\)/);
});

test('server.workers: a rolling restart (SIGHUP) under a stream of requests fails or truncates none, and replaces every worker', { skip: SKIP }, async (t) => {
  const s = await site(t, {});
  await s.line((l) => l.startsWith('ready '), 'ready');
  const before = await readyPids(s);
  let phase = 'before';
  let stop = false;
  const run = load(s.port, () => phase, () => stop);
  try {
    await waitFor(() => run.outcomes.length >= 100, 'some answers before the restart', 60_000);
    phase = 'during';
    signal(s, 'SIGHUP');
    const done = await s.line((l) => l.includes('workers: rolling restart done (2 replaced'), 'the rolling restart');
    phase = 'after';
    await waitFor(() => count(run.outcomes, 'after').sent >= 100, 'answers after the restart', 60_000);
    stop = true;
    await within(run.done, 'the load to end', 60_000);
    const fresh = /pids ([\d, ]+)\)/.exec(done)![1]!.split(', ').map(Number);
    const all = ['before', 'during', 'after'].map((p) => ({ p, ...count(run.outcomes, p) }));
    t.diagnostic(`rolling restart: ${all.map((x) => `${x.p} ${x.sent} sent / ${x.failed.length} failed`).join(', ')}; total ${run.outcomes.length} sent`);
    assert.deepEqual(run.outcomes.filter((o) => o.error !== undefined), [], 'no failed or truncated answer');
    assert.ok(count(run.outcomes, 'during').sent > 0, 'requests ran during the restart');
    const afterPids = new Set(run.outcomes.filter((o) => o.phase === 'after').map((o) => o.pid!));
    for (const pid of afterPids) assert.ok(fresh.includes(pid) && !before.includes(pid), `pid ${pid} answered after the restart`);
    assert.equal(fresh.filter((p) => before.includes(p)).length, 0, 'all replaced');
  } finally {
    stop = true;
  }
  signal(s, 'SIGTERM');
  assert.deepEqual(await within(s.exited, 'the exit', 60_000), { code: 0, signal: null }, s.output());
});

test('server.workers: SIGTERM under a stream of requests — none sent before it fails, and the primary exits 0', { skip: SKIP }, async (t) => {
  const s = await site(t, {});
  await s.line((l) => l.startsWith('ready '), 'ready');
  let phase = 'before';
  let stop = false;
  const outcomes: Outcome[] = [];
  // A loop ends at the first refusal after the SIGTERM: the site is going away.
  const run = load(s.port, () => phase, () => stop || outcomes.some((o) => o.phase === 'after' && o.error !== undefined), outcomes);
  try {
    await waitFor(() => run.outcomes.length >= 100, 'some answers before the SIGTERM', 60_000);
    phase = 'after';
    signal(s, 'SIGTERM');
    const exit = await within(s.exited, 'the exit', 60_000);
    stop = true;
    await within(run.done, 'the load to end', 60_000);
    const b = count(run.outcomes, 'before');
    const a = count(run.outcomes, 'after');
    t.diagnostic(`SIGTERM: before it ${b.sent} sent / ${b.failed.length} failed; after it ${a.sent} sent / ${a.failed.length} refused (${[...new Set(a.failed.map((o) => o.error))].join('; ')})`);
    assert.deepEqual(b.failed, [], 'no request sent before the SIGTERM failed');
    assert.deepEqual(exit, { code: 0, signal: null }, s.output());
    assert.match(s.output(), /workers: all stopped/);
  } finally {
    stop = true;
  }
});

test('server.workers: a worker that crashes is replaced (after the back-off) and the site keeps answering', { skip: SKIP }, async (t) => {
  const s = await site(t, {});
  await s.line((l) => l.startsWith('ready '), 'ready');
  const before = await readyPids(s);
  const r = await get(s.port, '/crash');
  assert.equal(r.body, 'crashing');
  const crashed = await s.line((l) => /exited with code 1; starting another in 100 ms/.test(l), 'the crash logged');
  assert.match(crashed, /^40 workers: worker \d \(pid \d+\) exited with code 1; starting another in 100 ms$/);
  const replaced = await s.line((l) => /workers: worker \d \(pid \d+\) ready/.test(l), 'the replacement ready');
  const fresh = Number(/pid (\d+)/.exec(replaced)![1]);
  assert.ok(!before.includes(fresh));
  const seen = new Set<number>();
  for (let i = 0; i < 50 && !seen.has(fresh); i++) seen.add(check('/', await get(s.port, '/')));
  assert.ok(seen.has(fresh), 'the new worker answers');
  signal(s, 'SIGTERM');
  assert.deepEqual(await within(s.exited, 'the exit', 60_000), { code: 0, signal: null }, s.output());
});

test('server.workers: workers that crash at start in a loop make the primary give up with one line at level 50 and exit 1', { skip: SKIP }, async (t) => {
  const marker = join(tempDir(t, 'drupe-crash-'), 'crash');
  const s = await site(t, { CRASH_MARKER: marker });
  await s.line((l) => l.startsWith('ready '), 'ready');
  writeFileSync(marker, 'from now on a new worker throws at start');
  assert.equal((await get(s.port, '/crash')).body, 'crashing');
  assert.deepEqual(await within(s.exited, 'the exit', 120_000), { code: 1, signal: null }, s.output());
  const out = s.output();
  assert.match(out, /^50 workers: 5 crashes within 60 s \(the last: worker \d \(pid \d+\) failed to start: Error: cannot start: the crash marker is there \(exit code 1\)\); giving up and stopping$/m);
  for (const delay of [100, 200, 400, 800]) assert.match(out, new RegExp(`starting another in ${delay} ms`));
  assert.match(out, /workers: all stopped/);
});

test('server.workers: a worker that throws at import stops start-up with a one-line reason and a non-zero exit', { skip: SKIP }, async (t) => {
  const s = await site(t, { THROW_AT_IMPORT: '1' });
  const { code } = await within(s.exited, 'the exit', 60_000);
  assert.notEqual(code, 0);
  assert.match(s.output(), /^50 workers: worker \d \(pid \d+\) failed to start: Error: the app module is broken \(exit code 1\); stopping the others$/m);
  assert.doesNotMatch(s.output(), /^ready /m);
});

test('server.workers: a new worker that fails to start during a rolling restart leaves the old one serving, and says why at level 50', { skip: SKIP }, async (t) => {
  const marker = join(tempDir(t, 'drupe-crash-'), 'crash');
  const s = await site(t, { CRASH_MARKER: marker });
  await s.line((l) => l.startsWith('ready '), 'ready');
  const before = await readyPids(s);
  writeFileSync(marker, 'from now on a new worker throws at start');
  signal(s, 'SIGHUP');
  const why = await s.line((l) => l.includes('rolling restart stopped'), 'the restart given up');
  assert.match(why, new RegExp(`^50 workers: rolling restart stopped: worker 1 \\(pid \\d+\\) failed to start: Error: cannot start: the crash marker is there \\(exit code 1\\); worker 1 \\(pid ${before[0]}\\) keeps running$`));
  for (let i = 0; i < 10; i++) assert.ok(before.includes(check('/stream', await get(s.port, '/stream'))), 'the old workers answer');
  assert.doesNotMatch(s.output(), /starting another/, 'a failed new worker is not a crash');
  signal(s, 'SIGTERM');
  assert.deepEqual(await within(s.exited, 'the exit', 60_000), { code: 0, signal: null }, s.output());
});

test('server.workers: Ctrl-C (SIGINT to the whole process group) stops the site once, gracefully: no worker is restarted, exit 0', { skip: SKIP }, async (t) => {
  const s = await site(t, {}, true);
  await s.line((l) => l.startsWith('ready '), 'ready');
  const pids = await readyPids(s);
  check('/', await get(s.port, '/'));
  // A slow stream in flight: a worker that died of the SIGINT itself would cut it.
  const slow = streamRequest(s.port, { path: '/slow', headers: { Connection: 'close' }, timeoutMs: 30_000 });
  const res = await within(slow, 'the slow stream', 30_000);
  await within(res.chunks()[Symbol.asyncIterator]().next(), 'its first chunk', 30_000);
  process.kill(-s.child.pid!, 'SIGINT');
  const done = await within(res.done(), 'the end of the stream', 30_000);
  const body = done.body.toString();
  const pid = Number(/^pid (\d+)\n/.exec(body)?.[1]);
  assert.equal(body, `pid ${pid}\n${Array.from({ length: 20 }, (_, i) => `slow ${i}\n`).join('')}`, 'the stream in flight finished');
  assert.ok(done.complete, 'the stream ended with its last chunk');
  assert.deepEqual(await within(s.exited, 'the exit', 60_000), { code: 0, signal: null }, s.output());
  assert.match(s.output(), /workers: all stopped/);
  assert.doesNotMatch(s.output(), /starting another|exited with code|killed by/);
  await waitFor(() => pids.every((p) => !alive(p)), 'the workers gone', 15_000);
});

test('server.workers: when the primary dies, its workers notice and stop on their own', { skip: SKIP }, async (t) => {
  const s = await site(t, {});
  await s.line((l) => l.startsWith('ready '), 'ready');
  const pids = await readyPids(s);
  signal(s, 'SIGKILL');
  await within(s.exited, 'the primary killed', 15_000);
  await waitFor(() => pids.every((p) => !alive(p)), 'the workers gone after the primary', 30_000);
});

test('workerPool: a worker that outlives its shutdown timeout plus 5 s is killed, and the stop still ends', { skip: SKIP }, async (t) => {
  const s = await site(t, { MODE: 'pool', WORKERS: '1', HANG_STOP: '1', SHUTDOWN_MS: '100' });
  await s.line((l) => l.startsWith('ready '), 'ready');
  signal(s, 'SIGTERM');
  await s.line((l) => /^40 workers: worker 1 \(pid \d+\) did not stop within 5100 ms; killing it$/.test(l), 'the kill');
  assert.deepEqual(await within(s.exited, 'the exit', 60_000), { code: 0, signal: null }, s.output());
});

test('server.workers: SIGUSR2 at the primary makes the workers reopen their access log (logrotate)', { skip: SKIP }, async (t) => {
  const log = join(tempDir(t, 'drupe-workers-log-'), 'access.log');
  const s = await site(t, { ACCESS_FILE: log });
  await s.line((l) => l.startsWith('ready '), 'ready');
  const lines = (file: string): string[] => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter((l) => l !== '') : []);
  check('/', await get(s.port, '/?before'));
  await waitFor(() => lines(log).length === 1, 'the first access line', 15_000);
  renameSync(log, `${log}.1`);
  signal(s, 'SIGUSR2');
  await s.line((l) => l.includes('SIGUSR2 received; reopening log files'), 'the reopen');
  // The workers get the reopen over IPC a moment later: ask until a line lands in the new file (bounded).
  for (let i = 0; i < 200 && lines(log).length === 0; i++) check('/', await get(s.port, `/?after-${i}`));
  await waitFor(() => lines(log).length > 0, 'an access line in the new file', 15_000);
  assert.ok(lines(log).every((l) => /GET \/\?after-\d+ /.test(l)), lines(log).join('\n'));
  assert.match(lines(`${log}.1`)[0]!, /GET \/\?before /);
  signal(s, 'SIGTERM');
  assert.deepEqual(await within(s.exited, 'the exit', 60_000), { code: 0, signal: null }, s.output());
});

test('server.workers: validated as a global key; port 0 is refused before any worker starts', async () => {
  const app = (): App => new App({ index: exposed(() => 'x') });
  await assert.rejects(serve(app(), { port: 8080, config: { 'server.workers': 0 } }), (e: DrupeError) => e.code === 'DRUPE_ERR_CONFIG_VALUE' && /server\.workers/.test(e.message));
  await assert.rejects(serve(app(), { port: 8080, config: { 'server.workers': 'many' as 'auto' } }), (e: DrupeError) => e.code === 'DRUPE_ERR_CONFIG_VALUE');
  assert.throws(() => new App({ index: exposed(() => 'x') }, { '/': { 'server.workers': 2 } }), (e: DrupeError) => e.code === 'DRUPE_ERR_CONFIG_KEY');
  await assert.rejects(serve(app(), { host: '127.0.0.1', port: 0, config: { 'server.workers': 'auto' } }), (e: DrupeError) => e.code === 'DRUPE_ERR_CONFIG_VALUE' && /fixed port/.test(e.message));
});
