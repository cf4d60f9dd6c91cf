// A worker process of `drupe serve --workers` (and --watch): the primary runs this file; it
// imports the user's module, serves it on the engine and tells the primary it is ready.
import { engine } from '../app/engine.js';
import { serverPlugin, type ServerPlugin } from '../app/server.js';
import { runAsWorker, workerFailed } from '../app/workers.js';
import { reason } from './errors.js';
import { SITE_ENV } from './protocol.js';
import { buildApp, importSite, readConfig, type SiteSpec } from './site.js';
import { listenAddress, startError } from './start-error.js';

async function startWorker(): Promise<void> {
  let spec: SiteSpec;
  try {
    spec = JSON.parse(process.env[SITE_ENV] ?? '') as SiteSpec;
  } catch {
    workerFailed(`drupe worker started without its site (${SITE_ENV})`, 2);
  }
  let plugin: ServerPlugin;
  let address = 'the configured address';
  try {
    const read = readConfig(spec);
    // This process is one of the workers: it serves as a single process does.
    const { 'server.workers': _workers, ...global } = read.global;
    const config = { global, sections: read.sections };
    address = listenAddress(config.global);
    const app = buildApp(await importSite(spec), config, spec);
    plugin = serverPlugin(app, { config: config.global });
    await plugin.start();
  } catch (error) {
    const failure = startError(error, address);
    workerFailed(failure.message, failure.exitCode);
  }
  engine.use(plugin);
  await engine.start();
  runAsWorker(engine);
}

startWorker().catch((error: unknown) => workerFailed(`drupe worker: ${reason(error)}`, 1));
