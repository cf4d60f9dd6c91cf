// The `drupe` command, as an operator runs it: bin/drupe.js spawned with node, fixture modules
// (.mjs) in a temp project that imports drupe from the built package, signals sent by PID.
// Every wait is bounded; each child is killed by PID after its test.
import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { createServer, type Server } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitFor, within } from './helpers/async.js';
import { tempDir } from './helpers/files.js';
import { spawnNode, type Spawned } from './helpers/process.js';
import { freePort } from './helpers/server.js';
import { ignored } from '../src/cli/watch.js';

const SKIP = process.platform === 'win32' ? 'POSIX signals' : false;
const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = join(repo, 'bin', 'drupe.js');
const GUARD = 20_000;

type Ctx = { after(fn: () => unknown): void };

/** A temp project whose `drupe` is this repository's built package, with the given files. */
function project(t: Ctx, files: Record<string, string>): string {
  const dir = tempDir(t, 'drupe-cli-');
  mkdirSync(join(dir, 'node_modules'));
  symlinkSync(repo, join(dir, 'node_modules', 'drupe'), 'dir');
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'site', private: true, type: 'module' }));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

type Cli = Spawned;

function cli(t: Ctx, dir: string, args: string[]): Cli {
  return spawnNode(t, [BIN, ...args], { cwd: dir });
}

/** Run the command to its end. */
async function run(t: Ctx, dir: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const c = cli(t, dir, args);
  const { code } = await within(c.exited, `drupe ${args.join(' ')} to exit`, GUARD);
  // The pipes may still hold the last bytes when 'exit' fires.
  await new Promise<void>((res) => { c.child.once('close', () => res()); if (c.child.stdout!.readableEnded && c.child.stderr!.readableEnded) res(); });
  return { code, stdout: c.stdout(), stderr: c.stderr() };
}

interface Running extends Cli {
  url: string;
  port: number;
}

/** Start `drupe serve …` and wait for its "serving … on <url>" line. */
async function serve(t: Ctx, dir: string, args: string[]): Promise<Running> {
  const c = cli(t, dir, ['serve', ...args]);
  const line = await c.line((l) => l.startsWith('drupe: serving') && / on http:\/\/\S+/.test(l), 'the serving line', GUARD);
  const url = / on (http:\/\/\S+)/.exec(line)![1]!;
  return { ...c, url, port: Number(new URL(url).port) };
}

interface Answer { status: number; headers: Record<string, string | string[] | undefined>; body: string }

/** One GET on a fresh connection (a failed one rejects). */
function get(port: number, path = '/'): Promise<Answer> {
  return within(new Promise<Answer>((res, rej) => {
    const r = request({ host: '127.0.0.1', port, path, agent: false, headers: { Connection: 'close' } }, (response) => {
      let body = '';
      response.setEncoding('utf8').on('data', (c: string) => { body += c; });
      response.on('end', () => res({ status: response.statusCode ?? 0, headers: response.headers, body }));
      response.on('error', rej);
    });
    r.on('error', rej);
    r.end();
  }), `GET ${path}`, GUARD);
}

/** A port held by another server until the test ends. */
async function busyPort(t: Ctx): Promise<number> {
  const holder: Server = createServer();
  await new Promise<void>((res) => holder.listen(0, '127.0.0.1', res));
  t.after(() => new Promise<void>((res) => holder.close(() => res())));
  return (holder.address() as { port: number }).port;
}

/**
 * Requests one after another until `stop` resolves (bounded); the caller checks every answer.
 * `coveredStop` says the requests went on until `stop`, so they span what happened before it.
 */
async function hammer(port: number, path: string, stop: Promise<unknown>): Promise<{ answers: Answer[]; failures: unknown[]; coveredStop: boolean }> {
  let done = false;
  void stop.finally(() => { done = true; });
  const answers: Answer[] = [];
  const failures: unknown[] = [];
  for (let i = 0; i < 20_000 && !done; i++) {
    try {
      answers.push(await get(port, path));
    } catch (error) {
      failures.push(error);
    }
  }
  return { answers, failures, coveredStop: done };
}

/** Ask again (a bounded number of times, each request bounded) until `check` holds; false if it never did. */
async function until(check: () => Promise<boolean>, tries = 2000): Promise<boolean> {
  for (let i = 0; i < tries; i++) {
    if (await check()) return true;
    await new Promise((res) => setTimeout(res, 10));
  }
  return false;
}

