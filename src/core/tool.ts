import type { Context } from '../http/request.js';
import { DrupeError } from '../lib/errors.js';
import type { HookPoint } from './hook-points.js';

/**
 * A tool: code that runs at one hook point for every route where
 * `tools.<name>.on` is true, with options from `tools.<name>.<option>`
 * (at any level of config; deeper wins, option by option). `O` is the
 * options' type, inferred from `defaults`; `P` is what `prepare` makes of
 * them (the options themselves when there is no `prepare`).
 *
 * @example
 *   defineTool({
 *     name: 'powered_by', point: 'before_finalize', defaults: { value: 'Drupe' },
 *     run({ response }, { value }) { response.headers.set('X-Powered-By', value); },
 *   });
 *   // config: { 'tools.powered_by.on': true, 'tools.powered_by.value': 'me' }
 */
export interface Tool<O extends object = Record<string, unknown>, P = Readonly<O>> {
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
   * value (check it in `prepare`).
   */
  readonly defaults: O;
  /**
   * Optional: check the options and work out, once, what `run` needs from
   * them (parsed numbers, compiled lists and patterns, header values). Called
   * when a route's plan is built, and at start-up for every config (global,
   * path section, `_cp_config`, handler config) that sets one of the tool's
   * options: throw to refuse a value, and `new App` / `serve` fails with
   * `DRUPE_ERR_CONFIG_VALUE` naming where. A message of the form
   * `tools.<name>.<option>: expected …, got …` is placed under its key.
   */
  prepare?(options: Readonly<O>): P;
  /**
   * The tool's work: may change the request or response, answer the request
   * itself (set `request.handler = null`), throw an HTTP exception, or
   * return a promise. `prepared` is what `prepare` returned for the route
   * (without `prepare`: the options, one frozen object per route).
   */
  run(ctx: Context, prepared: P): unknown;
  /**
   * Optional: whether the tool can have anything to do on a route, asked
   * once when the route's plan is built (the plan is cached per path), with
   * the prepared options; `false` leaves the tool out of that route's hooks,
   * so its requests never call it. Without it the tool runs on every
   * request of the route.
   */
  appliesTo?(route: PlannedRoute, prepared: P): boolean;
  /**
   * Optional: the tool's last word on every request of a route where it is
   * on, at `on_end_request` (failsafe, at the tool's priority), whatever
   * happened in between — a failed handler, another hook that answered, a
   * client gone: let go of what `run` took (a lock, a connection).
   */
  cleanup?(ctx: Context, prepared: P): unknown;
}

/** A tool as the registry holds it, whatever its options. */
export type AnyTool = Tool<object, unknown>;

/** A tool's behaviour without its place (name, point, priority): how built-in tools are written; their table places them. */
export type ToolBehaviour<O extends object, P = Readonly<O>> = Omit<Tool<O, P>, 'name' | 'point' | 'priority' | 'failsafe'>;

/** What a route's path alone decides, as a tool's `appliesTo` sees it. */
export interface PlannedRoute {
  /** The request path the plan is for, still percent-encoded ('/a/b/'). */
  readonly path: string;
  /** true: an index (wants a trailing slash); false: a plain handler (wants none); null: no opinion (a `default`, a MethodDispatcher resource, no handler). */
  readonly isIndex: boolean | null;
}

const registry = new Map<string, AnyTool>();

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
 *     prepare: ({ header, value }) => ({ header, value: value.trim() }),
 *     run({ response }, { header, value }) { response.headers.set(header, value); },
 *   });
 *   new App(root, { '/': { 'tools.stamp.on': true, 'tools.stamp.value': 'v1' } });
 */
export function defineTool<O extends object, P = Readonly<O>>(tool: Tool<O, P>): Tool<O, P> {
  if (!/^[a-z][a-z0-9_]*$/.test(tool.name)) {
    throw new DrupeError('DRUPE_ERR_TOOL', `Tool name must be lower-case letters, digits and _, got ${JSON.stringify(tool.name)}`);
  }
  const entry = tool as unknown as AnyTool;
  if (registry.has(tool.name) && registry.get(tool.name) !== entry) {
    throw new DrupeError('DRUPE_ERR_TOOL', `A tool named '${tool.name}' is already defined`);
  }
  registry.set(tool.name, entry);
  return tool;
}

export function findTool(name: string): AnyTool | undefined {
  return registry.get(name);
}

/**
 * The one reading of a `tools.<name>.<option>` key: its tool name and
 * option, or null for a key outside `tools.` or without an option part.
 */
export function splitToolKey(key: string): { name: string; option: string } | null {
  if (!key.startsWith('tools.')) return null;
  const dot = key.indexOf('.', 6);
  if (dot < 0) return null;
  return { name: key.slice(6, dot), option: key.slice(dot + 1) };
}

/** The options (`on` aside) one config object sets, per tool name, in key order. */
export function toolOptionsIn(config: Readonly<Record<string, unknown>>): Map<string, Record<string, unknown>> {
  const out = new Map<string, Record<string, unknown>>();
  for (const key of Object.keys(config)) {
    const k = splitToolKey(key);
    if (k === null || k.option === 'on') continue;
    let o = out.get(k.name);
    if (o === undefined) out.set(k.name, (o = {}));
    o[k.option] = config[key];
  }
  return out;
}

/** A tool's frozen options: its defaults under the config's. */
export function toolOptions(tool: AnyTool, set: Readonly<Record<string, unknown>> | undefined): Readonly<object> {
  return Object.freeze({ ...tool.defaults, ...set });
}

/** What `run` gets on a route: the prepared value, or the options when the tool prepares nothing. */
export function prepareTool(tool: AnyTool, options: Readonly<object>): unknown {
  return tool.prepare === undefined ? options : tool.prepare(options);
}

/**
 * The error a built-in `prepare` throws for one bad option, in the form the
 * start-up check places under its key.
 */
export function optionError(tool: string, option: string, expected: string, value: unknown): DrupeError {
  return new DrupeError('DRUPE_ERR_CONFIG_VALUE', `tools.${tool}.${option}: expected ${expected}, got ${show(value)}`);
}

function show(v: unknown): string {
  if (typeof v === 'function') return 'a function';
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'symbol' || v === undefined) return String(v);
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}
