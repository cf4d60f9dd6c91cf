import { performance } from 'node:perf_hooks';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { kCleanup, kHasTempFiles, kHostField, kIsIndex, kOwnParams, kPinRemote, kProcessForm, kSettings, Request } from '../http/request.js';
import { Response } from '../http/response.js';
import { hostFieldError } from '../http/host-field.js';
import { isH2 } from '../http/h2-stream.js';
import { parseTarget, type Target } from '../http/target.js';
import { abort, sendBytes, type Exchange, type Ready, type WriterHost } from '../http/writer.js';
import { sendStream } from '../http/stream-writer.js';
import { drive, type Steps, type StepsEnd, type Wait } from '../lib/drive.js';
import { HTTPError, InternalRedirect } from '../lib/errors.js';
import { isThenable } from '../lib/thenable.js';
import { errorResponse, isUnexpected, lastResort } from './error-response.js';
import { finalize } from './finalize.js';
import { runHooks, type Hook } from './hooks.js';
import { followInternalRedirect } from './internal-redirect.js';
import type { Plan } from './plan.js';
import { logExtraError, RequestContext } from './request-context.js';
import { settleUnreadBody } from './unread-body.js';
import { isExposed } from './expose.js';
import { isHandedOver, refuseUpgrade } from './websocket.js';
import { declaredBody, validateInput } from './validation.js';

/** What the lifecycle needs from the App. */
export interface PipelineHost extends WriterHost {
  plan(request: Request): Plan;
  readonly fallbackHost: string;
  /** Where the app is mounted ('' at the root): stripped from the path, kept as `request.scriptName`. */
  readonly scriptName: string;
  readonly idPrefix: string;
  nextId(): number;
  /** The access line of a finished request (the log builds it in its format). */
  logAccess(ctx: Exchange): void;
  readonly accessLog: boolean;
  /** `request.id_header`: the response header echoing `request.id` ('' for none). */
  readonly idHeader: string;
}

/**
 * One request's whole life, in order (CherryPy's `Request.respond`):
 * produce a response (dispatch, hooks, handler, body), end the resource,
 * write the response, then end the request (last hooks, clean-up, access
 * log). Written as a generator that `drive` runs synchronously until
 * something is really pending (src/lib/drive.ts): read every `yield` as
 * `await`. One generator, not one per stage: each costs an allocation and a
 * resumption per request.
 */
export function handle(host: PipelineHost, req: IncomingMessage, res: ServerResponse, end: StepsEnd<IncomingMessage, ServerResponse>): void {
  // `end` hears when the request is over: at once, or once its last step (or a body still streaming) settled.
  drive(lifecycle(host, req, res), end, req, res);
}

/** node's parser marks a request that asks to switch protocols (undocumented in its types). */
type Upgradable = IncomingMessage & { upgrade?: boolean };

const HANDED_OVER: Ready = { kind: 'abort', error: undefined };

/** No exception is waiting to become a response. */
const NO_ERROR: unique symbol = Symbol('no error');

// Hook points run through `{ pending = runHooks(…); if (pending) yield pending; }`:
// synchronous hooks then cost nothing extra. One `pending` and one `value` for every step, not a
// constant each: a generator's frame holds a register for every local, and it is allocated per request.

