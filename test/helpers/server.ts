import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { App, serve, type Config, type RunningServer } from '../../src/index.js';

export interface TestServer extends RunningServer {
  app: App;
}

/**
 * Start an app on 127.0.0.1 with a free port and logs off (environment
 * 'test'), for one test file. Pass `config` for global keys.
 */
export async function startApp(root: object, sections: Record<string, Config> = {}, config: Config = {}): Promise<TestServer> {
  const app = new App(root, sections);
  const running = await serve(app, { host: '127.0.0.1', port: 0, config: { environment: 'test', ...config } });
  return Object.assign(running, { app });
}

/** Start an app for one test; closed after it. */
export async function start(t: { after(fn: () => unknown): void }, root: object, sections: Record<string, Config> = {}, config: Config = {}): Promise<TestServer> {
  const server = await startApp(root, sections, config);
  t.after(() => server.close());
  return server;
}

/** Fetch over a real socket and return status, headers and text. */
export async function get(url: string, init?: RequestInit): Promise<{ status: number; headers: Headers; text: string }> {
  const res = await fetch(url, { redirect: 'manual', ...init });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

/** A port nothing listens on now: the OS picks it and the probe lets it go (for a server another process starts). */
export async function freePort(): Promise<number> {
  const probe = createNetServer();
  await new Promise<void>((resolve, reject) => {
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', resolve);
  });
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}
