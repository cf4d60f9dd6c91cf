import { discardBody } from '../body/body.js';
import { kForceStatus, type Response } from '../http/response.js';
import type { Ready } from '../http/writer.js';
import type { Steps } from '../lib/drive.js';
import { ClientGoneError, HTTPError, HTTPRedirect, NotFound, RequestAbortedError } from '../lib/errors.js';
import { isThenable } from '../lib/thenable.js';
import { absoluteUrl } from '../http/site-url.js';
import { addVary } from '../http/vary.js';
import type { Config, ErrorPageInfo } from './config.js';
import { escapeHtml, HTML_TYPE, PROBLEM_TYPE, renderErrorPage } from './error-page.js';
import { errorsOf } from './problem.js';
import { errorMediaType } from './problem-negotiation.js';
import { finalize } from './finalize.js';
import { runHooks } from './hooks.js';
import { logExtraError, type RequestContext } from './request-context.js';

/** An error that becomes a 500 and fires before_error_response / after_error_response. */
export function isUnexpected(ctx: RequestContext, err: unknown): boolean {
  return !ctx.response.committed && !(err instanceof HTTPError) && !(err instanceof HTTPRedirect) && !clientGone(err);
}

/** The client left: a body read that failed, or `request.signal`'s reason rethrown by the handler or its generator. */
function clientGone(err: unknown): boolean {
  return err instanceof ClientGoneError || (err instanceof RequestAbortedError && err.code === 'DRUPE_CLIENT_CLOSED');
}

/**
 * Any exception as a response (B2): a redirect, an HTTP error page, or a
 * logged 500 between the error hook points. `finalizePage`: whether an
 * HTTP error or redirect goes through the before_finalize hooks (not when
 * one of them raised it). A generator run by `drive`, like the lifecycle.
 */
export function* errorResponse(ctx: RequestContext, err: unknown, finalizePage: boolean): Steps<Ready> {
  const { request, response } = ctx;
  if (response.committed) {
    // Headers went out early (flushHeaders): too late for an error page (S5).
    ctx.host.logError(`${request.method} ${request.scriptName}${request.path} failed after its headers were sent; response truncated`, err, request.id);
    ctx.outcome = 'error';
    return { kind: 'abort', error: err };
  }
  if (clientGone(err)) {
    ctx.outcome = 'client-closed';
    return { kind: 'abort', error: err };
  }
  response.stream = false;
  ctx.streamed = false; // an error page before commit is a buffered response (S1), without X-Accel-Buffering
  try {
    if (err instanceof HTTPRedirect || err instanceof HTTPError) {
      if (err instanceof HTTPRedirect) setRedirect(ctx, err);
      else {
        resetFor(response, err.status);
        response.status = `${err.status} ${err.reason}`; // HTTPError("410 Gone fishin'") keeps its reason phrase
        for (const [k, v] of Object.entries(err.headers)) response.headers.set(k, v);
        if (err.status === 405 && !response.headers.has('allow')) response.headers.set('Allow', allowFor(ctx));
        // CherryPy's NotFound(): without a path, it names the request's.
        const message = err instanceof NotFound && err.path === undefined ? `The path '${request.scriptName}${request.path}' was not found.` : err.message;
        setPage(ctx, err.status, message, '', errorsOf(err));
      }
      // As in CherryPy, an HTTP error or redirect is finalized like any response: header tools apply to it.
      const finalizeHooks = finalizePage ? ctx.plan?.hooks.before_finalize : null;
      if (finalizeHooks) { const pending = runHooks(finalizeHooks, ctx, logExtraError); if (pending) yield pending; }
      { const f = finalize(ctx); return isThenable(f) ? ((yield f) as Ready) : f; }
    }
    ctx.host.logError(`${request.method} ${request.scriptName}${request.path} failed`, err, request.id);
    const hooks = ctx.plan?.hooks;
    if (hooks?.before_error_response) { const pending = runHooks(hooks.before_error_response, ctx, logExtraError); if (pending) yield pending; }
    resetFor(response, 500);
    const show = ctx.plan?.settings.showTracebacks ?? false;
    const message = show && err instanceof Error ? err.message : 'The server encountered an unexpected condition which prevented it from fulfilling the request.';
    const traceback = show ? (err instanceof Error ? (err.stack ?? String(err)) : String(err)) : '';
    const page = setPage(ctx, 500, message, traceback, undefined);
    if (hooks?.after_error_response) { const pending = runHooks(hooks.after_error_response, ctx, logExtraError); if (pending) yield pending; }
    return { kind: 'bytes', data: page };
  } catch (again) {
    return lastResort(ctx, again);
  }
}

