import type { ServerResponse } from 'node:http';
import type { Server as NetServer, Socket } from 'node:net';
import type { Server as TlsServer } from 'node:tls';
import { App, hostOf } from './app.js';
import type { AppHost } from './host.js';
import { checkScriptName, Tree, treeListener } from './tree.js';
import type { Config } from '../core/config.js';
import { DrupeError, RequestAbortedError } from '../lib/errors.js';
import { kAbort } from '../http/request.js';
import { engine, type Engine, type EnginePlugin } from './engine.js';
import { serveWithWorkers } from './serve-workers.js';
import { createNodeServer, type NodeServer } from './h2-server.js';
import { readTls, tlsFilesOf } from './tls.js';
import { upgradeListener } from './websocket-upgrade.js';
import { responseOn, trackConnections } from './idle-connections.js';

export interface ServeOptions {
  /** Defaults to `server.socket_host` or 127.0.0.1. */
  host?: string;
  /** Defaults to `server.socket_port` or 8080; 0 picks a free port. */
  port?: number;
  /** The global (server-wide) config, for every app of a tree. */
  config?: Config;
  /**
   * The engine whose 'stop' and 'exit' close this server (`serve()` only; a
   * `serverPlugin` is on the engine it is used on). The process-wide
   * `engine` by default; null leaves the server off every engine.
   */
  engine?: Engine | null;
}

/** A running server. */
export interface RunningServer {
  readonly url: string;
  readonly port: number;
  /** node:http's server; node:https's with TLS; node:http2's with `server.http2`. */
  readonly server: NodeServer;
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
  // A failed TLS handshake (plain HTTP sent to the TLS port, say): nothing can be written to it.
  if (err.code?.startsWith('ERR_SSL_') === true) {
    socket.destroy();
    return;
  }
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
  // An HTTP/2 stream's socket is its whole session's: the session's GOAWAY ends it instead.
  if (socket === null || 'stream' in res) return;
  res.once('close', () => {
    if (responseOn(socket) === null) socket.destroySoon();
  });
}

/**
 * Serve an app, or a `Tree` of apps mounted at script names, over HTTP/1.1
 * on node:http. The server joins the process-wide `engine` (or
 * `options.engine`): `engine.stop()` and `engine.exit()` — so SIGTERM
 * under `engine.signals()` — close it as `close()` does, and `close()`
 * takes it off the engine.
 *
 * @example
 *   const server = await serve(new App(new Root()), { port: 8080 });
 *   console.log(server.url);
 *   await server.close();
 */
export async function serve(target: App | Tree, options: ServeOptions = {}): Promise<RunningServer> {
  // Worker mode: the primary runs a pool of processes, each serving through this same call.
  if (options.config?.['server.workers'] !== undefined) return serveWithWorkers(target, options, serve);
  const listening = await listen(target, options);
  const on = options.engine === undefined ? engine : options.engine;
  return on === null ? listening.running : onEngine(on, listening);
}

/** A listening server and what only Drupe drives (its apps' log files). */
interface Listening {
  readonly running: RunningServer;
  reopenLogs(): void;
  /** Read the TLS files again and serve them to new handshakes; throws (keeping the old ones) when they do not load. */
  reloadTls(): void;
}

/**
 * Put a server on an engine: its 'stop' and 'exit' close it (the engine's 'exit' comes
 * without a 'stop' when the engine was never started, as for a plain `serve()`), its
 * 'reopen' reopens its logs. Closed either way, it leaves the engine.
 */
function onEngine(on: Engine, { running, reopenLogs, reloadTls }: Listening): RunningServer {
  const close = (): Promise<void> => {
    on.unuse(plugin);
    return running.close();
  };
  const plugin: EnginePlugin = { stop: close, exit: close, reopen: reopenLogs, graceful: reloadTls };
  on.use(plugin);
  return { url: running.url, port: running.port, server: running.server, close };
}

