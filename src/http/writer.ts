import { performance } from 'node:perf_hooks';
import { Buffer } from 'node:buffer';
import type { ServerResponse } from 'node:http';
import type { ChunkSource } from './chunk-source.js';
import { DrupeError } from '../lib/errors.js';
import { CONNECTION, CONTENT_LENGTH, CONTENT_TYPE, SERVER, TRANSFER_ENCODING, X_ACCEL_BUFFERING, X_CONTENT_TYPE_OPTIONS, kFraming, kHasLatin1, kToList } from './headers.js';
import { isBodyless } from '../lib/status.js';
import { kSettings, type Request } from './request.js';
import { kCustomReason, kMarkCommitted, type Response } from './response.js';
import type { LiveList, Linkable } from './live-list.js';
import { h2Head, isClosed, resetStream, respond, type H2Head } from './h2-stream.js';

/** A response ready to go out, as the pipeline hands it to the writer. */
export type Ready =
  /**
   * A UTF-8 string stays a string: node then writes head and body in one syscall. `type`: the
   * Content-Type to send when the response has none of its own (text/html;charset=utf-8 by default).
   */
  | { readonly kind: 'bytes'; readonly data: Buffer | string; readonly type?: string }
  /** `first`: the chunk already pulled (null: the body ended empty; undefined: nothing pulled yet). */
  | { readonly kind: 'stream'; readonly source: ChunkSource; readonly first: Buffer | null | undefined | Promise<Buffer | null> }
  /** Nothing can be sent: the client is gone, or the response failed after commit. */
  | { readonly kind: 'abort'; readonly error: unknown };

/** One request in flight, as the writer sees it: what to write, where, and what to record for the access line. */
export interface Exchange extends Linkable<Exchange> {
  readonly request: Request;
  readonly response: Response;
  readonly res: ServerResponse;
  /** The route's `response.headers.server`; undefined before a route was found. */
  readonly serverHeader: string | undefined;
  /** When the request started (0: no access log, no timings kept). */
  readonly started: number;
  firstByteAt: number;
  bytesSent: number;
  outcome: 'complete' | 'error' | 'client-closed';
  /** The response is (or will be) streamed: no literal head, X-Accel-Buffering. */
  streamed: boolean;
  /** The request came over HTTP/2 (decided once, when the request starts): see h2-stream.ts. */
  readonly h2: boolean;
}

/** What the writer needs from the app: its log, whether the server is shutting down, the default Server header. */
export interface WriterHost {
  readonly closing: boolean;
  /** The global `response.headers.server`, for a request that never got a route (a malformed target). */
  readonly serverHeader: string;
  readonly streams: LiveList<Exchange>;
  logError(message: string, err: unknown, requestId: string): void;
  /**
   * A streamed body goes on after the pipeline's call returned (stream-writer.ts): the writer
   * ends that request itself, and tells the host through these rather than through a promise
   * a stream in flight would keep alive. `ending`: what ending the request returned.
   */
  streamStarted(): void;
  streamEnded(ctx: Exchange, ending: void | Promise<void>): void;
}

const DEFAULT_TYPE = 'text/html;charset=utf-8';
const NON_ASCII = /[^\x00-\x7f]/;
export const hasNonAscii = (s: string | undefined): boolean => s !== undefined && NON_ASCII.test(s);
/** How long a last in-band error chunk may take to flush before the socket is destroyed anyway. */
const LAST_CHUNK_GRACE_MS = 1000;

/**
 * Hand the status line and headers to the socket (the commit). `length`:
 * the body length to declare, or null to leave framing to the protocol
 * (chunked on HTTP/1.1, close-delimited on HTTP/1.0). `whole`: the body
 * follows at once, in one write (h2 then needs no trailers: `respond`).
 */
