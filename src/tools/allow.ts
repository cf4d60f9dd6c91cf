import type { Context } from '../http/request.js';
import { HTTPError } from '../lib/errors.js';
import { optionError, type ToolBehaviour } from '../core/tool.js';

export interface AllowOptions {
  /** The methods this subtree answers; HEAD comes with GET. */
  methods: readonly string[];
}

interface Allowed {
  readonly methods: readonly string[];
  /** The `Allow` header of a 405. */
  readonly header: string;
}

/**
 * `tools.allow`: only the listed methods reach this subtree; any other is
 * a 405 with `Allow`. A request a tool already answered (`request.handler`
 * is null: a CORS preflight answered by tools.cors) passes.
 *
 * @example
 *   new App(root, { '/feed': { 'tools.allow.on': true, 'tools.allow.methods': ['GET', 'POST'] } });
 */
export const allow: ToolBehaviour<AllowOptions, Allowed> = {
  defaults: { methods: ['GET', 'HEAD'] },
  prepare({ methods }) {
    if (!Array.isArray(methods) || !methods.every((m) => typeof m === 'string' && /^[A-Za-z]+$/.test(m))) {
      throw optionError('allow', 'methods', 'a list of method names', methods);
    }
    const list = [...new Set(methods.map((m) => m.toUpperCase()))];
    if (list.includes('GET') && !list.includes('HEAD')) list.push('HEAD');
    return { methods: Object.freeze(list), header: list.join(', ') };
  },
  run({ request }: Context, p) {
    if (p.methods.includes(request.method) || request.handler === null) return;
    throw new HTTPError(405, `Method ${request.method} is not allowed here`, { Allow: p.header });
  },
};
