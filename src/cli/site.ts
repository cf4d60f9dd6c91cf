// What `drupe serve` serves: the config file with the flags over it, and the module's default
// export made into an App. Used by the single process and by each worker; every bad input is a
// CliError with exit code 2.
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { App } from '../app/app.js';
import { Tree } from '../app/tree.js';
import { loadConfig, type LoadedConfig } from '../app/config-file.js';
import type { Config } from '../core/config.js';
import type { ServeOptions } from './args.js';
import { CliError, reason } from './errors.js';

/** The part of the options a worker needs to build the site again (sent to it as JSON). */
export interface SiteSpec {
  /** The module, absolute. */
  readonly module: string;
  /** The module as the operator typed it, for messages. */
  readonly shown: string;
  /** The config file, absolute, if any. */
  readonly config: string | undefined;
  /** The flags that override the file's [global]. */
  readonly overrides: Config;
}

/** What the module exports: an App or a Tree of apps as it is, or a root object the config file's sections go with. */
export type Exported = { readonly kind: 'app'; readonly app: App | Tree } | { readonly kind: 'root'; readonly root: object };

export function siteSpec(options: ServeOptions): SiteSpec {
  const overrides: Config = {};
  if (options.host !== undefined) overrides['server.socket_host'] = options.host;
  if (options.port !== undefined) overrides['server.socket_port'] = options.port;
  if (options.environment !== undefined) overrides.environment = options.environment;
  return {
    module: resolve(options.module),
    shown: options.module,
    config: options.config === undefined ? undefined : resolve(options.config),
    overrides,
  };
}

/** The config file (checked key by key) with the flags over its [global]; none: the flags alone. */
export function readConfig(spec: SiteSpec): LoadedConfig {
  let loaded: LoadedConfig = { global: {}, sections: {} };
  if (spec.config !== undefined) {
    try {
      loaded = loadConfig(spec.config);
    } catch (error) {
      throw new CliError(reason(error), 2);
    }
  }
  return { global: { ...loaded.global, ...spec.overrides }, sections: loaded.sections };
}

/** Import the module and say what its default export is; a missing, failing or unusable module is a CliError (2). */
export async function importSite(spec: SiteSpec): Promise<Exported> {
  moduleFile(spec);
  let namespace: Record<string, unknown>;
  try {
    namespace = (await import(pathToFileURL(spec.module).href)) as Record<string, unknown>;
  } catch (error) {
    const hint = (error as { code?: unknown }).code === 'ERR_UNKNOWN_FILE_EXTENSION' ? ' (compile it to .js or .mjs first)' : '';
    throw new CliError(`module '${spec.shown}' failed to load: ${reason(error)}${hint}`, 2);
  }
  if (!('default' in namespace)) {
    throw new CliError(`module '${spec.shown}' has no default export (export default an App, a Tree or a root object)`, 2);
  }
  const value = namespace.default;
  if (value instanceof App || value instanceof Tree) return { kind: 'app', app: value };
  if (typeof value === 'function') {
    throw new CliError(`the default export of '${spec.shown}' is a function or class; export an App or a root object (export default new Root())`, 2);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    const what = value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`;
    throw new CliError(`the default export of '${spec.shown}' is ${what}; export an App or a root object`, 2);
  }
  if (looksLikeApp(value)) {
    throw new CliError(`the default export of '${spec.shown}' is an App from another copy of drupe; run the drupe command of the installation the module imports`, 2);
  }
  return { kind: 'root', root: value };
}

/** Check the module is a file, without importing it (what the primary of a worker pool can do). */
export function moduleFile(spec: SiteSpec): void {
  if (!existsSync(spec.module) || !statSync(spec.module).isFile()) {
    throw new CliError(`cannot find module '${spec.shown}' (looked for ${spec.module})`, 2);
  }
}

function looksLikeApp(value: object): boolean {
  const v = value as { configure?: unknown; listener?: unknown; root?: unknown };
  return typeof v.configure === 'function' && typeof v.listener === 'function' && typeof v.root === 'object';
}

/**
 * What to serve. A root object gets the config file's [/path] sections; an App (or a Tree of
 * them) keeps its own and a file with [/path] sections is refused rather than silently ignored.
 */
export function buildApp(exported: Exported, config: LoadedConfig, spec: SiteSpec): App | Tree {
  const paths = Object.keys(config.sections);
  if (exported.kind === 'app') {
    if (paths.length > 0) {
      throw new CliError(`${spec.config ?? 'the config file'} has path sections (${paths.map((p) => `[${p}]`).join(', ')}) but '${spec.shown}' exports an App or a Tree, which has its own; export the root object instead, or keep only [global] in the file`, 2);
    }
    return exported.app;
  }
  try {
    return new App(exported.root, config.sections);
  } catch (error) {
    throw new CliError(reason(error), 2);
  }
}
