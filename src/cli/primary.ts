// `drupe serve --workers N` and `--watch`: this process never imports the user's module; its
// workers do (worker.ts). SIGHUP and, with --watch, a changed file replace the workers one at a
// time; a restart that fails leaves the old workers serving.
import { dirname } from 'node:path';
import { engine } from '../app/engine.js';
import { workerPool, type WorkerPool } from '../app/workers.js';
import { WorkerStartError } from '../lib/errors.js';
import type { ServeOptions } from './args.js';
import { CliError, reason } from './errors.js';
import { SITE_ENV, WORKER_SCRIPT } from './protocol.js';
import { moduleFile, readConfig, siteSpec, type SiteSpec } from './site.js';
import { listenAddress } from './start-error.js';
import { watchTree } from './watch.js';

export async function servePool(options: ServeOptions): Promise<void> {
  const spec = siteSpec(options);
  const config = readConfig(spec);
  moduleFile(spec);
  const port = config.global['server.socket_port'] ?? 8080;
  if (port === 0) {
    throw new CliError('--workers and --watch need a fixed port: workers started at different times could listen on different ports with port 0', 2);
  }
  // Start-up lines wait until the start is known to have worked: a failed start is one line, the reason.
  let held: [string, number][] | undefined = [];
  // Workers listen where the command started, whatever a later SIGHUP's file says: moving the
  // port under a rolling restart would strand whatever points at the old one.
  const listen = { 'server.socket_host': config.global['server.socket_host'] ?? '127.0.0.1', 'server.socket_port': port };
  const workerSpec: SiteSpec = { ...spec, overrides: { ...spec.overrides, ...listen } };
  const pool = workerPool({
    workers: options.workers ?? config.global['server.workers'] ?? 1,
    exec: WORKER_SCRIPT,
    args: [],
    env: { [SITE_ENV]: JSON.stringify(workerSpec) },
    shutdownTimeout: Math.round((config.global['server.shutdown_timeout'] ?? 10) * 1000),
    log: (message, level) => {
      if (held !== undefined) held.push([message, level]);
      else engine.log(message, level);
    },
  });
  try {
    await pool.start();
  } catch (error) {
    if (error instanceof WorkerStartError) throw new CliError(error.reason, error.exitCode > 0 ? error.exitCode : 1);
    throw new CliError(reason(error), 1);
  }
  for (const [message, level] of held) engine.log(message, level);
  held = undefined;

  const restart = restarter(pool);
  let watcher: { close(): void } | undefined;
  engine.use({
    stop: async () => {
      watcher?.close();
      await pool.stop();
    },
    graceful: () => {
      if (configBroken(spec, listen)) return;
      restart('SIGHUP');
    },
    reopen: () => pool.reopen(),
  });
  engine.signals();
  await engine.start();
  const dir = dirname(spec.module);
  if (options.watch) {
    const logs = [config.global['log.access_file'], config.global['log.error_file']].filter((f) => f !== undefined);
    watcher = watchTree(dir, (files) => restart(`watch: ${files.length === 1 ? files[0] : `${files.length} files`} changed`), logs);
  }
  const workers = `${pool.size} worker${pool.size === 1 ? '' : 's'}`;
  process.stdout.write(`drupe: serving ${spec.shown} on ${config.global['server.ssl_certificate'] === undefined ? 'http' : 'https'}://${listenAddress(config.global)} with ${workers}${options.watch ? `, watching ${dir}` : ''} (pid ${process.pid})\n`);
  await engine.block();
}

/**
 * SIGHUP: a config file that no longer loads keeps the old workers (they would fail to start).
 * A new address in it is named: it waits for a restart of the command.
 */
function configBroken(spec: SiteSpec, listen: Readonly<Record<string, unknown>>): boolean {
  if (spec.config === undefined) return false;
  try {
    const { global } = readConfig(spec);
    const moved = Object.keys(listen).filter((k) => k in global && global[k as keyof typeof global] !== listen[k]);
    if (moved.length > 0) engine.log(`drupe: SIGHUP: ${moved.join(', ')} changed in ${spec.config}; applies on restart of the command`, 40);
    return false;
  } catch (error) {
    engine.log(`drupe: SIGHUP: ${reason(error)}; keeping the old workers and config`, 50);
    return true;
  }
}

/**
 * One rolling restart at a time; a request for another while one runs is kept (once) for
 * after it. The pool logs why a new worker failed; a worker still there from before is how
 * this knows the restart stopped short.
 */
function restarter(pool: WorkerPool): (why: string) => void {
  let running = false;
  let again: string | undefined;
  const restart = (why: string): void => {
    if (running) {
      again = why;
      return;
    }
    running = true;
    engine.log(`drupe: ${why}; replacing the workers one at a time`, 30);
    const before = new Set(pool.pids);
    pool.graceful().then(
      () => {
        const kept = pool.pids.filter((pid) => before.has(pid));
        if (kept.length === 0) engine.log('drupe: the workers were replaced', 30);
        else engine.log(`drupe: restart stopped short; the old worker${kept.length === 1 ? '' : 's'} (pid ${kept.join(', ')}) keep${kept.length === 1 ? 's' : ''} serving`, 50);
      },
      (error: unknown) => engine.log(`drupe: restart failed (${reason(error)}); the old workers keep serving`, 50),
    ).finally(() => {
      running = false;
      const next = again;
      again = undefined;
      if (next !== undefined && engine.state === 'started') restart(next);
    });
  };
  return restart;
}
