import type { IncomingMessage, ServerResponse } from 'node:http';
import { discardBody, JsonBody, materialize, shapeOf, type BodyShape, type ChunkSource, type Encode } from '../body/body.js';
import type { Context } from '../http/request.js';
import { RequestContext } from './request-context.js';
import { DrupeError, HTTPError, HTTPRedirect, InternalRedirect, NotFound } from '../lib/errors.js';
import { escapeHtml, renderErrorPage } from './error-page.js';
import { runHooks } from './hooks.js';
import { ClientGoneError, drainBody } from '../http/body-reader.js';
import { createParams, parseFormInto, stringifyParams } from '../http/form.js';
import { CONTENT_TYPE } from '../http/headers.js';
import { charsetOf, encodingFor } from '../lib/media-type.js';
import { parseTarget, type Target } from '../http/target.js';
import { drive, type Steps } from '../lib/drive.js';
import { clfTime, quoted } from './log.js';
import type { Plan } from './plan.js';
import { Request, RequestAbortedError } from '../http/request.js';
import { Response } from '../http/response.js';
import { abort, declaredLength, sendBytes, sendStream, type Ready, type WriterHost } from '../http/writer.js';

/** What the pipeline needs from the App. */
export interface PipelineHost extends WriterHost {
  plan(request: Request): Plan;
  readonly fallbackHost: string;
  readonly idPrefix: string;
  nextId(): number;
  logAccess(line: string): void;
  readonly accessLog: boolean;
}

const MAX_INTERNAL_REDIRECTS = 10;

/**
 * One request's whole life, in order (CherryPy's `Request.respond`):
 * produce a response (dispatch, hooks, handler, body), write it, then end
 * the request (last hooks, clean-up, access log). Written as a generator
 * that `drive` runs synchronously until something is really pending
 * (src/internal/drive.ts): read every `yield` as `await`. One generator,
 * not one per stage: each costs an allocation and a resumption per request.
 */
export function handle(host: PipelineHost, req: IncomingMessage, res: ServerResponse): void | Promise<void> {
  return drive(lifecycle(host, req, res));
}

function* lifecycle(host: PipelineHost, req: IncomingMessage, res: ServerResponse): Steps<void> {
  const ctx = createContext(host, req, res);
  const { request, response } = ctx;
  let ready: Ready | undefined;
  // 1. Dispatch → hooks → handler → body, until a body is ready to write. Any exception
  //    becomes a response (B2); an InternalRedirect starts over on another path.
  try {
    let visited: Set<string> | undefined;
    let failure: { error: unknown } | undefined;
    let inFinalizeHooks = false;
    for (;;) {
      try {
        inFinalizeHooks = false;
        if (ctx.targetError !== undefined) throw ctx.targetError;
        const plan = usePlan(host, ctx);
        const hooks = plan.hooks;
        if (hooks.on_start_resource) { const pending = runHooks(hooks.on_start_resource, ctx, logExtraError); if (pending) yield pending; }
        checkDeclaredLength(request);
        if (request.queryString !== '') void request.query; // a malformed query is a 400 now, not in the handler
        if (hooks.before_request_body) { const pending = runHooks(hooks.before_request_body, ctx, logExtraError); if (pending) yield pending; }
        if (plan.settings.processBody && request.hasBody) yield request.processForm();
        if (hooks.before_handler) { const pending = runHooks(hooks.before_handler, ctx, logExtraError); if (pending) yield pending; }
        const handler = request.handler;
        if (handler !== null) {
          const result: unknown = handler.call(plan.self, ctx);
          response.body = isThenable(result) ? yield result : result;
        }
        if (hooks.before_finalize) {
          inFinalizeHooks = true;
          { const pending = runHooks(hooks.before_finalize, ctx, logExtraError); if (pending) yield pending; }
          inFinalizeHooks = false;
        }
        { const f = finalize(ctx); ready = isThenable(f) ? ((yield f) as Ready) : f; }
        break;
      } catch (err) {
        let error = err;
        if (err instanceof InternalRedirect && !response.committed) {
          const loop = internalRedirect(ctx, err, (visited ??= new Set()));
          if (loop === null) continue;
          error = loop;
        }
        // CherryPy's order: on_end_resource runs before the error points of an unexpected error.
        if (isUnexpected(ctx, error)) failure = { error };
        // An HTTPError raised by a before_finalize hook: its page is not run through those hooks again.
        else ready = yield* errorResponse(host, ctx, error, !inFinalizeHooks);
        break;
      }
    }
    const endHooks = ctx.plan?.hooks.on_end_resource;
    if (endHooks) {
      try {
        { const pending = runHooks(endHooks, ctx, logExtraError); if (pending) yield pending; }
      } catch (err) {
        if (failure !== undefined) logExtraError(err, ctx); // the first error answers
        else {
          if (ready?.kind === 'stream') { const closing = ready.source.close(); if (closing) yield closing; }
          if (isUnexpected(ctx, err)) failure = { error: err };
          else ready = yield* errorResponse(host, ctx, err);
        }
      }
    }
    if (failure !== undefined) ready = yield* errorResponse(host, ctx, failure.error);
  } catch (err) {
    ready = lastResort(host, ctx, err);
  }
  // 2. Write it.
  try {
    const sending = send(host, ctx, ready!);
    if (sending) yield sending;
  } catch (err) {
    host.logError('Writing the response failed', err, request.id);
    abort(ctx);
  }
  // 3. End the request.
  const ending = endRequest(host, ctx);
  if (ending) yield ending;
}