function* lifecycle(host: PipelineHost, req: IncomingMessage, res: ServerResponse): Steps<void | Promise<void>> {
  const ctx = createContext(host, req, res);
  const { request, response } = ctx;
  /** Whether the client sent a body: settled at the end even if an InternalRedirect hid it from handlers. */
  const sentBody = request.hasBody;
  let ready: Ready | undefined;
  /** An exception that has not become a response yet. */
  let error: unknown = NO_ERROR;
  /** Whether an HTTPError's or redirect's page goes through before_finalize: not when a before_finalize hook raised it. */
  let finalizePage = true;
  let pending: void | PromiseLike<unknown> | Wait | undefined;
  let value: unknown;
  try {
    // 1. Dispatch → hooks → handler → body, until a body is ready to write.
    //    An InternalRedirect starts over on another path.
    let visited: Set<string> | undefined;
    let inFinalizeHooks = false;
    for (;;) {
      try {
        inFinalizeHooks = false;
        if (ctx.targetError !== undefined) throw ctx.targetError;
        const plan = usePlan(host, ctx);
        const hooks = plan.hooks;
        if (hooks.on_start_resource) { pending = runHooks(hooks.on_start_resource, ctx, logExtraError); if (pending) yield pending; }
        checkDeclaredLength(request);
        if (request.queryString !== '') void request.query; // a malformed query is a 400 now, not in the handler
        if (hooks.before_request_body) { pending = runHooks(hooks.before_request_body, ctx, logExtraError); if (pending) yield pending; }
        if (plan.settings.processBody && request.hasBody) { pending = request[kProcessForm](); if (pending) yield pending; }
        if (hooks.before_handler) { pending = runHooks(hooks.before_handler, ctx, logExtraError); if (pending) yield pending; }
        const handler = request.handler;
        if (handler !== null) {
          // An Upgrade request (node emits it only to the 'upgrade' listener): a WebSocket upgrade to a page handler is a 426.
          if ((req as Upgradable).upgrade === true) refuseUpgrade(req, handler, isExposed(handler));
          if (plan.input !== undefined) {
            pending = declaredBody(ctx, plan.input);
            pending = validateInput(ctx, plan.input, pending === undefined ? undefined : yield pending);
            if (pending) yield pending;
          }
          value = handler.call(plan.self, ctx);
          response.body = isThenable(value) ? yield value : value;
          // A WebSocket session ran on the socket (ws wrote the 101): nothing is left to finalize or write.
          if ((req as Upgradable).upgrade === true && isHandedOver(req)) { ready = HANDED_OVER; break; }
        }
        if (hooks.before_finalize) {
          inFinalizeHooks = true;
          { pending = runHooks(hooks.before_finalize, ctx, logExtraError); if (pending) yield pending; }
          inFinalizeHooks = false;
        }
        value = finalize(ctx);
        ready = isThenable(value) ? ((yield value) as Ready) : (value as Ready);
        break;
      } catch (err) {
        if (err instanceof InternalRedirect && !response.committed) {
          value = followInternalRedirect(ctx, err, (visited ??= new Set()));
          if (value === null) continue;
          error = value;
        } else error = err;
        finalizePage = !inFinalizeHooks;
        break;
      }
    }
    // 2. End the resource (its own generator, run only when there is something to do: this
    //    one's frame, allocated for every request, stays small).
    if (error !== NO_ERROR || ctx.plan?.hooks.on_end_resource || (sentBody && !request.bodyTaken)) {
      ready = yield* endResource(ctx, ready, error, finalizePage, ctx.plan?.hooks.on_end_resource ?? null, sentBody);
    }
  } catch (err) {
    ready = lastResort(ctx, err);
  }
  // 3. Write it. A streamed body: the writer ends the request too (4.) once the body is
  // over, so a stream in flight keeps neither this generator's frame nor drive's
  // continuation alive (every young-generation collection copies what streams in flight hold).
  if (ready!.kind === 'stream') return sendStream(host, ctx, ready!.source, ready!.first, endRequest);
  // A WebSocket endpoint took the socket over (and ws wrote the 101): nothing is written here.
  if (ready !== HANDED_OVER) send(host, ctx, ready!);
  // 4. End the request.
  pending = endRequest(host, ctx);
  if (pending) yield pending;
}

/**
 * 2. End the resource: on_end_resource, then a request body the handler left unread
 * (drained, or the connection will close). Each step may raise, and the top of this
 * loop is the one place an exception becomes a response — in CherryPy's order: an
 * HTTPError or redirect is answered before on_end_resource, an unexpected error after it.
 * `error`: an exception of step 1 that has not become a response yet (NO_ERROR: none);
 * `unread`: the client sent a body (an InternalRedirect may have hidden it from handlers).
 */
