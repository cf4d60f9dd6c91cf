import type { Handler } from '../http/request.js';
import { isExposed } from './expose.js';
import type { CpDispatch, Dispatcher, Found, TrailStep } from './dispatcher.js';

export type { CpDispatch, Dispatcher, Found, TrailStep } from './dispatcher.js';

// Names every object has: never path segments. (Function.prototype's names are not
// here: the walk only enters objects, and '/apply' or '/name' are fair page names.)
const FORBIDDEN = new Set<string>([...Object.getOwnPropertyNames(Object.prototype), 'prototype']);

/** The attribute a segment names: '.' and '-' become '_' (CherryPy's rule). */
export function attributeName(segment: string): string {
  return segment.indexOf('.') < 0 && segment.indexOf('-') < 0 ? segment : segment.replace(/[.-]/g, '_');
}

/** A member reachable from a URL: not private, not a built-in of Object. */
export function member(node: object, name: string): unknown {
  if (name === '' || name.charCodeAt(0) === 95 /* _ */ || FORBIDDEN.has(name)) return undefined;
  return (node as Record<string, unknown>)[name];
}

function isNode(v: unknown): v is object {
  return typeof v === 'object' && v !== null;
}

interface Walk { trail: TrailStep[]; stoppedAt: number; fn: Handler | null; params: Record<string, string> | null; cacheable: boolean }

/** Walk the tree as far as the segments lead. */
function walk(root: object, segments: readonly string[]): Walk {
  const trail: TrailStep[] = [{ node: root, depth: 0 }];
  let node = root;
  let params: Record<string, string> | null = null;
  let cacheable = true;
  let i = 0;
  while (i < segments.length) {
    let next = member(node, attributeName(segments[i]!));
    let consumed = 1;
    if (next === undefined) {
      const hook = (node as { _cp_dispatch?: unknown })._cp_dispatch;
      if (typeof hook !== 'function') break;
      cacheable = false;
      const vpath = segments.slice(i);
      params ??= Object.create(null) as Record<string, string>;
      next = (hook as CpDispatch).call(node, vpath, params);
      consumed = Math.max(1, segments.length - i - vpath.length);
    }
    if (isExposed(next)) return { trail, stoppedAt: i + consumed, fn: next, params, cacheable };
    if (!isNode(next)) break;
    node = next;
    i += consumed;
    trail.push({ node, depth: i });
  }
  return { trail, stoppedAt: i, fn: null, params, cacheable };
}

function result(handler: Handler | null, self: object, args: readonly string[], isIndex: boolean | null, w: Walk): Found {
  return { handler, methods: null, self, args, isIndex, trail: w.trail, params: w.params, cacheable: w.cacheable };
}

/**
 * CherryPy's default dispatcher: attributes are segments, `index` answers at
 * a trailing slash, and `default` on the nearest object catches what is left
 * with the remaining segments as `args`.
 */
export class ObjectDispatcher implements Dispatcher {
  find(root: object, segments: readonly string[]): Found {
    const w = walk(root, segments);
    const last = w.trail[w.trail.length - 1]!;
    if (w.fn !== null && w.stoppedAt === segments.length) {
      return result(w.fn, last.node, [], false, w);
    }
    if (w.fn === null && last.depth === segments.length) {
      const index = member(last.node, 'index');
      if (isExposed(index)) return result(index, last.node, [], true, w);
    }
    for (let t = w.trail.length - 1; t >= 0; t--) {
      const step = w.trail[t]!;
      const def = member(step.node, 'default');
      if (isExposed(def)) return result(def, step.node, segments.slice(step.depth), null, w);
    }
    return result(null, last.node, [], null, w);
  }
}

export const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'] as const;

/**
 * REST-style dispatch (CherryPy's MethodDispatcher): the object the path
 * leads to is a resource, and its `GET()`, `POST()`, … methods are the
 * handlers; HEAD falls back to GET; other methods get 405 with `Allow`.
 * Segments past the resource become `args`. Set it on a subtree with
 * `'request.dispatch': new MethodDispatcher()` in a path section.
 *
 * @example
 *   class Items { GET({ args }: Context) { return `item ${args[0]}`; } POST() { … } }
 *   new App(root, { '/api': { 'request.dispatch': new MethodDispatcher() } });
 */
export class MethodDispatcher implements Dispatcher {
  find(root: object, segments: readonly string[]): Found {
    const w = walk(root, segments);
    const last = w.trail[w.trail.length - 1]!;
    const methods = new Map<string, Handler>();
    for (const m of HTTP_METHODS) {
      const fn = (last.node as Record<string, unknown>)[m];
      if (typeof fn === 'function') methods.set(m, fn as Handler);
    }
    const get = methods.get('GET');
    if (get !== undefined && !methods.has('HEAD')) methods.set('HEAD', get);
    if (methods.size === 0) return result(null, last.node, [], null, w);
    return { handler: null, methods, self: last.node, args: segments.slice(last.depth), isIndex: null, trail: w.trail, params: w.params, cacheable: w.cacheable };
  }
}
