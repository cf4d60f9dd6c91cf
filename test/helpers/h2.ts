// An App's listener mounted by hand on node:http2 (cleartext, prior knowledge), as
// `app.listener` is documented to work: app.configure() first, then 'request' and
// 'checkContinue' wired as serve() wires them on node:http.
import http2, { type Http2Server, type ServerHttp2Session } from 'node:http2';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, type Config } from '../../src/index.js';
import { hostOf } from '../../src/app/app.js';

export interface H2Server {
  app: App;
  server: Http2Server;
  port: number;
  /** Close the server (sessions destroyed), flush the logs and read both files. */
  logs(): Promise<{ access: string; error: string }>;
  close(): Promise<void>;
}

/** Start `root` on an h2 server on 127.0.0.1 (a free port), logs to temp files; closed after the test. */
export async function startH2(t: { after(fn: () => unknown): void }, root: object, sections: Record<string, Config> = {}, config: Config = {}): Promise<H2Server> {
  const dir = mkdtempSync(join(tmpdir(), 'drupe-h2-'));
  const accessFile = join(dir, 'access.log');
  const errorFile = join(dir, 'error.log');
  const app = new App(root, sections);
  app.configure({ environment: 'test', 'log.screen': false, 'log.access_file': accessFile, 'log.error_file': errorFile, ...config });
  const server = http2.createServer();
  server.on('request', app.listener as never);
  server.on('checkContinue', app.listener as never);
  const sessions = new Set<ServerHttp2Session>();
  server.on('session', (s: ServerHttp2Session) => {
    sessions.add(s);
    s.on('close', () => sessions.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  let closed: Promise<void> | undefined;
  const close = (): Promise<void> => (closed ??= (async () => {
    for (const s of sessions) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await hostOf(app).settled();
    await hostOf(app).closeLogs();
  })());
  const read = (f: string): string => { try { return readFileSync(f, 'utf8'); } catch { return ''; } };
  t.after(async () => {
    await close();
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    app,
    server,
    port,
    close,
    async logs() {
      await close();
      return { access: read(accessFile), error: read(errorFile) };
    },
  };
}