const oneLine = (stderr: string): string[] => stderr.split('\n').filter((l) => l !== '');

const APP = `
import { App, exposed } from 'drupe';
export default new App({ index: exposed(() => 'from an App') });
`;
const ROOT = `
import { engine, exposed } from 'drupe';
const wait = (ms) => new Promise((r) => setTimeout(r, ms));
export default {
  index: exposed(() => 'from a root'),
  pid: exposed(() => String(process.pid)),
  boom: exposed(() => { throw new Error('boom-' + 'trace'); }),
  // In flight until the engine begins to stop (bounded), then answered.
  slow: exposed(async () => {
    console.log('slow started');
    for (let i = 0; i < 1000 && engine.state === 'started'; i++) await wait(10);
    return 'slow done';
  }),
};
`;

// ---------------------------------------------------------------------------
// Help and bad input

test('drupe --help and drupe serve --help explain every flag and exit 0; --version prints the version', async (t) => {
  const dir = project(t, {});
  const main = await run(t, dir, ['--help']);
  assert.equal(main.code, 0, main.stderr);
  assert.match(main.stdout, /drupe <command>/);
  assert.match(main.stdout, /serve <module>/);
  assert.match(main.stdout, /--version/);
  const help = await run(t, dir, ['serve', '--help']);
  assert.equal(help.code, 0, help.stderr);
  for (const flag of ['--host', '--port', '--workers', '--config', '--environment', '--watch', '--help']) {
    assert.match(help.stdout, new RegExp(`^\\s+(?:-\\w, )?${flag}\\b`, 'm'), `serve --help explains ${flag}`);
  }
  assert.match(help.stdout, /Exit codes/);
  assert.match(help.stdout, /SIGHUP/);
  const version = await run(t, dir, ['--version']);
  assert.equal(version.code, 0);
  assert.equal(version.stdout.trim(), (JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { version: string }).version);
});

