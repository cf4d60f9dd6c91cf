import { createServer, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { hostOf, type App } from './app.js';
import type { Config } from '../core/config.js';
import { DrupeError, RequestAbortedError } from '../lib/errors.js';
import { kAbort } from '../http/request.js';
import { engine } from './engine.js';
import { serveWithWorkers } from './serve-workers.js';

export interface ServeOptions {
  /** Defaults to `server.socket_host` or 127.0.0.1. */
  host?: string;
  /** Defaults to `server.socket_port` or 8080; 0 picks a free port. */
  port?: number;
  /** The global (server-wide) config. */
  config?: Config;
}

/** A running server. */
export interface RunningServer {
  readonly url: string;
  readonly port: number;
  readonly server: Server;
  /**
   * Stop accepting, close idle connections at once, let in-flight requests
   * finish (with `Connection: close`), tell streams through
   * `request.signal`, and cut whatever is left after `server.shutdown_timeout`.
   */
  close(): Promise<void>;
}

const seconds = (v: number | undefined, fallback: number): number => Math.round((v ?? fallback) * 1000);

// What node's HTTP parser reports, as the answer a client gets.
const CLIENT_ERRORS: Record<string, [number, string]> = {
  HPE_HEADER_OVERFLOW: [431, 'Request header fields too large'],
  HPE_CHUNK_EXTENSIONS_OVERFLOW: [413, 'Chunk extensions too large'],
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'Request timeout'],
};

