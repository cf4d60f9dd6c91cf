import { discardBody } from '../body/body.js';
import { createParams, parseFormInto, stringifyParams } from '../http/form.js';
import { DrupeError, type InternalRedirect } from '../lib/errors.js';
import type { RequestContext } from './request-context.js';

const MAX_INTERNAL_REDIRECTS = 10;

/**
 * Point the request at an InternalRedirect's path and query, to be
 * dispatched again: returns null, or the error that ends a loop (a path
 * and query already visited, or too many redirects).
 */
export function followInternalRedirect(ctx: RequestContext, ir: InternalRedirect, visited: Set<string>): Error | null {
  const { request, response } = ctx;
  visited.add(`${request.path}?${request.queryString}`);
  const path = new URL(ir.path, `http://x${request.path}`).pathname;
  const query = typeof ir.query === 'string' ? ir.query : stringifyParams(ir.query);
  const key = `${path}?${query}`;
  if (visited.has(key) || visited.size > MAX_INTERNAL_REDIRECTS) {
    return new DrupeError('DRUPE_ERR_REDIRECT_LOOP', `InternalRedirect loop: ${[...visited, key].join(' -> ')}`);
  }
  let params;
  if (request.method === 'POST') {
    // A POST becomes a GET that still carries what was posted.
    params = createParams();
    Object.assign(params, request.params);
    if (query !== '') parseFormInto(params, query, { maxParams: request.settings.maxParams }, 'query string');
    request.method = 'GET';
  }
  request.redirectTo(path, query, params);
  discardBody(response.body);
  response.reset();
  return null;
}
