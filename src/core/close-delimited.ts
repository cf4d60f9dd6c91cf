import type { Exchange } from '../http/writer.js';
import { isBodyless } from '../lib/status.js';

/**
 * The body went out close-delimited (an HTTP/1.0 request, such as nginx's
 * default upstream protocol, and no declared length): the cut of a failed
 * stream reads as its end, so the client, or the proxy, cannot tell (S5 does
 * not hold). Only asked on the error path.
 */
export function closeDelimited(ctx: Exchange): boolean {
  const { res } = ctx;
  // h2 frames every body: a cut is RST_STREAM, always visible.
  return !ctx.h2 && res.headersSent && !res.chunkedEncoding && ctx.request.method !== 'HEAD' && !isBodyless(res.statusCode) && !ctx.response.headers.has('content-length');
}