const badTarget: Target = { path: '/', query: '' };

function createContext(host: PipelineHost, req: IncomingMessage, res: ServerResponse): RequestContext {
  let target: Target;
  let targetError: unknown;
  try {
    target = parseTarget(req.url ?? '/');
  } catch (err) {
    target = badTarget;
    targetError = err;
  }
  const request = new Request(req, res, host.idPrefix, host.nextId(), target.path, target.query, host.fallbackHost);
  // node's parser lets through a Transfer-Encoding whose last coding is chunked
  // ('eee, chunked', 'gzip, chunked'): we decode only plain chunked (HOSTILE 1).
  const te = request.transferEncoding;
  if (te !== undefined && !/^[ \t]*chunked[ \t]*$/i.test(te)) {
    targetError = new HTTPError(400, 'Unsupported Transfer-Encoding', { Connection: 'close' });
  }
  // Timings and the client's address serve only the access line.
  if (host.accessLog) request.pinRemote();
  const ctx = new RequestContext(host, request, new Response(), res, host.accessLog ? performance.now() : 0);
  if (targetError !== undefined) ctx.targetError = targetError;
  return ctx;
}

/** An error that becomes a 500 and fires before_error_response / after_error_response. */
function isUnexpected(ctx: RequestContext, err: unknown): boolean {
  return !ctx.response.committed && !(err instanceof HTTPError) && !(err instanceof HTTPRedirect) && !clientGone(err);
}

/** The client left: a body read that failed, or `request.signal`'s reason rethrown by the handler or its generator. */
function clientGone(err: unknown): boolean {
  return err instanceof ClientGoneError || (err instanceof RequestAbortedError && err.code === 'DRUPE_CLIENT_CLOSED');
}

/** Find the route's plan (cached per path) and point the request at it. */
function usePlan(host: PipelineHost, ctx: RequestContext): Plan {
  const { request, response } = ctx;
  let plan = host.plan(request);
  // A method the resource has no handler for is a 405 where the handler would run, so the
  // route's hooks come first (tools.cors answers a preflight, tools.auth_basic guards).
  if (plan.byMethod !== null) plan = plan.byMethod.get(request.method) ?? plan;
  ctx.plan = plan;
  ctx.args = plan.args;
  request.settings = plan.settings;
  request.handler = plan.handler ?? (plan.byMethod === null ? notFound : methodNotAllowed);
  request.isIndex = plan.isIndex;
  if (plan.params !== null) Object.assign(request.ownParams(), plan.params);
  response.stream = plan.settings.stream;
  response.onStreamError = plan.settings.onStreamError;
  return plan;
}

