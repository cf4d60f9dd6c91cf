// Small tools shared by the streaming suites (streaming, stream-failures, sse).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Config } from '../../src/index.js';
import { rawRequest, type ParsedResponse } from '../../src/testing.js';
import { startApp, type TestServer } from './server.js';

export { deferred, within, type Deferred } from './async.js';

/** Poll until `cond()` holds; fail after `ms` (a hang guard). */
export async function waitFor(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

export const tick = (ms = 0): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** One raw request head (keep-alive unless the headers say otherwise). */
export function req(path: string, options: { method?: string; version?: '1.0' | '1.1'; headers?: Record<string, string> } = {}): string {
  const lines = [`${options.method ?? 'GET'} ${path} HTTP/${options.version ?? '1.1'}`, 'Host: 127.0.0.1'];
  for (const [k, v] of Object.entries(options.headers ?? {})) lines.push(`${k}: ${v}`);
  return lines.join('\r\n') + '\r\n\r\n';
}

/** The terminating chunk of a chunked body. */
export const TERMINATOR = '\r\n0\r\n\r\n';

export interface LoggedServer {
  server: TestServer;
  /** Close the server (flushing the logs) and read both files. */
  logs(): Promise<{ access: string; error: string }>;
}

/** A server whose access and error logs go to temp files. */
export async function startLogged(t: { after(fn: () => unknown): void }, root: object, sections: Record<string, Config> = {}, config: Config = {}): Promise<LoggedServer> {
  const dir = mkdtempSync(join(tmpdir(), 'drupe-stream-logs-'));
  const accessFile = join(dir, 'access.log');
  const errorFile = join(dir, 'error.log');
  const server = await startApp(root, sections, { 'log.screen': false, 'log.access_file': accessFile, 'log.error_file': errorFile, ...config });
  t.after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const read = (f: string): string => { try { return readFileSync(f, 'utf8'); } catch { return ''; } };
  return {
    server,
    async logs() {
      await server.close();
      return { access: read(accessFile), error: read(errorFile) };
    },
  };
}

/** The request id at the end of an access line (before the stream fields). */
export function requestIdOf(accessLine: string): string {
  const m = /ms (\S+)(?: outcome=|$)/.exec(accessLine);
  if (m === null) throw new Error(`no request id in access line: ${accessLine}`);
  return m[1]!;
}

/** One request on its own connection (`Connection: close`, so the answer ends with the close), parsed. */
export async function one(port: number, path: string, options: { method?: string; version?: '1.0' | '1.1'; headers?: Record<string, string> } = {}): Promise<ParsedResponse> {
  const r = await rawRequest(port, req(path, { ...options, headers: { Connection: 'close', ...options.headers } }));
  const res = r.responses[0];
  if (res === undefined) throw new Error(`no response to ${path}: ${JSON.stringify(r.text.slice(0, 200))}`);
  return res;
}
