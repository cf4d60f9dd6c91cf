import type { Context } from '../http/request.js';
import type { Config } from './config.js';
import { HOOK_POINTS, type Hook, type HookEntry, type HookPoint } from './hook-points.js';
import { findTool, prepareTool, splitToolKey, toolOptions, toolOptionsIn, type PlannedRoute } from './tool.js';
import { isThenable } from '../lib/thenable.js';

export { HOOK_POINTS, type Hook, type HookEntry, type HookFn, type HookPoint } from './hook-points.js';

export type HookLists = { readonly [P in HookPoint]: readonly Hook[] | null };

/**
 * The sorted hook list of every point for one route: hooks from
 * `hooks.<point>` keys plus every tool switched on by `tools.<name>.on`,
 * each with its options prepared for the route (so requests only use them).
 * Built once per route; an empty point is `null` so the hot path skips it.
 */
export function buildHookLists(config: Config, route: PlannedRoute): HookLists {
  const lists = new Map<HookPoint, Hook[]>();
  const add = (point: HookPoint, hook: Hook): void => {
    const list = lists.get(point);
    if (list === undefined) lists.set(point, [hook]);
    else list.push(hook);
  };
  const options = toolOptionsIn(config as Readonly<Record<string, unknown>>);
  for (const key of Object.keys(config)) {
    const value = (config as Record<string, unknown>)[key];
    if (key.startsWith('hooks.')) {
      const point = key.slice(6) as HookPoint;
      const entries = (Array.isArray(value) ? value : [value]) as HookEntry[];
      entries.forEach((e, i) => {
        const spec = typeof e === 'function' ? { run: e } : e;
        add(point, { name: `${key}[${i}]`, run: spec.run, priority: spec.priority ?? 50, failsafe: spec.failsafe ?? false });
      });
      continue;
    }
    const k = splitToolKey(key);
    if (k === null || k.option !== 'on' || value !== true) continue;
    const tool = findTool(k.name);
    if (tool === undefined) continue;
    const prepared = prepareTool(tool, toolOptions(tool, options.get(k.name)));
    if (tool.appliesTo !== undefined && !tool.appliesTo(route, prepared)) continue;
    add(tool.point, {
      name: `tools.${k.name}`,
      run: (ctx) => tool.run(ctx, prepared),
      priority: tool.priority ?? 50,
      failsafe: tool.failsafe ?? false,
    });
    const cleanup = tool.cleanup;
    if (cleanup !== undefined) {
      add('on_end_request', { name: `tools.${k.name} (cleanup)`, run: (ctx) => cleanup.call(tool, ctx, prepared), priority: tool.priority ?? 50, failsafe: true });
    }
  }
  const out: Record<string, readonly Hook[] | null> = {};
  for (const point of HOOK_POINTS) {
    const list = lists.get(point);
    // Array.prototype.sort is stable: equal priorities keep config order.
    out[point] = list === undefined ? null : Object.freeze(list.sort((a, b) => a.priority - b.priority));
  }
  return out as HookLists;
}

/**
 * Run one point's hooks in order, CherryPy's way: after a hook fails, only
 * failsafe hooks still run, and the first error is thrown at the end (later
 * ones go to `logExtra`). Stays synchronous unless a hook returns a promise.
 */
export function runHooks<C extends Context>(hooks: readonly Hook[], ctx: C, logExtra: (err: unknown, ctx: C) => void): void | Promise<void> {
  let failed = false;
  let first: unknown;
  for (let i = 0; i < hooks.length; i++) {
    const hook = hooks[i]!;
    if (failed && !hook.failsafe) continue;
    try {
      const r = hook.run(ctx);
      if (isThenable(r)) return finishAsync(hooks, ctx, logExtra, i, r, failed, first);
    } catch (err) {
      if (failed) logExtra(err, ctx);
      else { failed = true; first = err; }
    }
  }
  if (failed) throw first;
}

async function finishAsync<C extends Context>(
  hooks: readonly Hook[], ctx: C, logExtra: (err: unknown, ctx: C) => void,
  at: number, pending: PromiseLike<unknown>, failed: boolean, first: unknown,
): Promise<void> {
  for (let i = at; i < hooks.length; i++) {
    const hook = hooks[i]!;
    if (i > at && failed && !hook.failsafe) continue;
    try {
      await (i === at ? pending : hook.run(ctx));
    } catch (err) {
      if (failed) logExtra(err, ctx);
      else { failed = true; first = err; }
    }
  }
  if (failed) throw first;
}