function notFound(this: unknown, ctx: { request: Request }): never {
  throw new NotFound(ctx.request.path);
}

function methodNotAllowed(this: unknown, ctx: { request: Request }): never {
  const allow = (ctx as RequestContext).plan?.allow ?? '';
  throw new HTTPError(405, `Method ${ctx.request.method} is not allowed here`, { Allow: allow });
}

/** A declared body over the limit is refused before anything reads it — and before a `100 Continue`. */
function checkDeclaredLength(request: Request): void {
  const len = request.contentLength;
  if (len !== undefined && Number(len) > request.settings.maxBodySize) {
    throw new HTTPError(413, `Request body too large (limit ${request.settings.maxBodySize} bytes)`, { Connection: 'close' });
  }
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return typeof v === 'object' && v !== null && typeof (v as PromiseLike<unknown>).then === 'function';
}

// Hook points run through `{ const pending = runHooks(…); if (pending) yield pending; }`:
// synchronous hooks then cost nothing extra.

/** Errors of hooks after the first failing one at a point: logged, not answered. */
function logExtraError(err: unknown, ctx: Context): void {
  const c = ctx as RequestContext;
  c.host.logError('A further hook failed', err, c.request.id);
}

/**
 * How strings become bytes: the charset of the response's Content-Type
 * (UTF-8 by default), looked up when each string is encoded, so a
 * Content-Type a generator sets before it yields applies to what it yields (B3).
 */
function encoderFor(ctx: RequestContext): Encode {
  const headers = ctx.response.headers;
  let type: string | undefined | null = null; // null: not looked up yet
  let encode: Encode = utf8;
  return (s) => {
    const now = headers.get('content-type');
    if (now !== type) {
      type = now;
      encode = encoderForType(now);
    }
    return encode(s);
  };
}

function encoderForType(contentType: string | undefined): Encode {
  const charset = charsetOf(contentType);
  if (charset === undefined || charset === 'utf-8' || charset === 'utf8') return utf8;
  const enc = encodingFor(charset);
  if (enc === undefined) throw new DrupeError('DRUPE_ERR_CHARSET', `Cannot encode the response in charset '${charset}'`);
  return (s) => Buffer.from(s, enc);
}
const utf8: Encode = (s) => Buffer.from(s, 'utf8');

const NO_MORE: ChunkSource = { next: () => null, close: () => undefined };

/**
 * Turn the body into something the writer can send. Buffered: all of it
 * now (B1). Streamed: the first chunk, so that nothing is committed before
 * the producer has shown it works (S1).
 */
function finalize(ctx: RequestContext): Ready | Promise<Ready> {
  const { response } = ctx;
  if (response.status < 200) {
    // node would send it as an interim head, and the client would take the next response for this one's.
    throw new DrupeError('DRUPE_ERR_INVALID_STATUS', `Status ${response.status} is an interim (1xx) status, not a final one: use 200-599`);
  }
  // The common case, a UTF-8 string: no shaping, no encoding here, no promise.
  if (typeof response.body === 'string' && !response.committed && (response.headers.size === 0 || encoderForType(response.headers.get('content-type')) === utf8)) {
    return { kind: 'bytes', data: response.body };
  }
  // json(value) with no Content-Type of the handler's: JSON text is UTF-8, sent as a string the same way.
  if (response.body instanceof JsonBody && !response.committed && (response.headers.framing & CONTENT_TYPE) === 0) {
    response.headers.set('Content-Type', 'application/json');
    return { kind: 'bytes', data: JSON.stringify(response.body.value) ?? 'null' };
  }
  return finalizeShaped(ctx);
}

