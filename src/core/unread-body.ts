import { drainBody } from '../http/body-reader.js';
import { kContinuePending, kSettings } from '../http/request.js';
import type { Ready } from '../http/writer.js';
import type { RequestContext } from './request-context.js';

/**
 * A request body the handler left unread must not be read as the next
 * request on the connection. A chunked one is drained before a buffered
 * response is sent, counting bytes (a 413 past `request.max_body_size`);
 * where a drain cannot be waited for — a streamed response, a client still
 * waiting for `100 Continue` — the connection closes after the response
 * instead. A body of declared length is within the limit (checked before
 * the handler) and node discards it itself. A promise only while draining.
 */
export function settleUnreadBody(ctx: RequestContext, ready: Ready): void | Promise<void> {
  const { request, response } = ctx;
  // h2: a stream's body cannot be taken for the next request; node ends the stream after the response
  // (RST_STREAM(NO_ERROR) while the client still sends, RFC 9113 §8.1), and a Connection field is not h2's.
  if (request.bodyTaken || ctx.h2 || ctx.res.destroyed || ready.kind === 'abort') return;
  const chunked = request.contentLength === undefined;
  if (request[kContinuePending] || ready.kind === 'stream' || (chunked && response.headers.get('connection') === 'close')) {
    if (!response.headers.has('connection')) response.headers.set('Connection', 'close');
  } else if (chunked) {
    return drainBody(request.raw, request[kSettings]?.maxBodySize ?? 0);
  }
}
