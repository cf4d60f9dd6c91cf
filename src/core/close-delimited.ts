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
  return !ctx.h2 && res.headersSent && !chunked(res) && ctx.request.method !== 'HEAD' && !isBodyless(res.statusCode) && !ctx.response.headers.has('content-length');
}

// Bun's node:http sends an HTTP/1.1 body chunked but leaves `chunkedEncoding` false; the flag it
// does keep is node's `useChunkedEncodingByDefault` (false for an HTTP/1.0 request). Node's own
// `chunkedEncoding` stays the answer everywhere else: it is false when a handler removed the
// framing itself.
const ON_BUN = typeof process.versions.bun === 'string';

function chunked(res: Exchange['res']): boolean {
  return res.chunkedEncoding || (ON_BUN && res.useChunkedEncodingByDefault);
}
