import type { Context } from '../http/request.js';
import { DrupeError } from '../lib/errors.js';
import { defineTool } from '../core/tool.js';

export interface ResponseHeadersOptions {
  /** Header name → value, set on every response of the subtree. */
  headers: Readonly<Record<string, string>>;
}

/**
 * `tools.response_headers`: fixed headers for a subtree, set when the
 * request starts — so the handler may still change them, and error pages
 * carry them too (security headers, say).
 *
 * @example
 *   new App(root, { '/': { 'tools.response_headers.on': true, 'tools.response_headers.headers': { 'X-Frame-Options': 'DENY' } } });
 */
export const responseHeaders = defineTool<ResponseHeadersOptions>({
  name: 'response_headers',
  point: 'on_start_resource',
  priority: 50,
  defaults: { headers: {} },
  run({ response }: Context, { headers }) {
    if (typeof headers !== 'object' || headers === null || Array.isArray(headers)) {
      throw new DrupeError('DRUPE_ERR_CONFIG_VALUE', 'tools.response_headers.headers: expected an object of header name → value');
    }
    for (const name of Object.keys(headers)) {
      const value = headers[name];
      if (typeof value !== 'string' && typeof value !== 'number') {
        throw new DrupeError('DRUPE_ERR_CONFIG_VALUE', `tools.response_headers.headers: the value of ${name} must be a string`);
      }
      response.headers.set(name, value);
    }
  },
});
