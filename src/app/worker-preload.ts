// Loaded into each worker before its script (node's --import): an error thrown while the worker
// starts (its app throws at import, a top-level await rejects) reaches the primary as one line,
// instead of only a stack on stderr. `runAsWorker` takes this handler off once the worker is ready.
import { PRELOAD_HANDLER, oneLine, workerFailed } from './worker-process.js';

const beforeReady = (error: unknown): void => {
  process.stderr.write(`${error instanceof Error && error.stack !== undefined ? error.stack : String(error)}\n`);
  workerFailed(oneLine(error), 1);
};

(globalThis as Record<symbol, unknown>)[PRELOAD_HANDLER] = beforeReady;
process.on('uncaughtException', beforeReady);