export function commit(host: WriterHost, ctx: Exchange, length: number | null, whole = false, type = DEFAULT_TYPE): void {
  const { response, request } = ctx;
  const h = response.headers;
  const status = response.status;
  const server = ctx.serverHeader ?? host.serverHeader;
  let head: Array<string | string[]> | H2Head;
  if (h.size === 0 && length !== null && !ctx.streamed && !host.closing && !isBodyless(status)) {
    // Most buffered responses set no header of their own: their head is one literal, with no lookups.
    if (ctx.h2) {
      head = server === ''
        ? { 'content-type': type, 'content-length': String(length) }
        : { 'content-type': type, 'content-length': String(length), server };
    } else {
      head = server === ''
        ? ['Content-Type', type, 'Content-Length', String(length)]
        : ['Content-Type', type, 'Content-Length', String(length), 'Server', server];
    }
  } else {
    head = h[kToList]();
    const has = h[kFraming];
    if (!isBodyless(status)) {
      if ((has & CONTENT_TYPE) === 0) head.push('Content-Type', type);
      // A streamed body's declared length is the handler's own header: never send it twice.
      if (length !== null && (has & CONTENT_LENGTH) === 0) head.push('Content-Length', String(length));
      if (ctx.streamed) {
        if ((has & X_ACCEL_BUFFERING) === 0) head.push('X-Accel-Buffering', 'no');
        // A browser holds a streamed body it may sniff (text/plain: ~1 KiB) before showing any of it.
        if (request[kSettings]?.streamNosniff !== false && (has & X_CONTENT_TYPE_OPTIONS) === 0) head.push('X-Content-Type-Options', 'nosniff');
      }
    }
    if (server !== '' && (has & SERVER) === 0) head.push('Server', server);
    if (ctx.h2) head = h2Head(head); // no connection-specific field on h2, whoever set it (HOSTILE 46)
    else if (host.closing && (has & CONNECTION) === 0) head.push('Connection', 'close');
  }
  response[kMarkCommitted]();
  if (ctx.started !== 0) ctx.firstByteAt = performance.now();
  // h2 has no reason phrase; its head goes straight to the stream (h2-stream.ts).
  if (ctx.h2) respond(ctx.res, status, head as H2Head, whole);
  else ctx.res.writeHead(status, response[kCustomReason], head as Array<string | string[]>);
}

/** A buffered response: length known, one write (B4, B6); `type` as in `Ready`. */
export function sendBytes(host: WriterHost, ctx: Exchange, data: Buffer | string, type?: string): void {
  const { response, request, res } = ctx;
  if (ctx.h2 ? isClosed(res, true) : res.destroyed) {
    ctx.outcome = 'client-closed'; // the client left while the handler worked: the access line says so
    return;
  }
  const bodyless = isBodyless(response.status);
  const h = response.headers;
  // Our own length, never the handler's (HOSTILE 15); none at all for 204/304.
  if ((h[kFraming] & CONTENT_LENGTH) !== 0) h.delete('content-length');
  if ((h[kFraming] & TRANSFER_ENCODING) !== 0) h.delete('transfer-encoding');
  // node glues the head to a string body and encodes both as UTF-8: fine for an ASCII head only.
  if (typeof data === 'string' && (h[kHasLatin1] || hasNonAscii(response[kCustomReason]))) data = Buffer.from(data, 'utf8');
  const length = typeof data === 'string' ? Buffer.byteLength(data, 'utf8') : data.length;
  commit(host, ctx, bodyless ? null : length, true, type);
  if (bodyless || request.method === 'HEAD') res.end();
  else {
    ctx.bytesSent = length;
    res.end(data);
  }
}

/**
 * Cut a response that cannot be completed: no terminator, no reuse (S5).
 * node corks for the rest of the tick after each write, so uncork first:
 * what was already written still reaches the client, which can then see
 * exactly where the body stopped. Node 20 and 22 cork the socket. Node 24
 * and later cork the response, which keeps the tick's chunks (and the head,
 * until the first of them goes out) to itself, and its destroy() drops
 * them: uncork the response (it hands them to the socket), then the socket,
 * so the bytes go to the kernel before the socket is destroyed.
 */
export function abort(ctx: Exchange): void {
  const { res } = ctx;
  // h2: RST_STREAM(INTERNAL_ERROR) on this stream alone; node's destroy() would send NO_ERROR, a clean end.
  if (ctx.h2) return resetStream(res);
  const socket = res.socket;
  if (socket !== null && !socket.destroyed) {
    while (res.writableCorked > 0) res.uncork();
    while (socket.writableCorked > 0) socket.uncork();
  }
  res.destroy();
}

/**
 * End a failed stream visibly (S5): the response's `onStreamError` may add
 * one last in-band chunk (an SSE error event, say); then the socket is
 * destroyed without a terminator.
 */
export function truncate(ctx: Exchange, err: unknown, host: WriterHost): void {
  const { res, response } = ctx;
  let last: string | Uint8Array | undefined;
  try {
    last = response.onStreamError?.(err);
  } catch (again) {
    host.logError('response.onStreamError failed', again, ctx.request.id);
  }
  if (last === undefined || last.length === 0 || (ctx.h2 ? isClosed(res, true) : !res.writable)) return abort(ctx);
  const timer = setTimeout(() => abort(ctx), LAST_CHUNK_GRACE_MS);
  timer.unref();
  res.write(last, () => {
    clearTimeout(timer);
    abort(ctx);
  });
}

/** The handler's Content-Length for a streamed body, checked (the pipeline checks it before commit too). */
export function declaredLength(ctx: Exchange): number | null {
  const v = ctx.response.headers.get('content-length');
  if (v === undefined) return null;
  if (!/^\d{1,15}$/.test(v)) throw new DrupeError('DRUPE_ERR_CONTENT_LENGTH', `Invalid Content-Length ${JSON.stringify(v)} set by the handler`);
  return Number(v);
}
