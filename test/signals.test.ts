// engine.signals(): real processes get real signals (process.kill), and a process that never
// asks for signal handling keeps node's own. Every wait is bounded; each child is killed by PID
// after its test.
import test from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { rawRequest, streamRequest } from '../src/testing.js';
import { Engine, engine, exposed, quickstart } from '../src/index.js';
import { waitFor, within } from './helpers/async.js';
import { tempDir } from './helpers/files.js';
import { req } from './helpers/http.js';
import { spawnNode, type Spawned } from './helpers/process.js';

const SKIP = process.platform === 'win32' ? 'POSIX signals' : false;

/**
 * The site each child serves. MODE picks how: 'quickstart', 'engine' (serverPlugin +
 * engine.signals()), 'failing-stop' (as 'engine', plus a plugin whose stop throws) or 'none'
 * (engine + serverPlugin, signals() never called). The first line out is `url <url>`.
 */
const SITE = `
const { App, engine, exposed, quickstart, serverPlugin } = await import(process.env.DRUPE_INDEX);
const mode = process.env.MODE;
const wait = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const root = {
  index: exposed(() => 'hello'),
  // In flight until the engine begins to stop (bounded), then answered.
  slow: exposed(async () => {
    console.log('slow started');
    for (let i = 0; i < 1000 && engine.state === 'started'; i++) await wait(10);
    return 'slow done';
  }),
  // A stream that does not listen to request.signal: it holds the drain open (bounded).
  stream: exposed(() => (async function* () {
    for (let i = 0; i < 600; i++) { yield 'chunk ' + i + '\\n'; await wait(100); }
  })(), { 'response.stream': true }),
};
const accessFile = process.env.ACCESS_FILE ? { 'log.access_file': process.env.ACCESS_FILE } : {};
const options = { host: '127.0.0.1', port: 0, config: { environment: 'test', 'server.shutdown_timeout': 60, ...accessFile } };
engine.subscribe('graceful', () => console.log('graceful ran'));
engine.subscribe('log', (message) => console.error(message));
if (mode === 'quickstart') {
  const server = await quickstart(root, {}, options);
  console.log('url ' + server.url);
} else {
  const plugin = engine.use(serverPlugin(new App(root), options));
  if (mode === 'failing-stop') engine.use({ stop() { throw new Error('the database would not close'); } });
  if (mode !== 'none') engine.signals();
  await engine.start();
  console.log('url ' + plugin.running.url);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGUSR1']) console.log('listeners ' + signal + ' ' + process.listenerCount(signal));
}
`;

interface Site extends Spawned {
  url: string;
  port: number;
}

async function site(t: { after(fn: () => unknown): void }, mode: string, env: Record<string, string> = {}): Promise<Site> {
  const dir = tempDir(t, 'drupe-signals-');
  const script = join(dir, 'site.mjs');
  writeFileSync(script, SITE);
  const s = spawnNode(t, [script], { env: { ...process.env, ...env, MODE: mode, DRUPE_INDEX: new URL('../src/index.js', import.meta.url).href } });
  const url = (await s.line((l) => l.startsWith('url '), 'its URL')).slice(4);
  return { ...s, url, port: Number(new URL(url).port) };
}

function signal(child: ChildProcess, name: NodeJS.Signals): void {
  assert.ok(child.pid !== undefined);
  process.kill(child.pid, name);
}

test('quickstart: SIGTERM while a slow request is in flight — it completes with 200 and Connection: close, then the process exits 0', { skip: SKIP }, async (t) => {
  const s = await site(t, 'quickstart');
  const answer = rawRequest(s.port, req('/slow'), { timeoutMs: 15_000 });
  await s.line((l) => l === 'slow started', 'the slow request to be in flight');
  signal(s.child, 'SIGTERM');
  const r = await within(answer, 'the slow answer', 15_000);
  const res = r.responses[0];
  assert.ok(res !== undefined, r.text);
  assert.equal(res.status, 200);
  assert.equal(res.body.toString(), 'slow done');
  assert.equal(res.headers.connection, 'close');
  assert.deepEqual(await within(s.exited, 'the exit', 15_000), { code: 0, signal: null }, s.stderr());
  assert.match(s.stderr(), /SIGTERM received; stopping gracefully/);
});

test('quickstart: SIGINT, then a second SIGINT while a stream holds the drain open — exits at once with 130', { skip: SKIP }, async (t) => {
  const s = await site(t, 'quickstart');
  const res = await within(streamRequest(s.port, { path: '/stream', timeoutMs: 15_000 }), 'the stream head', 15_000);
  assert.equal(res.status, 200);
  const chunks = res.chunks()[Symbol.asyncIterator]();
  await within(chunks.next(), 'the first chunk', 15_000);
  signal(s.child, 'SIGINT');
  // The first SIGINT is being handled (the drain has begun) before the second is sent.
  await within((async () => { while (!s.stderr().includes('SIGINT received; stopping gracefully')) await new Promise((r) => setTimeout(r, 10)); })(), 'the first SIGINT logged', 15_000);
  signal(s.child, 'SIGINT');
  // server.shutdown_timeout is 60 s and the stream ignores request.signal: only the second SIGINT ends the process within the guard.
  assert.deepEqual(await within(s.exited, 'the immediate exit', 15_000), { code: 130, signal: null }, s.stderr());
  assert.match(s.stderr(), /SIGINT received again while stopping; exiting now \(code 130\)/);
  res.disconnect();
});

