// Small tools shared by the streaming suites (streaming, stream-failures, sse).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exposed, type Config, type Context } from '../../src/index.js';
import { aborted } from './async.js';
import { startApp, type TestServer } from './server.js';

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

/** A streamed handler that yields 'start\n', waits for `request.signal` to abort, then yields 'bye\n'. */
export function feedUntilAborted(): (ctx: Context) => AsyncGenerator<string> {
  return exposed(async function* ({ request }: Context) {
    yield 'start\n';
    await aborted(request.signal);
    yield 'bye\n';
  }, { 'response.stream': true });
}