async function finalizeShaped(ctx: RequestContext): Promise<Ready> {
  const { response, request } = ctx;
  const encode = encoderFor(ctx);
  const shaped = shapeOf(response.body, ctx, encode);
  const shape: BodyShape = isThenable(shaped) ? await shaped : shaped;
  if (shape.kind === 'bytes' && response.committed) return { kind: 'stream', source: NO_MORE, first: shape.data };
  if (shape.kind === 'bytes') {
    if (shape.json && (response.headers.framing & CONTENT_TYPE) === 0) response.headers.set('Content-Type', 'application/json');
    return { kind: 'bytes', data: shape.data };
  }
  if (shape.length !== undefined && !response.stream) {
    // A body of known length (a file) goes out as it is read, never whole in memory (B7).
    response.headers.set('Content-Length', shape.length);
    return { kind: 'stream', source: shape.source, first: undefined };
  }
  if (!response.stream) {
    const data = materialize(shape.source, ctx.plan!.settings.maxBuffered);
    return { kind: 'bytes', data: isThenable(data) ? await data : data };
  }
  ctx.streamed = true;
  declaredLength(ctx); // a malformed Content-Length is a 500 now, while an error page can still be sent
  const policy = ctx.plan!.settings.streamCommit;
  if (request.method === 'HEAD' || policy === 'immediately') return { kind: 'stream', source: shape.source, first: undefined };
  const first = shape.source.next();
  if (!isThenable(first)) return { kind: 'stream', source: shape.source, first };
  if (policy === 'first-chunk') return { kind: 'stream', source: shape.source, first: await first };
  return raceFirstChunk(shape.source, first, policy);
}

/** `response.stream_commit: N`: wait up to N ms for the first chunk, then commit anyway. */
async function raceFirstChunk(source: ChunkSource, first: Promise<Buffer | null>, ms: number): Promise<Ready> {
  let timer: NodeJS.Timeout | undefined;
  const late = Symbol('late');
  let winner: Buffer | null | typeof late;
  try {
    winner = await Promise.race([first, new Promise<typeof late>((resolve) => { timer = setTimeout(resolve, ms, late); })]);
  } finally {
    clearTimeout(timer); // a generator that throws must not leave the timer running
  }
  if (winner !== late) return { kind: 'stream', source, first: winner };
  first.catch(() => undefined); // handled by the writer once committed
  return { kind: 'stream', source, first };
}

/** Follow an InternalRedirect: returns null to dispatch again, or the error that ends the loop. */
function internalRedirect(ctx: RequestContext, ir: InternalRedirect, visited: Set<string>): Error | null {
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

const CONTENT_HEADERS = ['accept-ranges', 'age', 'etag', 'location', 'retry-after', 'vary', 'content-encoding', 'content-length',
  'content-type', 'expires', 'content-location', 'content-range', 'content-disposition', 'last-modified', 'transfer-encoding'];

/** Any exception as a response (B2): redirect, HTTP error page, or a logged 500. */
function* errorResponse(host: PipelineHost, ctx: RequestContext, err: unknown, runFinalizeHooks = true): Steps<Ready> {
  const { request, response } = ctx;
  if (response.committed) {
    // Headers went out early (flushHeaders): too late for an error page (S5).
    host.logError(`${request.method} ${request.path} failed after its headers were sent; response truncated`, err, request.id);
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
        // CherryPy's NotFound(): without a path, it names the request's.
        const message = err instanceof NotFound && err.path === undefined ? `The path '${request.path}' was not found.` : err.message;
        setPage(ctx, err.status, message, '');
      }
      // As in CherryPy, an HTTP error or redirect is finalized like any response: header tools apply to it.
      const finalizeHooks = runFinalizeHooks ? ctx.plan?.hooks.before_finalize : null;
      if (finalizeHooks) { const pending = runHooks(finalizeHooks, ctx, logExtraError); if (pending) yield pending; }
      { const f = finalize(ctx); return isThenable(f) ? ((yield f) as Ready) : f; }
    }
    host.logError(`${request.method} ${request.path} failed`, err, request.id);
    const hooks = ctx.plan?.hooks;
    if (hooks?.before_error_response) { const pending = runHooks(hooks.before_error_response, ctx, logExtraError); if (pending) yield pending; }
    resetFor(response, 500);
    const show = ctx.plan?.settings.showTracebacks ?? false;
    const message = show && err instanceof Error ? err.message : 'The server encountered an unexpected condition which prevented it from fulfilling the request.';
    const traceback = show ? (err instanceof Error ? (err.stack ?? String(err)) : String(err)) : '';
    const html = setPage(ctx, 500, message, traceback);
    if (hooks?.after_error_response) { const pending = runHooks(hooks.after_error_response, ctx, logExtraError); if (pending) yield pending; }
    return { kind: 'bytes', data: html };
  } catch (again) {
    return lastResort(host, ctx, again);
  }
}