test("engine.signals(): SIGUSR1 and SIGHUP publish 'graceful' and the server keeps serving; SIGTERM then exits 0", { skip: SKIP }, async (t) => {
  const s = await site(t, 'engine');
  assert.ok(await s.line((l) => l === 'listeners SIGTERM 1', 'its SIGTERM listener count'));
  signal(s.child, 'SIGUSR1');
  await s.line((l) => l === 'graceful ran', "the 'graceful' listener after SIGUSR1");
  let r = await rawRequest(s.port, req('/', { headers: { Connection: 'close' } }));
  assert.equal(r.responses[0]?.status, 200);
  assert.equal(r.responses[0]?.body.toString(), 'hello');
  signal(s.child, 'SIGHUP');
  await within((async () => { while (!s.stderr().includes("SIGHUP received; publishing 'graceful'")) await new Promise((res) => setTimeout(res, 10)); })(), 'SIGHUP handled', 15_000);
  r = await rawRequest(s.port, req('/', { headers: { Connection: 'close' } }));
  assert.equal(r.responses[0]?.body.toString(), 'hello');
  signal(s.child, 'SIGTERM');
  assert.deepEqual(await within(s.exited, 'the exit', 15_000), { code: 0, signal: null }, s.stderr());
});

test('engine.signals(): SIGUSR2 reopens the access log at its path, as logrotate needs after moving the file', { skip: SKIP }, async (t) => {
  const dir = tempDir(t, 'drupe-logrotate-');
  const log = join(dir, 'access.log');
  const s = await site(t, 'engine', { ACCESS_FILE: log });
  const lines = (file: string): string[] => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter((l) => l !== '') : []);
  await within(rawRequest(s.port, req('/?before', { headers: { Connection: 'close' } })), 'the first answer', 15_000);
  await waitFor(() => lines(log).length === 1, 'the first access line', 15_000);
  renameSync(log, `${log}.1`); // what logrotate does; the server still writes to the moved file until told
  signal(s.child, 'SIGUSR2');
  await waitFor(() => s.stderr().includes('SIGUSR2 received; reopening log files'), 'the reopen', 15_000);
  await within(rawRequest(s.port, req('/?after', { headers: { Connection: 'close' } })), 'the second answer', 15_000);
  await waitFor(() => lines(log).length === 1, 'the access line in the new file', 15_000);
  assert.match(lines(log)[0]!, /GET \/\?after /);
  assert.equal(lines(`${log}.1`).length, 1);
  assert.match(lines(`${log}.1`)[0]!, /GET \/\?before /);
  signal(s.child, 'SIGTERM');
  assert.deepEqual(await within(s.exited, 'the exit', 15_000), { code: 0, signal: null }, s.stderr());
});

test('engine.signals(): when stopping fails, SIGTERM exits with 1 and says why', { skip: SKIP }, async (t) => {
  const s = await site(t, 'failing-stop');
  signal(s.child, 'SIGTERM');
  assert.deepEqual(await within(s.exited, 'the exit', 15_000), { code: 1, signal: null }, s.stderr());
  assert.match(s.stderr(), /stopping failed \(the database would not close\); exiting with code 1/);
});

test('a process that never calls engine.signals() keeps node’s own handling: no listener, SIGTERM ends it', { skip: SKIP }, async (t) => {
  const s = await site(t, 'none');
  for (const name of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGUSR1']) {
    assert.ok(await s.line((l) => l === `listeners ${name} 0`, `no ${name} listener`));
  }
  signal(s.child, 'SIGTERM');
  assert.deepEqual(await within(s.exited, 'the exit', 15_000), { code: null, signal: 'SIGTERM' });
});

// ---------------------------------------------------------------------------
// In this process: listeners come and go (no signal is ever sent here)

const HANDLED = ['SIGINT', 'SIGTERM', 'SIGHUP', ...(process.platform === 'win32' ? [] : ['SIGUSR1'])] as const;
const counts = (): number[] => HANDLED.map((s) => process.listenerCount(s));

test('engine.signals() installs one handler per signal however often it is called; each undo counts, signals(false) removes them all', () => {
  const e = new Engine();
  const before = counts();
  const undoA = e.signals();
  const undoB = e.signals();
  assert.deepEqual(counts(), before.map((n) => n + 1));
  undoA();
  undoA();
  assert.deepEqual(counts(), before.map((n) => n + 1), 'still one caller');
  undoB();
  assert.deepEqual(counts(), before);
  e.signals();
  e.signals();
  e.signals(false);
  assert.deepEqual(counts(), before, 'signals(false) took them off');
  e.signals(false);
  assert.deepEqual(counts(), before);
});

test('quickstart on a port in use rejects and leaves no signal handler behind; the first server runs on', async (t) => {
  const before = counts();
  const write = process.stdout.write;
  process.stdout.write = (() => true) as typeof process.stdout.write;
  let first: Awaited<ReturnType<typeof quickstart>>;
  try {
    first = await quickstart({ index: exposed(() => 'x') }, {}, { host: '127.0.0.1', port: 0, config: { environment: 'test' } });
  } finally {
    process.stdout.write = write;
  }
  t.after(() => first.close());
  assert.deepEqual(counts(), before.map((n) => n + 1));
  await assert.rejects(quickstart({ index: exposed(() => 'y') }, {}, { host: '127.0.0.1', port: first.port, config: { environment: 'test' } }), /EADDRINUSE/);
  assert.deepEqual(counts(), before.map((n) => n + 1), 'only the first quickstart’s handlers');
  assert.equal(engine.state, 'started', 'the first server runs on');
  const r = await rawRequest(first.port, req('/', { headers: { Connection: 'close' } }));
  assert.equal(r.responses[0]?.body.toString(), 'x');
  await first.close();
  assert.deepEqual(counts(), before);
});