/** Each app with the script name it is served at, longest first (the order a tree matches in). */
function mountsOf(target: App | Tree): { app: App; scriptName: string }[] {
  if (target instanceof App) return [{ app: target, scriptName: '' }];
  if (!(target instanceof Tree)) throw new DrupeError('DRUPE_ERR_CONFIG_VALUE', 'serve(target, options): the target must be an App or a Tree');
  if (target.apps.size === 0) throw new DrupeError('DRUPE_ERR_CONFIG_VALUE', 'serve(tree): the tree has no app mounted (tree.mount(app, scriptName))');
  return [...target.apps].map(([scriptName, app]) => ({ app, scriptName })).sort((a, b) => b.scriptName.length - a.scriptName.length);
}

async function listen(target: App | Tree, options: ServeOptions): Promise<Listening> {
  const mounts = mountsOf(target);
  const hosts: AppHost[] = [];
  for (const { app, scriptName } of mounts) {
    app.configure(options.config ?? {});
    const host = hostOf(app);
    host.scriptName = scriptName;
    hosts.push(host);
  }
  const c = mounts[0]!.app.globalConfig;
  const headersTimeout = seconds(c['server.headers_timeout'], 10);
  const requestTimeout = seconds(c['server.request_timeout'], 300);
  const keepAliveTimeout = seconds(c['server.keep_alive_timeout'], 5);
  const shutdownTimeout = seconds(c['server.shutdown_timeout'], 10);
  const shortest = Math.min(headersTimeout || Infinity, requestTimeout || Infinity);
  const tlsFiles = tlsFilesOf(c);
  const { server, scheme, h2 } = createNodeServer(c, tlsFiles === undefined ? undefined : readTls(tlsFiles), {
    headersTimeout,
    requestTimeout,
    keepAliveTimeout,
    // node checks request timeouts on this interval (30 s by default): check often enough to enforce them within about a second.
    connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(shortest / 4))),
    maxHeaderSize: c['server.max_header_size'],
  });
  const base: NetServer = server;
  // A socket idle this long is closed; on HTTP/2 it is node's session idle timeout.
  if (c['server.socket_timeout'] !== undefined) server.setTimeout(seconds(c['server.socket_timeout'], 0));
  let closing: Promise<void> | undefined;
  // A single app is its own listener: a tree adds one prefix match per request, an app alone nothing.
  const listener = target instanceof App
    ? target.listener
    : treeListener(mounts.map(({ app, scriptName }) => ({ scriptName, listener: app.listener })), hosts[0]!.serverHeader, () => closing !== undefined);
  // node:http2's compatibility request and response stand in for node:http's (h2 in docs/protocols.md).
  base.on('request', listener);
  base.on('checkContinue', listener);
  base.on('clientError', onClientError);
  // WebSocket: an Upgrade request goes through the same listener (src/app/websocket-upgrade.ts).
  base.on('upgrade', upgradeListener(listener));
  // HTTP/1 connections (HTTP/2 sessions get GOAWAY instead): which ones close() ends at once.
  if (h2 === undefined && 'closeIdleConnections' in server) trackConnections(server);

  const host = options.host ?? c['server.socket_host'] ?? '127.0.0.1';
  const wanted = options.port ?? c['server.socket_port'] ?? 8080;
  await new Promise<void>((resolve, reject) => {
    base.once('error', reject);
    base.listen(wanted, host, () => {
      base.off('error', reject);
      resolve();
    });
  });
  const address = base.address();
  const port = typeof address === 'object' && address !== null ? address.port : wanted;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  for (const h of hosts) h.fallbackHost = `${shownHost}:${port}`;

  const close = (): Promise<void> => {
    closing ??= new Promise<void>((resolve) => {
      for (const h of hosts) h.closing = true;
      const deadline = setTimeout(() => {
        if (h2 !== undefined) h2.cut();
        else if ('closeAllConnections' in server) server.closeAllConnections();
      }, shutdownTimeout);
      deadline.unref();
      base.close(() => {
        clearTimeout(deadline);
        // The sockets are gone; let handlers still finishing write their log lines (briefly) before the logs close.
        let timer: NodeJS.Timeout | undefined;
        const grace = new Promise<void>((r) => { timer = setTimeout(r, 1000); });
        void Promise.race([Promise.all(hosts.map((h) => h.settled())), grace])
          .then(() => { clearTimeout(timer); return Promise.all(hosts.map((h) => h.closeLogs())); })
          .then(() => resolve(), () => resolve());
      });
      // base.close() ended the idle HTTP/1 connections (src/app/idle-connections.ts).
      h2?.goaway();
      for (const h of hosts) {
        for (const ctx of h.streams) {
          endWhenDone(ctx.res);
          ctx.request[kAbort](new RequestAbortedError('DRUPE_SERVER_CLOSING', 'The server is shutting down'));
        }
      }
    });
    return closing;
  };
  return {
    running: { url: `${scheme}://${shownHost}:${port}`, port, server, close },
    reopenLogs: () => { for (const h of hosts) h.reopenLogs(); },
    reloadTls: () => {
      if (tlsFiles !== undefined) (server as TlsServer).setSecureContext(readTls(tlsFiles));
    },
  };
}