/** The response node is writing on a socket, from the one private field Drupe reads (see onClientError). */
function responseOn(socket: Socket): ServerResponse | null {
  return (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage ?? null;
}

/** Sockets whose parser failed: the 400 is written once, whatever node reports after the first error. */
const failed = new WeakSet<Socket>();

/**
 * node's parser failed on this connection. Every request parsed before the bad one is answered
 * first, in order, and the 400 goes after them, then the connection closes (HOSTILE 33): a 400
 * written while a response is in flight would pass for that response, or corrupt it. node
 * hands the socket to the responses queued on it one at a time; the public API cannot tell
 * which one holds it, so this reads node's private `socket._httpMessage`, as node's own
 * default 'clientError' handler does, and waits for each in turn to close.
 */
function onClientError(err: Error & { code?: string }, socket: Socket): void {
  if (failed.has(socket)) return;
  failed.add(socket);
  const answer = (): void => {
    const inFlight = responseOn(socket);
    // A request whose body is still arriving is the one that failed (broken chunks, a slow
    // body): it gets the 400 now, unless its answer has begun, and the close ends its read.
    if (inFlight !== null && inFlight.req.complete && !socket.destroyed) {
      inFlight.once('close', answer);
      return;
    }
    if (socket.writable && (inFlight === null || !inFlight.headersSent)) {
      const [status, reason] = CLIENT_ERRORS[err.code ?? ''] ?? [400, 'Bad request'];
      const body = `${reason}\n`;
      socket.end(`HTTP/1.1 ${status} ${status === 400 ? 'Bad Request' : reason}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
    }
    socket.destroySoon();
  };
  answer();
}

/**
 * While the server closes: end a response's connection as soon as that response is done,
 * rather than leave it idle until the keep-alive timeout (HOSTILE 35). A request queued
 * behind it keeps the connection; its own response says `Connection: close`.
 */
function endWhenDone(res: ServerResponse): void {
  const socket = res.socket;
  if (socket === null) return;
  res.once('close', () => {
    if (responseOn(socket) === null) socket.destroySoon();
  });
}

/**
 * Serve an app over HTTP/1.1 on node:http.
 *
 * @example
 *   const server = await serve(new App(new Root()), { port: 8080 });
 *   console.log(server.url);
 *   await server.close();
 */
export async function serve(app: App, options: ServeOptions = {}): Promise<RunningServer> {
  // Worker mode: the primary runs a pool of processes, each serving through this same call.
  if (options.config?.['server.workers'] !== undefined) return serveWithWorkers(app, options, serve);
  app.configure(options.config ?? {});
  const c = app.globalConfig;
  const headersTimeout = seconds(c['server.headers_timeout'], 10);
  const requestTimeout = seconds(c['server.request_timeout'], 300);
  const keepAliveTimeout = seconds(c['server.keep_alive_timeout'], 5);
  const shutdownTimeout = seconds(c['server.shutdown_timeout'], 10);
  const shortest = Math.min(headersTimeout || Infinity, requestTimeout || Infinity);
  const server = createServer({
    headersTimeout,
    requestTimeout,
    keepAliveTimeout,
    // node checks request timeouts on this interval (30 s by default): check often enough to enforce them within about a second.
    connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(shortest / 4))),
    noDelay: true,
    ...(c['server.max_header_size'] !== undefined ? { maxHeaderSize: c['server.max_header_size'] } : {}),
  });
  if (c['server.socket_timeout'] !== undefined) server.timeout = seconds(c['server.socket_timeout'], 0);
  server.on('request', app.listener);
  server.on('checkContinue', app.listener);
  server.on('clientError', onClientError);

  const host = options.host ?? c['server.socket_host'] ?? '127.0.0.1';
  const wanted = options.port ?? c['server.socket_port'] ?? 8080;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(wanted, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const appHost = hostOf(app);
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : wanted;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  appHost.fallbackHost = `${shownHost}:${port}`;

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= new Promise<void>((resolve) => {
      appHost.closing = true;
      const deadline = setTimeout(() => server.closeAllConnections(), shutdownTimeout);
      deadline.unref();
      server.close(() => {
        clearTimeout(deadline);
        // The sockets are gone; let handlers still finishing write their log lines (briefly) before the logs close.
        let timer: NodeJS.Timeout | undefined;
        const grace = new Promise<void>((r) => { timer = setTimeout(r, 1000); });
        void Promise.race([appHost.settled(), grace])
          .then(() => { clearTimeout(timer); return appHost.closeLogs(); })
          .then(resolve, resolve);
      });
      server.closeIdleConnections();
      for (const ctx of appHost.streams) {
        endWhenDone(ctx.res);
        ctx.request[kAbort](new RequestAbortedError('DRUPE_SERVER_CLOSING', 'The server is shutting down'));
      }
    });
    return closing;
  };
  return { url: `http://${shownHost}:${port}`, port, server, close };
}

/** A server the engine runs: `start` listens, `stop` closes it gracefully (as `close()` does). */
export interface ServerPlugin {
  /** The running server while the engine is started; undefined otherwise. */
  readonly running: RunningServer | undefined;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** The engine's 'reopen' (SIGUSR2): reopen the server's log files. */
  reopen(): void;
}

/**
 * Let an engine run a server: `engine.use(serverPlugin(app, { port: 8080 }))`. Each plugin is
 * one server on one port; use several for several apps or ports on one engine.
 */
export function serverPlugin(app: App, options: ServeOptions = {}): ServerPlugin {
  let running: RunningServer | undefined;
  return {
    get running() { return running; },
    async start() {
      running ??= await serve(app, options);
    },
    async stop() {
      const closing = running;
      running = undefined;
      await closing?.close();
    },
    reopen() {
      if (running !== undefined) hostOf(app).reopenLogs();
    },
  };
}

/**
 * CherryPy's one-liner: serve the tree on the process-wide `engine`, print
 * the URL, and stop gracefully on SIGINT or SIGTERM (`engine.signals()`).
 * The returned `close()` takes this server off the engine and undoes its
 * `signals()` call. CherryPy's argument order works too:
 * `quickstart(root, '/', config)`, where the script name is `''` or `'/'`
 * (an app is served at the root) and a `'global'` section in `config` is
 * the server-wide config (as `options.config` is).
 *
 * @example
 *   await quickstart(new Root(), { '/': { 'tools.gzip.on': true } }, { port: 8080 });
 *   await quickstart(new Root(), '/', { global: { 'server.socket_port': 8080 }, '/': { 'tools.gzip.on': true } });
 */
export async function quickstart(root: object, sections?: Readonly<Record<string, Config>>, options?: ServeOptions): Promise<RunningServer>;
export async function quickstart(root: object, scriptName: string, sections?: Readonly<Record<string, Config>>, options?: ServeOptions): Promise<RunningServer>;
export async function quickstart(
  root: object,
  second?: string | Readonly<Record<string, Config>>,
  third?: Readonly<Record<string, Config>> | ServeOptions,
  fourth?: ServeOptions,
): Promise<RunningServer> {
  let given: Readonly<Record<string, Config>> | undefined;
  let options: ServeOptions;
  if (typeof second === 'string') {
    if (second !== '' && second !== '/') {
      throw new DrupeError('DRUPE_ERR_CONFIG_VALUE', `quickstart(root, ${JSON.stringify(second)}, config): Drupe serves an app at '/', so the script name must be '' or '/' (give path sections in the config instead)`);
    }
    given = third as Readonly<Record<string, Config>> | undefined;
    options = fourth ?? {};
  } else {
    given = second;
    options = (third as ServeOptions | undefined) ?? {};
  }
  if (given !== undefined && (typeof given !== 'object' || given === null)) {
    throw new DrupeError('DRUPE_ERR_CONFIG_VALUE', 'quickstart(root, sections, options) or quickstart(root, \'/\', sections, options): sections must be an object keyed by path, e.g. { \'/\': { ... } }');
  }
  const { global: globalSection, ...sections } = given ?? {};
  if (globalSection !== undefined) options = { ...options, config: { ...globalSection, ...options.config } };
  const { App } = await import('./app.js');
  // The process-wide engine runs the server and answers SIGINT/SIGTERM (stop gracefully, exit 0).
  // An engine already started (another quickstart, the user's own plugins) starts this one alone.
  const plugin = engine.use(serverPlugin(new App(root, sections), options));
  try {
    await engine.start();
    if (plugin.running === undefined) await plugin.start();
  } catch (error) {
    engine.unuse(plugin);
    throw error;
  }
  const running = plugin.running;
  if (running === undefined) throw new Error('quickstart: the engine started without starting the server');
  const undoSignals = engine.signals();
  process.stdout.write(`Drupe serving on ${running.url}\n`);
  // close() takes this server off the engine and undoes this call's signals(); the engine stays as it is.
  const close = (): Promise<void> => {
    undoSignals();
    engine.unuse(plugin);
    void plugin.stop();
    return running.close();
  };
  return { url: running.url, port: running.port, server: running.server, close };
}
