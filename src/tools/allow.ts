import type { Context } from '../http/request.js';
import { DrupeError, HTTPError } from '../lib/errors.js';
import { defineTool } from '../core/tool.js';
import { isAnsweredPreflight } from './cors.js';

export interface AllowOptions {
  /** The methods this subtree answers; HEAD comes with GET. */
  methods: readonly string[];
}

const lists = new WeakMap<object, readonly string[]>();

function allowed(o: Readonly<AllowOptions>): readonly string[] {
  let list = lists.get(o);
  if (list === undefined) {
    if (!Array.isArray(o.methods) || !o.methods.every((m) => typeof m === 'string' && /^[A-Za-z]+$/.test(m))) {
      throw new DrupeError('DRUPE_ERR_CONFIG_VALUE', `tools.allow.methods: expected a list of method names, got ${JSON.stringify(o.methods)}`);
    }
    const l = [...new Set(o.methods.map((m) => m.toUpperCase()))];
    if (l.includes('GET') && !l.includes('HEAD')) l.push('HEAD');
    lists.set(o, (list = Object.freeze(l)));
  }
  return list;
}

/**
 * `tools.allow`: only the listed methods reach this subtree; any other is
 * a 405 with `Allow`. (A CORS preflight answered by tools.cors passes.)
 *
 * @example
 *   new App(root, { '/feed': { 'tools.allow.on': true, 'tools.allow.methods': ['GET', 'POST'] } });
 */
export const allow = defineTool<AllowOptions>({
  name: 'allow',
  point: 'on_start_resource',
  priority: 40,
  defaults: { methods: ['GET', 'HEAD'] },
  run({ request }: Context, o) {
    const list = allowed(o);
    if (list.includes(request.method) || isAnsweredPreflight(request)) return;
    throw new HTTPError(405, `Method ${request.method} is not allowed here`, { Allow: list.join(', ') });
  },
});
