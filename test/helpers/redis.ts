// A real redis-server (Debian's package) for one test: its own free port and temp directory, no
// persistence, stopped by PID when the test ends. `stop()` and `start()` again on the same port
// let a test take Redis away mid-run and bring it back.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './server.js';

/** Debian's redis-server. Missing is a failure, not a skip: CI installs it (.ci/run). */
export const REDIS_SERVER = '/usr/bin/redis-server';

export interface RedisServer {
  readonly port: number;
  /** `redis://127.0.0.1:<port>` */
  readonly url: string;
  /** Kill the server (SIGKILL: as a crash, not a clean shutdown) and wait for it to be gone. */
  stop(): Promise<void>;
  /** Start it again on the same port (after `stop()`), empty, and wait until it answers. */
  start(): Promise<void>;
}

/** Resolve once something accepts connections on `port`; reject after `ms`. */
async function waitForPort(port: number, child: ChildProcess, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`redis-server exited with code ${child.exitCode} before it listened`);
    const ok = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => { socket.destroy(); resolve(true); });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`redis-server did not listen on ${port} within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Start a redis-server for one test; killed and its directory removed after it. */
export async function startRedis(t: { after(fn: () => unknown): void }): Promise<RedisServer> {
  if (!existsSync(REDIS_SERVER)) throw new Error(`${REDIS_SERVER} is missing: install Debian's redis-server (.ci/run does)`);
  const dir = mkdtempSync(join(tmpdir(), 'drupe-redis-'));
  const port = await freePort();
  let child: ChildProcess | undefined;
  const start = async (): Promise<void> => {
    const c = spawn(REDIS_SERVER, [
      '--port', String(port), '--bind', '127.0.0.1', '--dir', dir,
      '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--protected-mode', 'yes',
    ], { stdio: ['ignore', 'ignore', 'pipe'] });
    c.stderr!.resume();
    child = c;
    await waitForPort(port, c);
  };
  const stop = async (): Promise<void> => {
    const c = child;
    child = undefined;
    if (c === undefined || c.exitCode !== null || c.signalCode !== null) return;
    const gone = once(c, 'exit');
    c.kill('SIGKILL');
    await gone;
  };
  t.after(async () => {
    await stop();
    rmSync(dir, { recursive: true, force: true });
  });
  await start();
  return { port, url: `redis://127.0.0.1:${port}`, stop, start };
}