function resetFor(response: Response, status: number): void {
  for (const name of CONTENT_HEADERS) if (response.headers.has(name)) response.headers.delete(name);
  response.status = status;
  discardBody(response.body); // an open file that will not be sent is closed now
  response.body = undefined;
}

/** The error page becomes the response body (an HTML string). */
function setPage(ctx: RequestContext, status: number, message: string, traceback: string): string {
  const info = { status, reason: ctx.response.reason, message, traceback, path: ctx.request.path };
  const html = ctx.plan === undefined ? renderErrorPage({}, info) : renderErrorPage(ctx.plan.config, info);
  ctx.response.headers.set('Content-Type', 'text/html;charset=utf-8');
  ctx.response.body = html;
  return html;
}

/** CherryPy's HTTPRedirect: an absolute Location on this site's host, and a small HTML body. */
function setRedirect(ctx: RequestContext, r: HTTPRedirect): void {
  const { request, response } = ctx;
  const status = r.status ?? (request.protocol === 'HTTP/1.0' ? 302 : 303);
  const base = `${request.scheme}://${request.host}${request.path}`;
  const urls = r.urls.map((u) => absoluteUrl(u, base));
  resetFor(response, status);
  if (status === 304) return;
  response.headers.set('Location', urls[0]!);
  response.headers.set('Content-Type', 'text/html;charset=utf-8');
  response.body = urls.map((u) => `This resource can be found at <a href="${escapeHtml(u)}">${escapeHtml(u)}</a>.`).join('<br>\n') + '\n';
}

/**
 * Resolve a redirect target against the current URL. `//host` and `\`
 * tricks stay on this site; only http and https leave it.
 */
export function absoluteUrl(url: string, base: string): string {
  // Clean up as the URL parser (and browsers) will before looking at the start: it drops
  // tabs and newlines anywhere and C0 controls or spaces at the ends ('/\t/evil' is '//evil').
  // eslint-disable-next-line no-control-regex
  let u = url.replace(/[\t\n\r]/g, '').replace(/^[\x00-\x20]+|[\x00-\x20]+$/g, '');
  // '//evil', '/\evil', '\\evil' would be read by browsers as another host: keep them as paths here.
  if (/^[/\\]{2,}/.test(u)) u = '/' + u.replace(/^[/\\]+/, '');
  const resolved = new URL(u, base);
  if (resolved.protocol !== 'http:' && resolved.protocol !== 'https:') {
    throw new DrupeError('DRUPE_ERR_REDIRECT_URL', `Refusing to redirect to a ${resolved.protocol} URL`);
  }
  return resolved.href;
}

