// `drupe serve` in one process: the server runs on the process-wide engine, which answers the
// signals; SIGHUP re-reads the config file.
import { engine } from '../app/engine.js';
import { serverPlugin } from '../app/server.js';
import type { ServeOptions } from './args.js';
import { reloader } from './reload.js';
import { buildApp, importSite, readConfig, siteSpec } from './site.js';
import { listenAddress, startError } from './start-error.js';

/** Serve until a signal ends the process (the engine's handlers exit it); rejects with a CliError. */
export async function serveSingle(options: ServeOptions): Promise<void> {
  const spec = siteSpec(options);
  const config = readConfig(spec);
  const exported = await importSite(spec);
  const app = buildApp(exported, config, spec);
  const plugin = serverPlugin(app, { config: config.global });
  // Listen before the engine starts, so a port in use is this one line, not the engine's too.
  try {
    await plugin.start();
  } catch (error) {
    throw startError(error, listenAddress(config.global));
  }
  engine.use(plugin);
  const reloading = reloader(spec, exported, app, config);
  engine.subscribe('graceful', () => {
    const { lines, level } = reloading.reload();
    for (const line of lines) engine.log(line, level);
  });
  engine.signals();
  await engine.start();
  process.stdout.write(`drupe: serving ${spec.shown} on ${plugin.running?.url ?? listenAddress(config.global)} (pid ${process.pid})\n`);
  await engine.block();
}
