// Drupe's hello in worker mode, for the `workers` scenario: WORKERS=N runs N processes on
// node:cluster (server.workers), WORKERS=0 one process as drupe.mjs serves it. Needs
// `npm run build` at the root. Only the primary says ready (once every worker is).
import cluster from 'node:cluster';
import * as drupe from '../../dist/index.js';
import { port, host, HELLO, ready } from './common.mjs';

const { App, serve, exposed, engine } = drupe;
const workers = Number(process.env.WORKERS ?? '2');
const app = new App({ hello: exposed(() => HELLO) }, { '/': {} });
const config = { 'log.screen': false, environment: 'production', ...(workers > 0 ? { 'server.workers': workers } : {}) };
await serve(app, { host, port, config });
if (cluster.isPrimary) {
  engine.signals();
  ready(`drupe-workers-${workers}`);
}
