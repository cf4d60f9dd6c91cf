import { discardBody } from '../body/body.js';
import { stringifyParams } from '../http/form.js';
import { kRedirectTo } from '../http/request.js';
import { kReset } from '../http/response.js';
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
  // As in CherryPy, a POST becomes a GET whose params are the new query's alone: what was
  // posted (body and form params) is dropped. A body nobody read is still drained or the
  // connection closed after the response (unread-body.ts).
  const post = request.method === 'POST';
  if (post) request.method = 'GET';
  request[kRedirectTo](path, query, post);
  discardBody(response.body);
  response[kReset]();
  return null;
}
