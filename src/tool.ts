import type { Context } from './context.js';
import { DrupeError } from './errors.js';
import type { HookPoint } from './hooks.js';

/**
 * A tool: code that runs at one hook point for every route where
 * `tools.<name>.on` is true, with options from `tools.<name>.<option>`.
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
  readonly failsafe?: boolean;
  /** Every option the tool takes, with its default; config keys outside it fail at start-up. */
  readonly defaults: O;
  run(ctx: Context, options: Readonly<O>): unknown;
}

const registry = new Map<string, Tool<object>>();

/** Register a tool so config can switch it on. Built-in tools use the same door. */
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
