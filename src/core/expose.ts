import type { Config } from './config.js';
import type { Handler } from '../http/request.js';

export type { Handler } from '../http/request.js';

const exposedHandlers = new WeakMap<Function, Config>();

/**
 * Mark a method as a page handler, with optional handler config (the deepest
 * level of config, above the class's and the path sections').
 *
 * @example
 *   class Root {
 *     @expose() index() { return 'Hello'; }
 *     @expose({ 'response.stream': true }) *feed() { yield 'a'; yield 'b'; }
 *   }
 */
export function expose(config: Config = {}) {
  return function <F extends Handler>(fn: F, _context: ClassMethodDecoratorContext): void {
    exposedHandlers.set(fn, config);
  };
}

/**
 * The same as `@expose()`, without decorators.
 *
 * @example
 *   const root = { index: exposed(() => 'Hello'), feed: exposed(function* () { yield 'a'; }, { 'response.stream': true }) };
 */
export function exposed<F extends Handler>(fn: F, config: Config = {}): F {
  exposedHandlers.set(fn, config);
  return fn;
}

export function isExposed(fn: unknown): fn is Handler {
  return typeof fn === 'function' && exposedHandlers.has(fn);
}

/** The config given to `@expose(config)` / `exposed(fn, config)`. */
export function handlerConfig(fn: Function): Config | undefined {
  return exposedHandlers.get(fn);
}

/**
 * Config attached to a node of the tree: an instance's or its class's
 * `_cp_config` (CherryPy's name).
 *
 * @example
 *   class Admin { static _cp_config: Config = { 'tools.auth_basic.on': true }; }
 */
export function nodeConfig(node: object): Config | undefined {
  const own = (node as { _cp_config?: unknown })._cp_config;
  if (typeof own === 'object' && own !== null) return own as Config;
  const ctor: unknown = (node as { constructor?: unknown }).constructor;
  const cls = typeof ctor === 'function' ? (ctor as { _cp_config?: unknown })._cp_config : undefined;
  return typeof cls === 'object' && cls !== null ? (cls as Config) : undefined;
}
