// Worker mode (`server.workers`): N processes on node:cluster sharing the port. The primary's
// pool is in worker-pool.ts, the worker's side in worker-process.ts; this is the one place to
// import both from.
export { workerPool, RESTART_POLICY, CRASH_LOOP_EXIT_CODE, type WorkerPool, type WorkerPoolOptions, type RestartPolicy } from './worker-pool.js';
export { runAsWorker, workerFailed, isPoolWorker, type WorkerMessage } from './worker-process.js';
