import type { Handler } from '../http/request.js';

/** One object passed on the way down, and how many path segments led to it. */
export interface TrailStep { readonly node: object; readonly depth: number }

/** What a dispatcher found for a path. */
export interface Found {
  /** The handler, or null for "no handler here" (a 404 unless a tool answers). */
  readonly handler: Handler | null;
  /** For a MethodDispatcher resource: its handlers by HTTP method. */
  readonly methods: ReadonlyMap<string, Handler> | null;
  /** The object the handler lives on (its `this`). */
  readonly self: object;
  readonly args: readonly string[];
  /** true: an index (wants a trailing slash); false: a plain handler (wants none); null: no opinion. */
  readonly isIndex: boolean | null;
  readonly trail: readonly TrailStep[];
  /** Params a `_cp_dispatch` hook set while walking. */
  readonly params: Readonly<Record<string, string>> | null;
  /** False when a `_cp_dispatch` hook took part: its answer may change, so it is not cached. */
  readonly cacheable: boolean;
}

/**
 * Turns a path into a handler. `segments` are the decoded path segments
 * (empty ones removed).
 */
export interface Dispatcher {
  find(root: object, segments: readonly string[]): Found;
}

/**
 * A node may define `_cp_dispatch(vpath, params)` to serve a dynamic part of
 * the tree: called when a segment is not an attribute, it takes the segments
 * it uses off the front of `vpath` and returns the next node (or undefined).
 * `params` receives values for the handler's params.
 *
 * @example
 *   class Users {
 *     _cp_dispatch(vpath: string[], params: Record<string, string>) {
 *       params.user = vpath.shift()!;
 *       return this.profile;
 *     }
 *   }
 */
export type CpDispatch = (vpath: string[], params: Record<string, string>) => unknown;
