// serve() in worker mode (`server.workers`): in the primary, a pool of processes that each run
// the same script; in a worker, the ordinary serve(), then the worker's side of the pool.
import cluster from 'node:cluster';
import { createServer } from 'node:http';
import { validateConfig, type Config } from '../core/config.js';
import { DrupeError } from '../lib/errors.js';
import { engine as processEngine, type Engine } from './engine.js';
import { workerPool } from './worker-pool.js';
import { runAsWorker } from './worker-process.js';
import type { NodeServer } from './h2-server.js';
import { readTls, tlsFilesOf } from './tls.js';

/** The parts of ServeOptions and RunningServer this needs (their module imports this one). */
interface Options {
  host?: string;
  port?: number;
  config?: Config;
  engine?: Engine | null;
}
interface Served {
  readonly url: string;
  readonly port: number;
  readonly server: NodeServer;
  close(): Promise<void>;
}

/**
 * `serve(app, { config: { 'server.workers': n } })`. In the primary: start n workers re-running
 * this script (cluster's default), resolve when all are ready, and return the site's url and
 * port, a `server` that never listens (the servers are in the workers), and a `close()` that
 * stops the workers gracefully. The engine's (the process-wide one unless `options.engine`
 * names another) 'graceful' (SIGHUP, once `engine.signals()` was called) restarts them one at
 * a time, its 'reopen' (SIGUSR2) reaches them, its 'exit' stops them. In a worker: the
 * ordinary serve(), which joins the process-wide engine (its 'exit' closes the server, its
 * 'reopen' reopens the logs), then `runAsWorker(engine)`.
 */
export async function serveWithWorkers<T>(target: T, options: Options, serve: (target: T, options: Options) => Promise<Served>): Promise<Served> {
  const { 'server.workers': workers, ...config } = options.config ?? {};
  if (workers === undefined) return serve(target, options);
  if (!cluster.isPrimary) {
    // The primary stops a worker through the process-wide engine, so the server must be on it.
    const running = await serve(target, { ...options, config, engine: processEngine });
    runAsWorker(processEngine);
    return running;
  }
  const engine = options.engine === undefined ? processEngine : options.engine;
  validateConfig(options.config as Record<string, unknown>, 'global config', 'global');
  const host = options.host ?? config['server.socket_host'] ?? '127.0.0.1';
  const port = options.port ?? config['server.socket_port'] ?? 8080;
  if (port === 0) {
    throw new DrupeError('DRUPE_ERR_CONFIG_VALUE', "server.workers needs a fixed port: with port 0, workers started at different times could listen on different ports (set server.socket_port or serve's port option)");
  }
  // Bad TLS files stop the start here, once, rather than in every worker.
  const tlsFiles = tlsFilesOf(config);
  if (tlsFiles !== undefined) readTls(tlsFiles);
  const pool = workerPool({ workers, shutdownTimeout: Math.round((config['server.shutdown_timeout'] ?? 10) * 1000) });
  await pool.start();
  const graceful = (): Promise<void> => pool.graceful();
  const reopen = (): void => pool.reopen();
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      engine?.unsubscribe('graceful', graceful);
      engine?.unsubscribe('reopen', reopen);
      engine?.unsubscribe('exit', close);
      await pool.stop();
    })();
    return closing;
  };
  engine?.subscribe('graceful', graceful);
  engine?.subscribe('reopen', reopen);
  engine?.subscribe('exit', close);
  const shownHost = host.includes(':') ? `[${host}]` : host;
  return { url: `${tlsFiles === undefined ? 'http' : 'https'}://${shownHost}:${port}`, port, server: createServer(), close };
}