const BAD: Array<{ what: string; args: string[]; files?: Record<string, string>; reason: RegExp }> = [
  { what: 'no command', args: [], reason: /missing command/ },
  { what: 'an unknown command', args: ['start'], reason: /unknown command 'start'/ },
  { what: 'an unknown flag', args: ['serve', 'app.mjs', '--prot', '80'], files: { 'app.mjs': APP }, reason: /Unknown option '--prot'/ },
  { what: 'a flag without its value', args: ['serve', 'app.mjs', '--port'], files: { 'app.mjs': APP }, reason: /--port/ },
  { what: 'no module', args: ['serve'], reason: /missing the module/ },
  { what: 'an extra argument', args: ['serve', 'app.mjs', 'other.mjs'], files: { 'app.mjs': APP }, reason: /unexpected argument 'other.mjs'/ },
  { what: 'a port out of range', args: ['serve', 'app.mjs', '--port', '70000'], files: { 'app.mjs': APP }, reason: /--port '70000' is not a port/ },
  { what: 'a port that is not a number', args: ['serve', 'app.mjs', '--port', 'http'], files: { 'app.mjs': APP }, reason: /--port 'http' is not a port/ },
  { what: 'zero workers', args: ['serve', 'app.mjs', '--workers', '0'], files: { 'app.mjs': APP }, reason: /--workers '0'/ },
  { what: 'workers not a count', args: ['serve', 'app.mjs', '--workers', 'many'], files: { 'app.mjs': APP }, reason: /--workers 'many'/ },
  { what: 'an unknown environment', args: ['serve', 'app.mjs', '--environment', 'prod'], files: { 'app.mjs': APP }, reason: /--environment 'prod'/ },
  { what: 'workers on port 0', args: ['serve', 'app.mjs', '--workers', '2', '--port', '0'], files: { 'app.mjs': APP }, reason: /need a fixed port/ },
  { what: 'a missing module', args: ['serve', 'nowhere.mjs'], reason: /cannot find module 'nowhere.mjs'/ },
  { what: 'a module that throws at import', args: ['serve', 'app.mjs'], files: { 'app.mjs': "throw new Error('no database');\n" }, reason: /module 'app.mjs' failed to load: no database/ },
  { what: 'a module with a syntax error', args: ['serve', 'app.mjs'], files: { 'app.mjs': 'export default {\n' }, reason: /module 'app.mjs' failed to load: / },
  { what: 'a module without a default export', args: ['serve', 'app.mjs'], files: { 'app.mjs': 'export const root = {};\n' }, reason: /has no default export/ },
  { what: 'a default export that is a number', args: ['serve', 'app.mjs'], files: { 'app.mjs': 'export default 42;\n' }, reason: /is a number; export an App or a root object/ },
  { what: 'a default export that is a class', args: ['serve', 'app.mjs'], files: { 'app.mjs': 'export default class Root {}\n' }, reason: /is a function or class/ },
  { what: 'a malformed config file', args: ['serve', 'app.mjs', '--config', 'site.conf'], files: { 'app.mjs': APP, 'site.conf': '[global]\nserver.socket_port 8080\n' }, reason: /site\.conf:2:/ },
  { what: 'an unknown key in the config file', args: ['serve', 'app.mjs', '--config', 'site.conf'], files: { 'app.mjs': APP, 'site.conf': '[global]\nserver.socket_prot = 8080\n' }, reason: /server\.socket_prot' in .*site\.conf:2 \[global\]: unknown key/ },
  { what: 'a config file that is not there', args: ['serve', 'app.mjs', '--config', 'none.conf'], files: { 'app.mjs': APP }, reason: /none\.conf/ },
  { what: 'path sections for a module that exports an App', args: ['serve', 'app.mjs', '--config', 'site.conf'], files: { 'app.mjs': APP, 'site.conf': '[/]\ntools.gzip.on = True\n' }, reason: /has path sections \(\[\/\]\) but 'app.mjs' exports an App/ },
  { what: 'a bad key in the module’s own config', args: ['serve', 'app.mjs'], files: { 'app.mjs': "import { App, exposed } from 'drupe';\nexport default new App({ _cp_config: { 'tools.gzip.onn': true }, index: exposed(() => 'x') });\n" }, reason: /tools\.gzip\.onn/ },
];

for (const bad of BAD) {
  test(`bad input — ${bad.what}: one line on stderr, exit 2`, async (t) => {
    const dir = project(t, bad.files ?? {});
    const r = await run(t, dir, bad.args);
    assert.equal(r.code, 2, `exit code; stderr: ${r.stderr}`);
    const lines = oneLine(r.stderr);
    assert.equal(lines.length, 1, `one line on stderr, got:\n${r.stderr}`);
    assert.match(lines[0]!, /^drupe: /);
    assert.match(lines[0]!, bad.reason);
    assert.doesNotMatch(r.stderr, /^\s+at /m, 'no stack');
  });
}

test('a port in use: one line on stderr, exit 1', async (t) => {
  const port = await busyPort(t);
  const dir = project(t, { 'app.mjs': APP });
  const r = await run(t, dir, ['serve', 'app.mjs', '--port', String(port)]);
  assert.equal(r.code, 1, r.stderr);
  assert.deepEqual(oneLine(r.stderr), [`drupe: cannot listen on 127.0.0.1:${port}: address already in use`]);
});

// ---------------------------------------------------------------------------
// Serving in one process

test('an App export serves; SIGTERM exits 0', { skip: SKIP }, async (t) => {
  const dir = project(t, { 'app.mjs': APP });
  const s = await serve(t, dir, ['app.mjs', '--port', '0']);
  assert.match(s.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  const r = await get(s.port);
  assert.equal(r.status, 200);
  assert.equal(r.body, 'from an App');
  process.kill(s.child.pid!, 'SIGTERM');
  assert.deepEqual(await within(s.exited, 'the exit', GUARD), { code: 0, signal: null }, s.stderr());
});

test('a Tree export serves every mounted app at its script name', { skip: SKIP }, async (t) => {
  const dir = project(t, {
    'app.mjs': `
import { App, Tree, exposed } from 'drupe';
export default new Tree()
  .mount(new App({ index: exposed(() => 'site') }), '')
  .mount(new App({ index: exposed(({ request }) => 'blog at ' + request.scriptName) }), '/blog');
`,
  });
  const s = await serve(t, dir, ['app.mjs', '--port', '0']);
  assert.equal((await get(s.port, '/')).body, 'site');
  assert.equal((await get(s.port, '/blog/')).body, 'blog at /blog');
  process.kill(s.child.pid!, 'SIGTERM');
  assert.deepEqual(await within(s.exited, 'the exit', GUARD), { code: 0, signal: null }, s.stderr());
});

test('a root-object export gets the config file’s [/path] sections; flags override the file’s [global]', { skip: SKIP }, async (t) => {
  const busy = await busyPort(t);
  const dir = project(t, {
    'app.mjs': ROOT,
    'site.conf': [
      '[global]',
      'environment = "production"',
      `server.socket_port = ${busy}`,
      '',
      '[/]',
      'tools.response_headers.on = True',
      'tools.response_headers.headers = {"X-From": "site.conf"}',
    ].join('\n'),
  });
  // The file's port is in use and its environment hides tracebacks: the flags win over both.
  const s = await serve(t, dir, ['app.mjs', '--config', 'site.conf', '--port', '0', '--environment', 'development']);
  assert.notEqual(s.port, busy);
  const r = await get(s.port);
  assert.equal(r.body, 'from a root');
  assert.equal(r.headers['x-from'], 'site.conf');
  const boom = await get(s.port, '/boom');
  assert.equal(boom.status, 500);
  assert.match(boom.body, /boom-trace/, 'development shows the traceback');
  process.kill(s.child.pid!, 'SIGTERM');
  assert.deepEqual(await within(s.exited, 'the exit', GUARD), { code: 0, signal: null }, s.stderr());
});

test('SIGTERM while a request is in flight: it finishes with 200, then the command exits 0', { skip: SKIP }, async (t) => {
  const dir = project(t, { 'app.mjs': ROOT });
  const s = await serve(t, dir, ['app.mjs', '--port', '0', '--environment', 'test']);
  const answer = get(s.port, '/slow');
  await waitFor(() => s.stdout().includes('slow started'), 'the slow request in flight', GUARD);
  process.kill(s.child.pid!, 'SIGTERM');
  const r = await answer;
  assert.equal(r.status, 200);
  assert.equal(r.body, 'slow done');
  assert.deepEqual(await within(s.exited, 'the exit', GUARD), { code: 0, signal: null }, s.stderr());
});

test('SIGHUP re-reads the config file: a new value applies with no failed request; a broken edit keeps the old config and logs one error line', { skip: SKIP }, async (t) => {
  const conf = (value: string): string => `[global]\nenvironment = "test"\ntools.response_headers.on = True\ntools.response_headers.headers = {"X-Version": "${value}"}\n`;
  const dir = project(t, { 'app.mjs': ROOT, 'site.conf': conf('one') });
  const s = await serve(t, dir, ['app.mjs', '--config', 'site.conf', '--port', '0']);
  assert.equal((await get(s.port)).headers['x-version'], 'one');

  writeFileSync(join(dir, 'site.conf'), conf('two'));
  let seenTwo!: () => void;
  const two = new Promise<void>((res) => { seenTwo = res; });
  const load = hammer(s.port, '/', two);
  process.kill(s.child.pid!, 'SIGHUP');
  await waitFor(() => s.stderr().includes('[global] applied'), 'the reload', GUARD);
  assert.ok(await until(async () => (await get(s.port)).headers['x-version'] === 'two'), 'the new header is served');
  seenTwo();
  const { answers, failures, coveredStop } = await load;
  assert.ok(coveredStop, 'the requests went on through the reload');
  assert.deepEqual(failures, []);
  assert.ok(answers.every((a) => a.status === 200 && a.body === 'from a root'), 'every answer during the reload is whole');

  writeFileSync(join(dir, 'site.conf'), `${conf('three')}tools.response_headers.bogus = 1\nthis is not a line\n`);
  process.kill(s.child.pid!, 'SIGHUP');
  await waitFor(() => /keeping the old config/.test(s.stderr()), 'the refused reload', GUARD);
  const refused = oneLine(s.stderr()).filter((l) => l.includes('keeping the old config'));
  assert.equal(refused.length, 1);
  assert.match(refused[0]!, /site\.conf:6/);
  assert.equal((await get(s.port)).headers['x-version'], 'two', 'the old config still serves');

  process.kill(s.child.pid!, 'SIGTERM');
  assert.deepEqual(await within(s.exited, 'the exit', GUARD), { code: 0, signal: null }, s.stderr());
});

test('SIGHUP in one process: a changed address and changed [/path] sections are named as waiting for a restart; the server keeps its address', { skip: SKIP }, async (t) => {
  const dir = project(t, { 'app.mjs': ROOT, 'site.conf': '[global]\nenvironment = "test"\n' });
  const s = await serve(t, dir, ['app.mjs', '--config', 'site.conf', '--port', '0']);
  writeFileSync(join(dir, 'site.conf'), '[global]\nenvironment = "test"\nserver.socket_host = "127.0.0.2"\n\n[/]\ntools.response_headers.on = True\ntools.response_headers.headers = {"X-Section": "new"}\n');
  process.kill(s.child.pid!, 'SIGHUP');
  await waitFor(() => s.stderr().includes('[global] applied'), 'the reload', GUARD);
  assert.match(s.stderr(), /drupe: SIGHUP: server\.socket_host, the \[\/path\] sections changed in .*site\.conf; applies on restart/);
  assert.equal((await get(s.port)).headers['x-section'], undefined, 'the sections wait for a restart');
  assert.equal((await get(s.port)).body, 'from a root');
  process.kill(s.child.pid!, 'SIGTERM');
  assert.deepEqual(await within(s.exited, 'the exit', GUARD), { code: 0, signal: null }, s.stderr());
});

// ---------------------------------------------------------------------------
// Workers and --watch

const MARKED = `
import { appendFileSync } from 'node:fs';
import { exposed } from 'drupe';
// Each process that imports this module says so: the primary must not.
appendFileSync(new URL('./imported-by.txt', import.meta.url), process.pid + '\\n');
export default {
  index: exposed(() => 'from a worker'),
  pid: exposed(() => String(process.pid)),
};
`;

test('--workers 2: two worker processes answer, the primary never imports the module; SIGTERM exits 0', { skip: SKIP }, async (t) => {
  const dir = project(t, { 'app.mjs': MARKED });
  const s = await serve(t, dir, ['app.mjs', '--port', String(await freePort()), '--workers', '2', '--environment', 'test']);
  assert.match(s.stdout(), /with 2 workers/);
  const pids = new Set<string>();
  for (let i = 0; i < 200 && pids.size < 2; i++) {
    const r = await get(s.port, '/pid');
    assert.equal(r.status, 200);
    pids.add(r.body);
  }
  assert.equal(pids.size, 2, 'two different worker PIDs answered');
  assert.ok(!pids.has(String(s.child.pid)), 'the primary does not serve');
  const importers = readFileSync(join(dir, 'imported-by.txt'), 'utf8').split('\n').filter((l) => l !== '');
  assert.ok(!importers.includes(String(s.child.pid)), 'the primary never imported the module');
  process.kill(s.child.pid!, 'SIGTERM');
  assert.deepEqual(await within(s.exited, 'the exit', GUARD), { code: 0, signal: null }, s.stderr());
});

test('--workers: a module that throws in the workers is one line and exit 2; a port in use is exit 1', { skip: SKIP }, async (t) => {
  const dir = project(t, { 'bad.mjs': "throw new Error('no database');\n", 'app.mjs': MARKED });
  const bad = await run(t, dir, ['serve', 'bad.mjs', '--workers', '2', '--port', String(await freePort())]);
  assert.equal(bad.code, 2, bad.stderr);
  const badLines = oneLine(bad.stderr);
  assert.equal(badLines.length, 1, bad.stderr);
  assert.match(badLines[0]!, /^drupe: .*module 'bad.mjs' failed to load: no database/);
  const port = await busyPort(t);
  const busy = await run(t, dir, ['serve', 'app.mjs', '--workers', '2', '--port', String(port)]);
  assert.equal(busy.code, 1, busy.stderr);
  const busyLines = oneLine(busy.stderr);
  assert.equal(busyLines.length, 1, busy.stderr);
  assert.match(busyLines[0]!, /address already in use/);
});

test('--workers 1 and SIGHUP: the workers are replaced and read the file anew, [/path] sections included, with no failed request, on the port they started on; a broken file keeps the old workers', { skip: SKIP }, async (t) => {
  const port = await freePort();
  const conf = (value: string, at = port): string => `[global]\nenvironment = "test"\nserver.socket_port = ${at}\n\n[/]\ntools.response_headers.on = True\ntools.response_headers.headers = {"X-Version": "${value}"}\n`;
  const dir = project(t, { 'app.mjs': MARKED, 'site.conf': conf('one') });
  const s = await serve(t, dir, ['app.mjs', '--config', 'site.conf', '--workers', '1']);
  assert.equal(s.port, port);
  const first = await get(s.port, '/pid');
  assert.equal(first.headers['x-version'], 'one');

  // The file also moves the port: that waits for a restart of the command.
  writeFileSync(join(dir, 'site.conf'), conf('two', await freePort()));
  let stop!: () => void;
  const stopped = new Promise<void>((res) => { stop = res; });
  const load = hammer(s.port, '/', stopped);
  process.kill(s.child.pid!, 'SIGHUP');
  await waitFor(() => s.stderr().includes('the workers were replaced'), 'the rolling restart', GUARD);
  stop();
  const { answers, failures, coveredStop } = await load;
  assert.ok(coveredStop, 'the requests went on through the reload');
  assert.deepEqual(failures, []);
  assert.ok(answers.every((a) => a.status === 200 && a.body === 'from a worker'), 'every answer during the restart is whole');
  const after = await get(s.port, '/pid');
  assert.equal(after.headers['x-version'], 'two');
  assert.notEqual(after.body, first.body, 'a new worker answers');
  assert.match(s.stderr(), /drupe: SIGHUP: server\.socket_port changed in .*site\.conf; applies on restart of the command/);

  writeFileSync(join(dir, 'site.conf'), conf('three').replace('[/]', '[/'));
  process.kill(s.child.pid!, 'SIGHUP');
  await waitFor(() => s.stderr().includes('keeping the old workers'), 'the refused reload', GUARD);
  const kept = await get(s.port, '/pid');
  assert.equal(kept.body, after.body, 'the same worker serves');
  assert.equal(kept.headers['x-version'], 'two');

  process.kill(s.child.pid!, 'SIGTERM');
  assert.deepEqual(await within(s.exited, 'the exit', GUARD), { code: 0, signal: null }, s.stderr());
});

test('--watch: editing the module changes the answer with no failed request; a broken edit keeps the old worker serving', { skip: SKIP }, async (t) => {
  const version = (v: string): string => `import { exposed } from 'drupe';\nexport default { index: exposed(() => '${v}') };\n`;
  const dir = project(t, { 'app.mjs': version('v1'), 'lib/.cache/x': '' });
  const s = await serve(t, dir, ['app.mjs', '--port', String(await freePort()), '--watch', '--environment', 'test']);
  assert.equal((await get(s.port)).body, 'v1');

  let stop!: () => void;
  const stopped = new Promise<void>((res) => { stop = res; });
  const load = hammer(s.port, '/', stopped);
  writeFileSync(join(dir, 'app.mjs'), version('v2'));
  assert.ok(await until(async () => (await get(s.port)).body === 'v2'), 'the reloaded module answers');
  stop();
  const { answers, failures, coveredStop } = await load;
  assert.ok(coveredStop, 'the requests went on through the reload');
  assert.deepEqual(failures, []);
  assert.ok(answers.every((a) => a.status === 200 && (a.body === 'v1' || a.body === 'v2')), 'every answer during the reload is whole');
  await waitFor(() => s.stderr().includes('the workers were replaced'), 'the reload logged', GUARD);
  assert.match(s.stderr(), /drupe: watch: .*app\.mjs changed; replacing the workers/);

  writeFileSync(join(dir, 'app.mjs'), 'export default {\n');
  await waitFor(() => s.stderr().includes('keeps serving'), 'the failed reload', GUARD);
  assert.match(s.stderr(), /failed to start: module 'app\.mjs' failed to load: .*; worker 1 \(pid \d+\) keeps running/, 'one line says why');
  assert.match(s.stderr(), /drupe: restart stopped short; the old worker \(pid \d+\) keeps serving/);
  assert.equal((await get(s.port)).body, 'v2', 'the old worker still serves');

  process.kill(s.child.pid!, 'SIGTERM');
  assert.deepEqual(await within(s.exited, 'the exit', GUARD), { code: 0, signal: null }, s.stderr());
});

test('--watch ignores node_modules, dot-folders and dot-files, log files and the configured log files', () => {
  for (const path of ['node_modules/x/index.js', 'lib/node_modules/y.js', '.git/index', 'src/.cache/a', '.env', 'logs/access.log', 'site.log']) {
    assert.equal(ignored(path), true, path);
  }
  assert.equal(ignored('logs/access.txt', new Set(['logs/access.txt'])), true);
  for (const path of ['app.mjs', 'lib/db.js', 'site.conf', 'templates/page.html', 'logs/access.txt']) {
    assert.equal(ignored(path), false, path);
  }
});
