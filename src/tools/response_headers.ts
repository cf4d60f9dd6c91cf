import type { Context } from '../http/request.js';
import { checkHeaderName, checkHeaderValue } from '../http/headers.js';
import { optionError, type ToolBehaviour } from '../core/tool.js';

export interface ResponseHeadersOptions {
  /** Header name → value, set on every response of the subtree. */
  headers: Readonly<Record<string, string>>;
}

/** The headers as checked name/value pairs, worked out once per route. */
type HeaderList = readonly (readonly [name: string, value: string])[];

/**
 * `tools.response_headers`: fixed headers for a subtree, set when the
 * request starts — so the handler may still change them, and error pages
 * carry them too (security headers, say).
 *
 * @example
 *   new App(root, { '/': { 'tools.response_headers.on': true, 'tools.response_headers.headers': { 'X-Frame-Options': 'DENY' } } });
 */
export const responseHeaders: ToolBehaviour<ResponseHeadersOptions, HeaderList> = {
  defaults: { headers: {} },
  prepare({ headers }) {
    if (typeof headers !== 'object' || headers === null || Array.isArray(headers)) {
      throw optionError('response_headers', 'headers', 'an object of header name → value', headers);
    }
    const list: (readonly [string, string])[] = [];
    for (const name of Object.keys(headers)) {
      const value: unknown = headers[name];
      if (typeof value !== 'string' && typeof value !== 'number') {
        throw optionError('response_headers', 'headers', `a string as the value of ${name}`, value);
      }
      const v = String(value);
      try {
        checkHeaderName(name);
        checkHeaderValue(name, v);
      } catch (err) {
        throw optionError('response_headers', 'headers', `header names and values a response can carry (${(err as Error).message})`, { [name]: value });
      }
      list.push([name, v]);
    }
    return Object.freeze(list);
  },
  run({ response }: Context, list) {
    for (let i = 0; i < list.length; i++) response.headers.set(list[i]![0], list[i]![1]);
  },
};