/** When even the error page failed: a fixed 500, logged. */
function lastResort(host: PipelineHost, ctx: RequestContext, err: unknown): Ready {
  host.logError('Building the error response failed', err, ctx.request.id);
  if (ctx.response.committed) return { kind: 'abort', error: err };
  ctx.response.forceStatus(500);
  return { kind: 'bytes', data: Buffer.from('<!DOCTYPE html><html><body><h2>500 Internal Server Error</h2></body></html>\n') };
}

/** Hand the response to the writer; a body nobody read is drained (bounded) or the connection is closed. */
function send(host: PipelineHost, ctx: RequestContext, ready: Ready): void | Promise<void> {
  if (ready.kind === 'abort') return abort(ctx);
  const { request } = ctx;
  if (request.hasBody && !request.bodyTaken && !ctx.res.destroyed) return sendAfterUnreadBody(host, ctx, ready);
  if (ready.kind === 'bytes') return sendBytes(host, ctx, ready.data);
  return sendStream(host, ctx, ready.source, ready.first);
}

async function sendAfterUnreadBody(host: PipelineHost, ctx: RequestContext, ready: Exclude<Ready, { kind: 'abort' }>): Promise<void> {
  const { request, response } = ctx;
  const chunked = request.contentLength === undefined;
  if (request.continuePending || ready.kind === 'stream' || (chunked && response.headers.get('connection') === 'close')) {
    if (!response.headers.has('connection')) response.headers.set('Connection', 'close');
  } else if (chunked) {
    try {
      await drainBody(request.raw, request.settings?.maxBodySize ?? 0);
    } catch (err) {
      if (err instanceof ClientGoneError) return abort(ctx);
      if (ready.kind === 'bytes') {
        const page = await drive(errorResponse(host, ctx, err));
        if (page.kind === 'abort') return abort(ctx);
        ready = page;
      }
    }
  }
  if (ready.kind === 'bytes') return sendBytes(host, ctx, ready.data);
  return sendStream(host, ctx, ready.source, ready.first);
}

/** on_end_request hooks, temp files, and the access line. */
function endRequest(host: PipelineHost, ctx: RequestContext): void | Promise<void> {
  if (ctx.plan?.hooks.on_end_request || ctx.request.hasTempFiles) return endRequestSlow(host, ctx);
  if (host.accessLog) host.logAccess(accessLine(ctx));
}

async function endRequestSlow(host: PipelineHost, ctx: RequestContext): Promise<void> {
  const hooks = ctx.plan?.hooks.on_end_request;
  if (hooks) {
    try {
      { const pending = runHooks(hooks, ctx, logExtraError); if (pending) await pending; }
    } catch (err) {
      host.logError('An on_end_request hook failed', err, ctx.request.id);
    }
  }
  if (ctx.request.hasTempFiles) {
    await ctx.request.cleanup().catch((err: unknown) => host.logError('Removing upload temp files failed', err, ctx.request.id));
  }
  if (host.accessLog) host.logAccess(accessLine(ctx));
}

/** Apache combined format, then duration, request id, and for streams how they ended. */
function accessLine(ctx: RequestContext): string {
  const { request, response } = ctx;
  const ms = (performance.now() - ctx.started).toFixed(3);
  const status = ctx.res.headersSent ? ctx.res.statusCode : response.committed ? response.status : 0;
  let line = `${request.remote.ip} - - ${clfTime()} "${quoted(`${request.raw.method} ${request.target} ${request.protocol}`)}" ${status || '-'} ${ctx.bytesSent || '-'} "${quoted(request.headers.referer)}" "${quoted(request.headers['user-agent'])}" ${ms}ms ${request.id}`;
  if (ctx.streamed || ctx.outcome !== 'complete') {
    const ttfb = ctx.firstByteAt === 0 ? '-' : (ctx.firstByteAt - ctx.started).toFixed(3) + 'ms';
    line += ` outcome=${ctx.outcome} ttfb=${ttfb}`;
  }
  return line;
}

