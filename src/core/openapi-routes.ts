import type { Config } from './config.js';
import type { Found } from './dispatch.js';
import { handlerConfig, isExposed, type Handler } from './expose.js';
import { dispatcherFor, mergeConfig, sectionKeys, type PlanSource } from './plan.js';
import { findDescriptor, plainMembers, TREE_MAX_DEPTH, TREE_MAX_NODES } from './tree-members.js';
import { isWebSocketEndpoint } from './websocket.js';

/** One handler of a route and the config it runs under (the route's, then its own). */
export interface RouteHandler {
  /** Under a MethodDispatcher, the method it answers; for a page handler, null (it answers any method). */
  readonly method: string | null;
  readonly handler: Handler;
  readonly config: Readonly<Config>;
}

/** A place in the tree a request can reach, as the app's own dispatchers find it. */
export interface Route {
  /** The path segments that lead to the handler (a `default` handler's or a resource's args come after them). */
  readonly segments: readonly string[];
  /** 'page': an exposed method; 'index': at a trailing slash; 'default': takes the rest of the path as args; 'resource': a MethodDispatcher resource (args may follow too). */
  readonly kind: 'page' | 'index' | 'default' | 'resource';
  readonly handlers: readonly RouteHandler[];
}

/** A segment that names no attribute ('{' is not in a JavaScript identifier): it leads to a `default` handler. */
const NO_ATTRIBUTE = '{args}';

/**
 * Every route of the tree: each object reachable through plain attributes
 * and each exposed method on it is tried as a path, with the dispatcher
 * the path's sections name (the app's own, as a request would), so what is
 * listed is what a request reaches. Getters are never run; a part of the
 * tree behind `_cp_dispatch` is dynamic and not listed; WebSocket
 * endpoints are not HTTP operations and are left out.
 */
export function collectRoutes(src: PlanSource): Route[] {
  const routes = new Map<string, Route>();
  const seen = new Set<object>();
  const consider = (segments: readonly string[]): void => {
    const keys = sectionKeys(segments);
    let found: Found;
    try {
      found = dispatcherFor(src, keys).find(src.root, segments);
    } catch {
      return; // a user's dispatcher that fails here fails the request too: nothing to list
    }
    if (!found.cacheable) return;
    const route = routeOf(src, found, segments);
    if (route === undefined) return;
    const key = `${route.kind}:${route.segments.join('/')}`;
    if (!routes.has(key)) routes.set(key, route);
  };
  const visit = (node: object, segments: readonly string[]): void => {
    if (seen.has(node) || segments.length > TREE_MAX_DEPTH || seen.size >= TREE_MAX_NODES) return;
    seen.add(node);
    consider(segments);
    // A `default` behind an index is reached by a segment no attribute takes (unless a `_cp_dispatch` would take it: dynamic).
    if (isExposed(findDescriptor(node, 'default')?.value) && typeof (node as { _cp_dispatch?: unknown })._cp_dispatch !== 'function') {
      consider([...segments, NO_ATTRIBUTE]);
    }
    for (const [name, v] of plainMembers(node)) {
      // Reached through its own spelling only: a segment's '.' and '-' become '_' on the way down.
      if (name === 'index' || name === 'default' || /[.-]/.test(name)) continue;
      if (isExposed(v)) consider([...segments, name]);
      else if (typeof v === 'object' && v !== null && !Array.isArray(v)) visit(v, [...segments, name]);
    }
  };
  visit(src.root, []);
  return [...routes.values()];
}

function routeOf(src: PlanSource, found: Found, segments: readonly string[]): Route | undefined {
  const prefix = segments.slice(0, segments.length - found.args.length);
  const config = mergeConfig(src, found, sectionKeys(prefix));
  if (found.methods !== null) {
    const handlers: RouteHandler[] = [];
    const get = found.methods.get('GET');
    for (const [method, fn] of found.methods) {
      if (method === 'HEAD' && fn === get) continue; // HEAD answered by GET: one operation
      handlers.push({ method, handler: fn, config: withHandler(config, fn) });
    }
    return { segments: prefix, kind: 'resource', handlers };
  }
  const fn = found.handler;
  if (fn === null || isWebSocketEndpoint(fn)) return undefined;
  const kind = found.isIndex === true ? 'index' : found.isIndex === false ? 'page' : 'default';
  return { segments: prefix, kind, handlers: [{ method: null, handler: fn, config: withHandler(config, fn) }] };
}

function withHandler(config: Config, fn: Handler): Config {
  const own = handlerConfig(fn);
  return own === undefined ? config : { ...config, ...own };
}