function* endResource(ctx: RequestContext, ready: Ready | undefined, error: unknown, finalizePage: boolean, endHooks: readonly Hook[] | null, unread: boolean): Steps<Ready | undefined> {
  for (;;) {
    if (error !== NO_ERROR && (endHooks === null || !isUnexpected(ctx, error))) {
      ready = yield* errorResponse(ctx, error, finalizePage);
      error = NO_ERROR;
      finalizePage = true;
    }
    if (endHooks !== null) {
      try {
        const pending = runHooks(endHooks, ctx, logExtraError);
        if (pending) yield pending;
      } catch (err) {
        if (error !== NO_ERROR) logExtraError(err, ctx); // the first error answers
        else {
          if (ready?.kind === 'stream') { const closing = ready.source.close(); if (closing) yield closing; }
          error = err;
        }
      }
      endHooks = null;
    } else if (unread) {
      unread = false;
      try {
        const draining = settleUnreadBody(ctx, ready!);
        if (draining) yield draining;
      } catch (err) {
        error = err;
      }
    } else return ready;
  }
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
  // A mounted app sees the path below its mount point (the tree matched the prefix).
  const scriptName = host.scriptName;
  let path = target.path;
  if (scriptName !== '' && path.startsWith(scriptName)) path = path.slice(scriptName.length);
  // Decided once per request: HTTP/2 arrives through node's compatibility API (app.listener on node:http2).
  const h2 = isH2(req);
  const request = new Request(req, res, host.idPrefix, host.nextId(), path, target.query, host.fallbackHost, scriptName, h2);
  // node's parser lets through a Transfer-Encoding whose last coding is chunked
  // ('eee, chunked', 'gzip, chunked'): we decode only plain chunked (HOSTILE 1).
  const te = request.transferEncoding;
  if (te !== undefined && !/^[ \t]*chunked[ \t]*$/i.test(te)) {
    targetError = new HTTPError(400, 'Unsupported Transfer-Encoding', { Connection: 'close' });
  }
  // node answers HTTP/0.9 and HTTP/2.0 request lines as if they were HTTP/1.x, and
  // takes any Host: RFC 9112 §2.3 and §3.2 say reject (HOSTILE 34). Each closes the
  // connection, so nothing pipelined behind it runs (HOSTILE 32).
  let hostError: string | undefined;
  // HTTP/2 has no request line to check; its `:authority` (or Host) is optional, and checked when sent.
  if (h2) {
    if ((hostError = hostFieldError(request[kHostField], false)) !== undefined) targetError = new HTTPError(400, hostError);
  } else if (req.httpVersionMajor !== 1) {
    targetError = new HTTPError(505, `HTTP/${req.httpVersion} is not supported`, { Connection: 'close' });
  } else if ((hostError = hostFieldError(request[kHostField], req.httpVersionMinor !== 0)) !== undefined) {
    targetError = new HTTPError(400, hostError, { Connection: 'close' });
  }
  // Timings and the client's address serve only the access line.
  if (host.accessLog) request[kPinRemote]();
  const ctx = new RequestContext(host, request, new Response(), res, host.accessLog ? performance.now() : 0, h2);
  if (targetError !== undefined) ctx.targetError = targetError;
  if (host.idHeader !== '') ctx.response.headers.set(host.idHeader, request.id);
  return ctx;
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
  if (ctx.validParams !== undefined || ctx.body !== undefined) { ctx.validParams = undefined; ctx.body = undefined; }
  request[kSettings] = plan.settings;
  request.handler = plan.handler;
  request[kIsIndex] = plan.isIndex;
  if (plan.params !== null) Object.assign(request[kOwnParams](), plan.params);
  response.stream = plan.settings.stream;
  response.onStreamError = plan.settings.onStreamError;
  return plan;
}

/** A declared body over the limit is refused before anything reads it — and before a `100 Continue`. */
function checkDeclaredLength(request: Request): void {
  const len = request.contentLength;
  const max = request[kSettings].maxBodySize;
  // hasBody: after an InternalRedirect dropped it, the body is no longer this route's to bound.
  if (len !== undefined && Number(len) > max && request.hasBody) {
    throw new HTTPError(413, `Request body too large (limit ${max} bytes)`, { Connection: 'close' });
  }
}

/**
 * Hand a buffered response (or nothing: abort) to the writer, the only code that writes to the
 * socket; a failure there is logged and the response cut.
 */
function send(host: PipelineHost, ctx: RequestContext, ready: Ready): void {
  try {
    if (ready.kind === 'bytes') sendBytes(host, ctx, ready.data, ready.type);
    else abort(ctx);
  } catch (err) {
    host.logError('Writing the response failed', err, ctx.request.id);
    abort(ctx);
  }
}

/** on_end_request hooks, temp files, and the access line. */
function endRequest(host: PipelineHost, ctx: RequestContext): void | Promise<void> {
  if (ctx.plan?.hooks.on_end_request || ctx.request[kHasTempFiles]) return endRequestSlow(host, ctx);
  if (host.accessLog) host.logAccess(ctx);
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
  if (ctx.request[kHasTempFiles]) {
    await ctx.request[kCleanup]().catch((err: unknown) => host.logError('Removing upload temp files failed', err, ctx.request.id));
  }
  if (host.accessLog) host.logAccess(ctx);
}