/**
 * A 405 must say which methods the resource takes (RFC 9110 §15.5.6). The
 * route's own list under a MethodDispatcher; an ordinary handler is reached
 * by every method and which it accepts is its own code's secret, so the
 * methods a page and its form use, less the refused one (HEAD goes with
 * GET). A handler that knows better passes `Allow` in the HTTPError.
 */
function allowFor(ctx: RequestContext): string {
  const allow = ctx.plan?.allow;
  if (allow !== undefined && allow !== '') return allow;
  const method = ctx.request.method;
  if (method === 'GET' || method === 'HEAD') return 'POST';
  return method === 'POST' ? 'GET, HEAD' : 'GET, HEAD, POST';
}

const LAST_RESORT_HTML = Buffer.from('<!DOCTYPE html><html><body><h2>500 Internal Server Error</h2></body></html>\n');
const LAST_RESORT_PROBLEM = Buffer.from('{"type":"about:blank","title":"Internal Server Error","status":500}\n');

/** When even the error page failed: a fixed 500 in the form the client takes, logged. */
export function lastResort(ctx: RequestContext, err: unknown): Ready {
  ctx.host.logError('Building the error response failed', err, ctx.request.id);
  if (ctx.response.committed) return { kind: 'abort', error: err };
  ctx.response[kForceStatus](500);
  let type = HTML_TYPE;
  try {
    type = errorType(ctx);
  } catch { /* the fixed HTML page, then */ }
  ctx.response.headers.set('Content-Type', type);
  return { kind: 'bytes', data: type === HTML_TYPE ? LAST_RESORT_HTML : LAST_RESORT_PROBLEM };
}

const NO_CONFIG: Readonly<Config> = Object.freeze({});

/**
 * The Content-Type of this request's error response: `request.error_format`
 * on the route, and under 'auto' (the default) the client's `Accept`, which
 * the response then varies on.
 */
function errorType(ctx: RequestContext): string {
  const format = (ctx.plan?.config ?? NO_CONFIG)['request.error_format'] ?? 'auto';
  if (format === 'html') return HTML_TYPE;
  if (format === 'problem') return PROBLEM_TYPE;
  addVary(ctx.response.headers, 'Accept');
  const media = errorMediaType(ctx.request.headers.accept);
  return media === 'text/html' ? HTML_TYPE : media;
}

const CONTENT_HEADERS = ['accept-ranges', 'age', 'etag', 'location', 'retry-after', 'vary', 'content-encoding', 'content-length',
  'content-type', 'expires', 'content-location', 'content-range', 'content-disposition', 'last-modified', 'transfer-encoding'];

/** Clear what described the body being replaced, and drop that body. */
function resetFor(response: Response, status: number): void {
  for (const name of CONTENT_HEADERS) if (response.headers.has(name)) response.headers.delete(name);
  response.status = status;
  discardBody(response.body); // an open file that will not be sent is closed now
  response.body = undefined;
}

/** The error page, an HTML page or a problem document (docs/errors.md), becomes the response body. */
function setPage(ctx: RequestContext, status: number, message: string, traceback: string, errors: ErrorPageInfo['errors']): string {
  const type = errorType(ctx);
  const format = type === HTML_TYPE ? 'html' : 'problem';
  const info: ErrorPageInfo = { format, status, reason: ctx.response.reason, message, traceback, path: ctx.request.scriptName + ctx.request.path, errors };
  const page = renderErrorPage(ctx.plan?.config ?? NO_CONFIG, info, format === 'html' ? PROBLEM_TYPE : type);
  ctx.response.headers.set('Content-Type', page.type);
  ctx.response.body = page.body;
  return page.body;
}

/** CherryPy's HTTPRedirect: an absolute Location on this site's host, and a small HTML body. */
function setRedirect(ctx: RequestContext, r: HTTPRedirect): void {
  const { request, response } = ctx;
  const status = r.status ?? (request.protocol === 'HTTP/1.0' ? 302 : 303);
  const base = request.base + request.scriptName + request.path;
  const urls = r.urls.map((u) => absoluteUrl(u, base));
  resetFor(response, status);
  if (status === 304) return;
  response.headers.set('Location', urls[0]!);
  response.headers.set('Content-Type', 'text/html;charset=utf-8');
  response.body = urls.map((u) => `This resource can be found at <a href="${escapeHtml(u)}">${escapeHtml(u)}</a>.`).join('<br>\n') + '\n';
}
