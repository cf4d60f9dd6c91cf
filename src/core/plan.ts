import { routeSettings, type Config, type RouteSettings } from './config.js';
import { attributeName, type Dispatcher, type Found } from './dispatch.js';
import { handlerConfig, nodeConfig, type Handler } from './expose.js';
import { buildHookLists, type HookLists } from './hooks.js';
import type { PlannedRoute } from './tool.js';
import type { Context } from '../http/request.js';
import { HTTPError, NotFound } from '../lib/errors.js';
import { compileInput, type CompiledInput } from './validation.js';

/**
 * Everything a request needs that depends only on its path (and, under a
 * MethodDispatcher, its method): the handler, merged config, settings and
 * hook lists. Built the first time a path is seen, then reused.
 */
export interface Plan {
  /** What answers a path with no handler is a handler too: it raises NotFound (or a 405 naming `Allow`) after the route's hooks ran. */
  readonly handler: Handler;
  readonly self: object;
  readonly args: readonly string[];
  readonly isIndex: boolean | null;
  readonly config: Readonly<Config>;
  readonly settings: RouteSettings;
  readonly hooks: HookLists;
  readonly params: Readonly<Record<string, string>> | null;
  /** Under a MethodDispatcher: the plan for each method, and the `Allow` value for a 405. */
  readonly byMethod: ReadonlyMap<string, Plan> | null;
  readonly allow: string;
  /** The handler's declared input (params/body/args schemas), compiled once; undefined when it declared none. */
  readonly input: CompiledInput | undefined;
}

/** The app-side inputs of planning. */
export interface PlanSource {
  readonly root: object;
  /** Global config (environment defaults, then serve's config), already merged. */
  readonly base: Readonly<Config>;
  /** Path sections, keys normalized ('/' or '/a/b', no trailing slash). */
  readonly sections: ReadonlyMap<string, Config>;
  readonly defaultDispatcher: Dispatcher;
}

/**
 * A segment as section keys spell it: '.' and '-' become '_' as in the walk
 * (so a guard on '/admin_area' also covers '/admin-area'), and a '/' inside
 * a segment stays encoded.
 */
export function sectionSegment(decoded: string): string {
  const s = attributeName(decoded);
  return s.includes('/') ? s.replaceAll('/', '%2F') : s;
}

/** The section key of each depth: '/', '/a', '/a/b', … */
export function sectionKeys(segments: readonly string[]): string[] {
  const keys = ['/'];
  let prefix = '';
  for (const s of segments) {
    prefix += '/' + sectionSegment(s);
    keys.push(prefix);
  }
  return keys;
}

export function planFor(src: PlanSource, path: string, segments: readonly string[]): { plan: Plan; cacheable: boolean } {
  const keys = sectionKeys(segments);
  const found = dispatcherFor(src, keys).find(src.root, segments);
  const merged = mergeConfig(src, found, keys);
  const route: PlannedRoute = { path, isIndex: found.isIndex };
  if (found.methods !== null) {
    const byMethod = new Map<string, Plan>();
    const allow = [...found.methods.keys()].join(', ');
    for (const [method, fn] of found.methods) byMethod.set(method, makePlan(found, route, fn, withHandler(merged, fn), null, allow));
    return { plan: makePlan(found, route, null, merged, byMethod, allow), cacheable: found.cacheable };
  }
  const config = found.handler === null ? merged : withHandler(merged, found.handler);
  return { plan: makePlan(found, route, found.handler, config, null, ''), cacheable: found.cacheable };
}

/** The dispatcher of a path (its section keys): from path sections alone, as in CherryPy, the deepest one that names it. */
export function dispatcherFor(src: PlanSource, keys: readonly string[]): Dispatcher {
  let dispatcher = src.base['request.dispatch'] ?? src.defaultDispatcher;
  for (const k of keys) dispatcher = src.sections.get(k)?.['request.dispatch'] ?? dispatcher;
  return dispatcher;
}

/** CherryPy's order, deeper wins: at each depth the node's class config, then that path's section. */
export function mergeConfig(src: PlanSource, found: Found, keys: readonly string[]): Config {
  const merged: Config = { ...src.base };
  let t = 0;
  for (let depth = 0; depth < keys.length; depth++) {
    while (t < found.trail.length && found.trail[t]!.depth === depth) {
      const c = nodeConfig(found.trail[t]!.node);
      if (c !== undefined) assignAt(merged, c, keys[depth]!);
      t++;
    }
    const section = src.sections.get(keys[depth]!);
    if (section !== undefined) assignAt(merged, section, keys[depth]!);
  }
  return merged;
}

/**
 * Merge one level's config. As CherryPy's dispatcher does, a level that
 * sets `tools.staticdir.dir` also records its path as
 * `tools.staticdir.section`, the prefix staticdir strips from the URL.
 */
function assignAt(merged: Config, level: Config, path: string): void {
  Object.assign(merged, level);
  if (Object.hasOwn(level, 'tools.staticdir.dir') && !Object.hasOwn(level, 'tools.staticdir.section')) merged['tools.staticdir.section'] = path;
}

function withHandler(merged: Config, fn: Handler): Config {
  const own = handlerConfig(fn);
  return own === undefined || Object.keys(own).length === 0 ? merged : { ...merged, ...own };
}

function makePlan(found: Found, route: PlannedRoute, handler: Handler | null, config: Config, byMethod: ReadonlyMap<string, Plan> | null, allow: string): Plan {
  const frozen = Object.freeze(config);
  return Object.freeze({
    handler: handler ?? (byMethod === null ? notFound : methodNotAllowed(allow)),
    self: found.self,
    args: Object.freeze(found.args.slice()),
    isIndex: found.isIndex,
    config: frozen,
    settings: Object.freeze(routeSettings(frozen)),
    hooks: buildHookLists(config, route),
    params: found.params,
    byMethod,
    allow,
    input: handler === null ? undefined : compileInput(handler),
  });
}

function notFound(this: unknown, ctx: Context): never {
  throw new NotFound(ctx.request.scriptName + ctx.request.path);
}

/** The 405 of a resource without a handler for the method, built once per path with its `Allow` value. */
function methodNotAllowed(allow: string): Handler {
  return function methodNotAllowed(this: unknown, ctx: Context): never {
    throw new HTTPError(405, `Method ${ctx.request.method} is not allowed here`, { Allow: allow });
  };
}
