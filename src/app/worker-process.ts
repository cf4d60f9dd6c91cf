// The worker's half of worker mode: tell the primary when this process is ready or why it
// cannot start, and stop gracefully when the primary asks (or goes away).
import cluster from 'node:cluster';
import type { Engine } from './engine.js';

/** The IPC messages between the primary and its workers: objects with a `drupe` field. */
export type WorkerMessage =
  | { readonly drupe: 'ready' }
  | { readonly drupe: 'failed'; readonly reason: string; readonly exitCode: number }
  | { readonly drupe: 'stop' }
  | { readonly drupe: 'reopen' }
  | { readonly drupe: 'stopped' }
  | { readonly drupe: 'exit' };

/** Set by the pool in each worker's environment: the process is one of Drupe's workers. */
export const WORKER_ENV = 'DRUPE_WORKER';

/** Where the start-up guard (worker-preload) keeps its handler, so `runAsWorker` can take it off. */
export const PRELOAD_HANDLER = Symbol.for('drupe.worker.uncaughtBeforeReady');

/** True in a process the pool forked. */
export function isPoolWorker(): boolean {
  return cluster.isWorker && process.env[WORKER_ENV] === '1' && typeof process.send === 'function';
}

/** An error or value as one line: what the primary logs as the reason. */
export function oneLine(error: unknown): string {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  const first = text.split(/\r?\n/, 1)[0] ?? '';
  return first.length > 500 ? `${first.slice(0, 500)}…` : first;
}

let joined = false;

/** ms between a worker's stop and its graceful close: see runAsWorker. */
const HANDOFF_GRACE = 50;
/** ms a stopped worker waits for the primary's `{ drupe: 'exit' }` before it exits anyway. */
const FAREWELL_LIMIT = 2_000;

/**
 * After the servers closed: tell the primary `{ drupe: 'stopped' }` and wait for its
 * `{ drupe: 'exit' }`. node's cluster hands a connection to a worker by message and loses it
 * (the client hangs) when the worker exits before answering; the primary stops handing this
 * worker connections once it has read the servers' close, which comes before 'stopped' on the
 * channel, so by the time 'exit' arrives every connection sent here has been answered (turned
 * down: the server is closed) and given to another worker.
 */
function farewell(): Promise<void> {
  if (!process.connected) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      process.off('message', onMessage);
      process.off('disconnect', done);
      resolve();
    };
    const onMessage = (message: unknown): void => {
      if (typeof message === 'object' && message !== null && (message as { drupe?: unknown }).drupe === 'exit') done();
    };
    const timer = setTimeout(done, FAREWELL_LIMIT);
    process.on('message', onMessage);
    process.once('disconnect', done);
    send({ drupe: 'stopped' });
  });
}

/**
 * In a worker, after its servers listen: tell the primary "ready", then on the primary's
 * `{ drupe: 'stop' }` (or the IPC channel closing: the primary died) run `engine.exit()` and
 * exit 0 (1 when stopping failed). `{ drupe: 'reopen' }` runs `engine.reopen()` (SIGUSR2 at
 * the primary, after logrotate).
 *
 * Signals in a worker: SIGINT and SIGHUP are ignored, because a terminal's Ctrl-C or hang-up
 * reaches the whole process group and the primary drives the stop or the rolling restart;
 * SIGTERM sent to a worker stops that worker gracefully (as its 'stop' message does). Do not
 * call `engine.signals()` in a worker. Outside a pool worker this does nothing.
 */
export function runAsWorker(engine: Engine): void {
  if (!isPoolWorker() || joined) return;
  joined = true;
  const guard = (globalThis as Record<symbol, unknown>)[PRELOAD_HANDLER];
  if (typeof guard === 'function') process.off('uncaughtException', guard as (error: Error) => void);
  let stopping = false;
  const stop = (why: string): void => {
    if (stopping) return;
    stopping = true;
    engine.log(`worker ${process.pid}: ${why}; stopping gracefully`, 20);
    // The primary may have handed this worker connections just before the stop, whose request
    // has not been read yet: a graceful close counts such a connection as idle and drops it.
    // A moment first lets them be read (and then answered with `Connection: close`).
    const settle = new Promise<void>((resolve) => { setTimeout(resolve, HANDOFF_GRACE); });
    settle.then(() => engine.exit()).then(farewell).then(
      () => process.exit(0),
      (error: unknown) => {
        engine.log(`worker ${process.pid}: stopping failed (${oneLine(error)}); exiting with code 1`, 50);
        process.exit(1);
      },
    );
  };
  process.on('message', (message: unknown) => {
    const kind = typeof message === 'object' && message !== null ? (message as { drupe?: unknown }).drupe : undefined;
    if (kind === 'stop') stop('the primary asked');
    else if (kind === 'reopen') engine.reopen().catch((error: unknown) => engine.log(`worker ${process.pid}: reopening log files failed (${oneLine(error)})`, 50));
  });
  process.on('disconnect', () => stop('the primary went away'));
  const ignore = (): void => { /* the primary decides; see above */ };
  process.on('SIGINT', ignore);
  process.on('SIGHUP', ignore);
  process.on('SIGTERM', () => stop('SIGTERM received'));
  send({ drupe: 'ready' });
}

/**
 * In a worker that cannot start: tell the primary why (one line) and exit with `exitCode`.
 * Outside a worker the reason goes to stderr. The message is written before the exit (node
 * writes to the IPC pipe at once when it can; the primary falls back on the exit code).
 */
export function workerFailed(reason: string, exitCode: number): never {
  const line = oneLine(reason);
  if (isPoolWorker()) send({ drupe: 'failed', reason: line, exitCode });
  else process.stderr.write(`${line}\n`);
  process.exit(exitCode);
}

function send(message: WorkerMessage): void {
  try {
    process.send?.(message);
  } catch {
    // The channel is closed: the primary is gone and will not read it.
  }
}
