import { parseArgs } from 'node:util';
import { CliError, reason } from './errors.js';

/** What the flags of `drupe serve` ask for; absent flags are undefined (the config file decides). */
export interface ServeOptions {
  /** The module as given on the command line. */
  readonly module: string;
  readonly host: string | undefined;
  readonly port: number | undefined;
  readonly workers: number | 'auto' | undefined;
  readonly config: string | undefined;
  readonly environment: 'development' | 'production' | 'test' | undefined;
  readonly watch: boolean;
}

export type Command =
  | { readonly kind: 'help'; readonly topic: 'main' | 'serve' }
  | { readonly kind: 'version' }
  | { readonly kind: 'serve'; readonly options: ServeOptions };

const ENVIRONMENTS = ['development', 'production', 'test'] as const;
/** More workers than this is a typo, not a deployment. */
const MAX_WORKERS = 1024;

const usage = (message: string): CliError => new CliError(`${message} (see drupe --help)`, 2);

/** Read the command line (without node and the script); a bad one throws a CliError with exit code 2. */
export function parseCommand(argv: readonly string[]): Command {
  const [first, ...rest] = argv;
  if (first === undefined) throw usage('missing command');
  if (first === '-h' || first === '--help' || first === 'help') {
    if (rest.length > 0) throw usage(`unexpected argument '${rest[0]}' after ${first}`);
    return { kind: 'help', topic: 'main' };
  }
  if (first === '-v' || first === '--version') {
    if (rest.length > 0) throw usage(`unexpected argument '${rest[0]}' after ${first}`);
    return { kind: 'version' };
  }
  if (first !== 'serve') throw usage(first.startsWith('-') ? `unknown option '${first}'` : `unknown command '${first}'`);
  return parseServe(rest);
}

function parseServe(argv: readonly string[]): Command {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: true,
      options: {
        host: { type: 'string' },
        port: { type: 'string' },
        workers: { type: 'string' },
        config: { type: 'string' },
        environment: { type: 'string' },
        watch: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    throw usage(`${reason(error).replace(/\. To specify a positional argument.*$/, '')}`);
  }
  const { values, positionals } = parsed;
  if (values.help === true) return { kind: 'help', topic: 'serve' };
  if (positionals.length === 0) throw usage('missing the module to serve (drupe serve ./app.js)');
  if (positionals.length > 1) throw usage(`unexpected argument '${positionals[1]}' (one module only)`);
  return {
    kind: 'serve',
    options: {
      module: positionals[0]!,
      host: host(values.host),
      port: port(values.port),
      workers: workers(values.workers),
      config: nonEmpty(values.config, '--config'),
      environment: environment(values.environment),
      watch: values.watch === true,
    },
  };
}

function nonEmpty(value: string | undefined, flag: string): string | undefined {
  if (value === undefined) return undefined;
  if (value.trim() === '') throw usage(`${flag} needs a value`);
  return value;
}

function host(value: string | undefined): string | undefined {
  const h = nonEmpty(value, '--host');
  if (h !== undefined && /\s/.test(h)) throw usage(`--host '${h}' is not a host name or address`);
  return h;
}

function port(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = /^\d{1,5}$/.test(value) ? Number(value) : NaN;
  if (!(n >= 0 && n <= 65535)) throw usage(`--port '${value}' is not a port number 0-65535`);
  return n;
}

function workers(value: string | undefined): number | 'auto' | undefined {
  if (value === undefined) return undefined;
  if (value === 'auto') return 'auto';
  const n = /^\d{1,4}$/.test(value) ? Number(value) : NaN;
  if (!(n >= 1 && n <= MAX_WORKERS)) throw usage(`--workers '${value}' is not a count from 1 to ${MAX_WORKERS} or 'auto'`);
  return n;
}

function environment(value: string | undefined): ServeOptions['environment'] {
  if (value === undefined) return undefined;
  const found = ENVIRONMENTS.find((e) => e === value);
  if (found === undefined) throw usage(`--environment '${value}' is not one of ${ENVIRONMENTS.join(', ')}`);
  return found;
}
