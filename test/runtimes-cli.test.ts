// The `drupe` command on Bun and Deno, as an operator runs it there: `bun drupe.js serve` and
// `deno run drupe.js serve`, one process and with worker processes (node:cluster on each runtime):
// every worker answers, SIGHUP replaces them all, SIGTERM stops everything and exits 0. The
// runtimes are devDependencies (node_modules/.bin); a missing one fails, never skips.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { within, waitFor } from './helpers/async.js';
import { spawnNode, type Spawned } from './helpers/process.js';
import { freePort } from './helpers/server.js';
import { repo } from './helpers/runtime-fixture.js';

const GUARD = 20_000;
const DRUPE = join(repo, 'bin', 'drupe.js');
const APP = `import { App, exposed } from 'drupe';
export default new App({ pid: exposed(() => String(process.pid)), runtime: exposed(() => typeof Bun !== 'undefined' ? 'bun' : typeof Deno !== 'undefined' ? 'deno' : 'node') });
`;

type Runtime = 'bun' | 'deno';

function command(runtime: Runtime, args: string[]): { program: string; args: string[] } {
  const program = join(repo, 'node_modules', '.bin', runtime);
  // Deno: the cluster's workers re-run this same command line; -A gives them what an operator's
  // own run would (the module, the port, the environment, starting the workers).
  return runtime === 'bun' ? { program, args: [DRUPE, ...args] } : { program, args: ['run', '-A', DRUPE, ...args] };
}

function project(t: { after(fn: () => unknown): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'drupe-runtime-cli-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'node_modules'));
  symlinkSync(repo, join(dir, 'node_modules', 'drupe'), 'dir');
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'site', private: true, type: 'module' }));
  writeFileSync(join(dir, 'app.mjs'), APP);
  return dir;
}

async function text(port: number, path: string): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { headers: { Connection: 'close' } });
  assert.equal(res.status, 200);
  return res.text();
}

/** The PIDs that answer, asked up to 200 times (new connections each) until `want` are seen. */
async function answering(port: number, want: number): Promise<Set<string>> {
  const pids = new Set<string>();
  for (let i = 0; i < 200 && pids.size < want; i++) pids.add(await text(port, '/pid'));
  return pids;
}

const alive = (pid: number): boolean => {
  try { process.kill(pid, 0); return true; } catch { return false; }
};

async function serveOn(t: { after(fn: () => unknown): void }, runtime: Runtime, extra: string[]): Promise<{ s: Spawned; port: number }> {
  const dir = project(t);
  const port = await freePort();
  const { program, args } = command(runtime, ['serve', 'app.mjs', '--port', String(port), ...extra]);
  const env = { ...process.env, NO_COLOR: '1', DENO_DIR: join(dir, 'deno-dir'), DENO_NO_UPDATE_CHECK: '1' };
  const s = spawnNode(t, args, { program, cwd: dir, env, lines: 'both' });
  await s.line((l) => l.startsWith('drupe: serving app.mjs on http://127.0.0.1:'), 'the serving line', GUARD);
  return { s, port };
}

for (const runtime of ['bun', 'deno'] as const) {
  test(`drupe serve on ${runtime}: one process serves, SIGTERM exits 0`, async (t) => {
    const { s, port } = await serveOn(t, runtime, []);
    assert.equal(await text(port, '/runtime'), runtime);
    assert.equal(await text(port, '/pid'), String(s.child.pid), 'the command\'s own process serves');
    process.kill(s.child.pid!, 'SIGTERM');
    assert.equal((await within(s.exited, 'the exit', GUARD)).code, 0, s.stderr());
  });

  test(`drupe serve --workers 2 on ${runtime}: both workers answer, SIGHUP replaces both, SIGTERM stops them all and exits 0`, async (t) => {
    const { s, port } = await serveOn(t, runtime, ['--workers', '2']);
    assert.match(s.output(), /with 2 workers/);
    assert.equal(await text(port, '/runtime'), runtime);
    const first = await answering(port, 2);
    assert.equal(first.size, 2, `two workers answered: ${[...first].join(', ')}`);
    assert.ok(!first.has(String(s.child.pid)), 'the primary does not serve');
    process.kill(s.child.pid!, 'SIGHUP');
    // The rolling restart is over when neither old worker is alive.
    await waitFor(() => [...first].every((pid) => !alive(Number(pid))), 'the old workers to be replaced', GUARD);
    const second = await answering(port, 2);
    assert.equal(second.size, 2);
    for (const pid of second) assert.ok(!first.has(pid), `worker ${pid} is new`);
    process.kill(s.child.pid!, 'SIGTERM');
    assert.equal((await within(s.exited, 'the exit', GUARD)).code, 0, s.stderr());
    await waitFor(() => [...second].every((pid) => !alive(Number(pid))), 'every worker to stop', GUARD);
  });
}
