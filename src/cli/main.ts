// The `drupe` command (CherryPy's cherryd). bin/drupe.js calls main() with the arguments.
import { readFileSync } from 'node:fs';
import { parseCommand } from './args.js';
import { CliError, reason } from './errors.js';
import { servePool } from './primary.js';
import { serveSingle } from './single.js';
import { readConfig, siteSpec } from './site.js';
import { MAIN_USAGE, SERVE_USAGE } from './usage.js';

/** Run the command; sets process.exitCode, or exits itself when a serve ends by a signal. */
export async function main(argv: readonly string[]): Promise<void> {
  try {
    const command = parseCommand(argv);
    if (command.kind === 'help') {
      process.stdout.write(command.topic === 'serve' ? SERVE_USAGE : MAIN_USAGE);
    } else if (command.kind === 'version') {
      process.stdout.write(`${version()}\n`);
    } else {
      const { options } = command;
      const fromFile = (readConfig(siteSpec(options)).global as { 'server.workers'?: unknown })['server.workers'];
      if (options.workers !== undefined || options.watch || fromFile !== undefined) await servePool(options);
      else await serveSingle(options);
    }
  } catch (error) {
    const code = error instanceof CliError ? error.exitCode : 1;
    process.stderr.write(`drupe: ${reason(error)}\n`);
    process.exit(code);
  }
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
  return typeof pkg.version === 'string' ? pkg.version : 'unknown';
}
