// The `drupe` command (CherryPy's cherryd). bin/drupe.js calls main() with the arguments.
import { readFileSync } from 'node:fs';
import { parseCommand } from './args.js';
import { CliError, reason } from './errors.js';
import { servePool } from './primary.js';
import { serveSingle } from './single.js';
import { readConfig, siteSpec } from './site.js';
import { MAIN_USAGE, SERVE_USAGE } from './usage.js';

/**
 * Run the command. Help and version return; a serve runs until a signal ends the process (the
 * engine's handlers exit it). Whatever stops it first is one line on stderr and exit 2 (bad
 * input) or 1 (could not start).
 */
export async function main(argv: readonly string[]): Promise<void> {
  try {
    const command = parseCommand(argv);
    if (command.kind === 'help') {
      process.stdout.write(command.topic === 'serve' ? SERVE_USAGE : MAIN_USAGE);
    } else if (command.kind === 'version') {
      process.stdout.write(`${version()}\n`);
    } else {
      const { options } = command;
      const fromFile = readConfig(siteSpec(options)).global['server.workers'];
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
