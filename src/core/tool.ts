import type { Context } from '../http/request.js';
import { DrupeError } from '../lib/errors.js';
import type { HookPoint } from './hook-points.js';

/**
 * A tool: code that runs at one hook point for every route where
 * `tools.<name>.on` is true, with options from `tools.<name>.<option>`
 * (at any level of config; deeper wins, option by option). `O` is the
 * options' type, inferred from `defaults`.
 *
 * @example
 *   defineTool({
 *     name: 'powered_by', point: 'before_finalize', defaults: { value: 'Drupe' },
 *     run({ response }, { value }) { response.headers.set('X-Powered-By', value); },
 *   });
 *   // config: { 'tools.powered_by.on': true, 'tools.powered_by.value': 'me' }
 */
export interface Tool<O extends object = Record<string, unknown>> {
  readonly name: string;
  readonly point: HookPoint;
  /** Lower runs first; hooks default to 50. */
  readonly priority?: number;
  /** Runs even after an earlier hook of the same point failed (CherryPy's failsafe). */
  readonly failsafe?: boolean;
  /**
   * Every option the tool takes, with its default. Config keys outside it
   * fail at start-up, and so does a value of another type than its default
   * (number, string, boolean, list or object); a `null` default takes any
   * value (check it in `run`).
   */
  readonly defaults: O;
  /**
   * The tool's work: may change the request or response, answer the request
   * itself (set `request.handler = null`), throw an HTTP exception, or
   * return a promise. `options` is one frozen object per route.
   */
  run(ctx: Context, options: Readonly<O>): unknown;
  /**
   * Optional: whether the tool can have anything to do on a route, asked
   * once when the route's plan is built (the plan is cached per path);
   * `false` leaves the tool out of that route's hooks, so its requests
   * never call it. Without it the tool runs on every request of the route.
   */
  appliesTo?(route: PlannedRoute, options: Readonly<O>): boolean;
}

/** What a route's path alone decides, as a tool's `appliesTo` sees it. */
export interface PlannedRoute {
  /** The request path the plan is for, still percent-encoded ('/a/b/'). */
  readonly path: string;
  /** true: an index (wants a trailing slash); false: a plain handler (wants none); null: no opinion (a `default`, a MethodDispatcher resource, no handler). */
  readonly isIndex: boolean | null;
}

const registry = new Map<string, Tool<object>>();

/**
 * Register a tool so config can switch it on; returns it. Built-in tools use
 * the same door. The name must be lower-case letters, digits and `_`
 * (starting with a letter), and not taken by another tool — including the
 * built-ins (gzip, json_in, json_out, etags, staticdir, …): both are a
 * `DrupeError` with code `DRUPE_ERR_TOOL`. Defining the same tool object
 * twice is harmless. Define tools before building the `App` that uses them.
 *
 * @example
 *   const stamp = defineTool({
 *     name: 'stamp', point: 'before_finalize', priority: 60, defaults: { header: 'X-Stamp', value: '' },
 *     run({ response }, { header, value }) { response.headers.set(header, value); },
 *   });
 *   new App(root, { '/': { 'tools.stamp.on': true, 'tools.stamp.value': 'v1' } });
 */
export function defineTool<O extends object>(tool: Tool<O>): Tool<O> {
  if (!/^[a-z][a-z0-9_]*$/.test(tool.name)) {
    throw new DrupeError('DRUPE_ERR_TOOL', `Tool name must be lower-case letters, digits and _, got ${JSON.stringify(tool.name)}`);
  }
  if (registry.has(tool.name) && registry.get(tool.name) !== (tool as Tool<object>)) {
    throw new DrupeError('DRUPE_ERR_TOOL', `A tool named '${tool.name}' is already defined`);
  }
  registry.set(tool.name, tool as unknown as Tool<object>);
  return tool;
}

export function findTool(name: string): Tool<object> | undefined {
  return registry.get(name);
}