/** A server the engine runs: `start` listens, `stop` closes it gracefully (as `close()` does). */
export interface ServerPlugin {
  /** The running server while the engine is started; undefined otherwise. */
  readonly running: RunningServer | undefined;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** The engine's 'reopen' (SIGUSR2): reopen the server's log files. */
  reopen(): void;
  /** The engine's 'graceful' (SIGHUP): re-read the TLS files; throws (old certificate kept) when they do not load. */
  graceful(): void;
}

/**
 * Let an engine run a server: `engine.use(serverPlugin(app, { port: 8080 }))`. Each plugin is
 * one server on one port, for an App or a Tree; use several for several ports on one engine.
 * The plugin is the server's only place on the engine (`options.engine` is not used here).
 */
export function serverPlugin(target: App | Tree, options: ServeOptions = {}): ServerPlugin {
  let listening: Listening | undefined;
  return {
    get running() { return listening?.running; },
    async start() {
      listening ??= await listen(target, options);
    },
    async stop() {
      const closing = listening;
      listening = undefined;
      await closing?.running.close();
    },
    reopen() {
      listening?.reopenLogs();
    },
    graceful() {
      listening?.reloadTls();
    },
  };
}

/**
 * CherryPy's one-liner: serve the tree on the process-wide `engine`, print
 * the URL, and stop gracefully on SIGINT or SIGTERM (`engine.signals()`).
 * The returned `close()` takes this server off the engine and undoes its
 * `signals()` call. CherryPy's argument order works too:
 * `quickstart(root, '/blog', config)` mounts the app at that script name
 * (`''` or `'/'`: at the root; see `Tree`), and a `'global'` section in
 * `config` is the server-wide config (as `options.config` is).
 *
 * @example
 *   await quickstart(new Root(), { '/': { 'tools.gzip.on': true } }, { port: 8080 });
 *   await quickstart(new Root(), '/blog', { global: { 'server.socket_port': 8080 }, '/': { 'tools.gzip.on': true } });
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
  let scriptName = '';
  if (typeof second === 'string') {
    scriptName = checkScriptName(second);
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
  const target = scriptName === '' ? new App(root, sections) : new Tree().mount(root, scriptName, sections);
  // The process-wide engine runs the server and answers SIGINT/SIGTERM (stop gracefully, exit 0).
  // An engine already started (another quickstart, the user's own plugins) starts this one alone.
  const plugin = engine.use(serverPlugin(target, options));
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
  process.stdout.write(`Drupe serving on ${running.url}${scriptName === '' ? '' : `${scriptName}/`}\n`);
  // close() takes this server off the engine and undoes this call's signals(); the engine stays as it is.
  const close = (): Promise<void> => {
    undoSignals();
    engine.unuse(plugin);
    void plugin.stop();
    return running.close();
  };
  return { url: running.url, port: running.port, server: running.server, close };
}
