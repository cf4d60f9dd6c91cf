// Small tools shared by the file suites (file, range, conditional, staticdir, etags).
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Config } from '../../src/index.js';
import { rawRequest, type ParsedResponse, type RawResult } from '../../src/testing.js';
import { startApp, type TestServer } from './server.js';

type T = { after(fn: () => unknown): void };

/** A fresh temp directory, removed after the test. */
export function tempDir(t: T, prefix = 'drupe-files-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Start an app for one test; closed after it. */
export async function start(t: T, root: object, sections: Record<string, Config> = {}, config: Config = {}): Promise<TestServer> {
  const server = await startApp(root, sections, config);
  t.after(() => server.close());
  return server;
}

/** One raw HTTP/1.1 request head; `Connection: close` unless `keepAlive`. */
export function head(method: string, target: string, headers: Record<string, string> = {}, keepAlive = false): string {
  const lines = [`${method} ${target} HTTP/1.1`, 'Host: 127.0.0.1'];
  for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
  if (!keepAlive) lines.push('Connection: close');
  return lines.join('\r\n') + '\r\n\r\n';
}

/**
 * Raw requests whose last one says `Connection: close`: the server's close
 * ends the read, so the idle wait is only a hang guard (generous, for a
 * loaded machine running every suite at once).
 */
export function raw(port: number, data: string): Promise<RawResult> {
  return rawRequest(port, data, { idleMs: 5000, timeoutMs: 15000 });
}

/** Send one request on its own connection and parse the one response. */
export async function one(port: number, method: string, target: string, headers: Record<string, string> = {}): Promise<ParsedResponse> {
  const r = await raw(port, head(method, target, headers));
  assert.equal(r.responses.length, 1, `${method} ${target}: expected one response, got ${r.responses.length}: ${r.text.slice(0, 400)}`);
  return r.responses[0]!;
}

/** Lower-case header names as sent. */
export function names(res: ParsedResponse): string[] {
  return res.rawHeaders.map(([n]) => n.toLowerCase());
}

/** Framed by Content-Length, with exactly the body's size, complete. */
export function assertLength(res: ParsedResponse, what: string): void {
  assert.equal(res.framing, 'content-length', `${what}: framing ${res.framing}\n${res.head}`);
  assert.equal(names(res).filter((n) => n === 'content-length').length, 1, `${what}: one Content-Length`);
  assert.equal(Number(res.headers['content-length']), res.body.length, `${what}: Content-Length vs body`);
  assert.equal(res.complete, true, `${what}: complete`);
}

/** How many file descriptors this process has open (Linux), or undefined elsewhere. */
export function openFds(): number | undefined {
  try {
    return readdirSync('/proc/self/fd').length;
  } catch {
    return undefined;
  }
}

/** Poll until the open-fd count is back to at most `baseline` (a hang guard, not a timing). */
export async function fdsBackTo(baseline: number, ms = 5000): Promise<number> {
  const deadline = Date.now() + ms;
  for (;;) {
    const now = openFds()!;
    if (now <= baseline || Date.now() > deadline) return now;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
