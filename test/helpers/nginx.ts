// A real nginx (Debian's package) in front of Drupe for one test: the server block is read from a
// docs page (so the tests run what the docs show), pointed at the test's own ports, and run
// unprivileged with its own prefix, config, pid file, logs and temp paths in a temp dir; stopped
// by its PID after the test.
import { spawn, type ChildProcess } from 'node:child_process';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { within } from './async.js';
import { freePort } from './server.js';

/** Debian's nginx package. Missing is a failure, not a skip: CI installs it (.ci/run). */
export const NGINX = '/usr/sbin/nginx';

/** The one ```nginx block of the docs page `page`, as the page shows it. */
export function documentedNginxBlock(page: URL): string {
  const text = readFileSync(page, 'utf8');
  const blocks = [...text.matchAll(/^```nginx\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
  assert.equal(blocks.length, 1, `${page.pathname} shows exactly one nginx block`);
  return blocks[0]!;
}

/** `text` with `from` replaced, which must occur exactly once (so a change to the docs fails here, loudly). */
export function replaceOnce(text: string, from: string, to: string): string {
  const parts = text.split(from);
  assert.equal(parts.length, 2, `the documented nginx block has "${from}" exactly once`);
  return parts.join(to);
}

/** Whether something accepts connections on 127.0.0.1:`port` now. */
export function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => { socket.destroy(); resolve(true); });
    socket.once('error', () => resolve(false));
  });
}

export interface NginxOptions {
  /** nginx's `worker_connections` (client and upstream connections together); 64 unless given. */
  workerConnections?: number;
}

export interface RunningNginx {
  /** The port it listens on (127.0.0.1). */
  readonly port: number;
  /** Its error log so far. */
  errorLog(): string;
}

/**
 * Start nginx with `blockFor(port)` as the body of its `http {}` block, `port`
 * being the free port it is to listen on; resolves once it accepts connections.
 * One process in the foreground (`master_process off`), every path in its own
 * temp dir.
 */
export async function startNginx(t: { after(fn: () => unknown): void }, blockFor: (port: number) => string, options: NginxOptions = {}): Promise<RunningNginx> {
  assert.ok(existsSync(NGINX), `nginx is required at ${NGINX} (apt-get install -y nginx)`);
  const dir = mkdtempSync(join(tmpdir(), 'drupe-nginx-'));
  const port = await freePort();
  const errorLog = join(dir, 'error.log');
  const conf = [
    'daemon off;',
    'master_process off;',
    `pid ${join(dir, 'nginx.pid')};`,
    `error_log ${errorLog} info;`,
    `events { worker_connections ${options.workerConnections ?? 64}; }`,
    'http {',
    `  access_log ${join(dir, 'access.log')};`,
    ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((p) => `  ${p}_temp_path ${join(dir, p)};`),
    blockFor(port),
    '}',
    '',
  ].join('\n');
  const confFile = join(dir, 'nginx.conf');
  writeFileSync(confFile, conf);
  const child: ChildProcess = spawn(NGINX, ['-p', dir + '/', '-c', confFile, '-e', errorLog], { stdio: 'ignore' });
  const exited = once(child, 'exit');
  t.after(async () => {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
      process.kill(child.pid, 'SIGTERM');
      await within(exited, 'nginx to stop');
    }
    rmSync(dir, { recursive: true, force: true });
  });
  const log = (): string => { try { return readFileSync(errorLog, 'utf8'); } catch { return ''; } };
  for (let i = 0; ; i++) {
    if (child.exitCode !== null || child.signalCode !== null) assert.fail(`nginx exited (${child.exitCode ?? child.signalCode}): ${log()}\n${conf}`);
    if (await accepts(port)) return { port, errorLog: log };
    if (i === 500) assert.fail(`nginx did not listen on ${port}: ${log()}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
