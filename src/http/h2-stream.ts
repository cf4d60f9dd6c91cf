import { constants, type Http2ServerResponse } from 'node:http2';
import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * What differs when a request came over HTTP/2 (node's compatibility API:
 * `app.listener` mounted on `http2.createServer()` or
 * `createSecureServer()`). The pipeline asks once per request, at its
 * start (`req.httpVersionMajor === 2`), and keeps the answer.
 */

/**
 * Whether `req` came over HTTP/2 through node's compatibility API. An
 * HTTP/1.x connection may send a request line saying HTTP/2.0 (node's
 * parser lets it through): that is not h2, and is refused (HOSTILE 34).
 */
export function isH2(req: IncomingMessage): boolean {
  return req.httpVersionMajor === 2 && (req as { stream?: unknown }).stream !== undefined;
}

/** The stream under an h2 response (node's compatibility response wraps it). */
export function h2Stream(res: ServerResponse): Http2ServerResponse['stream'] {
  return (res as unknown as Http2ServerResponse).stream;
}

/**
 * Whether the response closed before it was complete: the client left.
 * HTTP/1.1: not all of it reached the socket. HTTP/2: the stream was reset
 * (the client's RST_STREAM) or its connection went away — node's
 * compatibility response then reports `writableFinished` too (it ends the
 * stream's writable side itself), so that cannot tell.
 */
export function closedEarly(res: ServerResponse, h2: boolean): boolean {
  if (!h2) return !res.writableFinished;
  const stream = h2Stream(res);
  return stream.aborted || (stream.closed && stream.rstCode !== constants.NGHTTP2_NO_ERROR);
}

/** Whether the response's connection (HTTP/1.1) or stream (HTTP/2) is closed already. */
export function isClosed(res: ServerResponse, h2: boolean): boolean {
  return h2 ? h2Stream(res).closed : res.closed;
}

/**
 * Call `gone` once if the client leaves before the response is complete
 * (at once if it already has: 'close' will not fire again).
 */
export function onClientGone(res: ServerResponse, h2: boolean, gone: () => void): void {
  if (isClosed(res, h2)) {
    if (closedEarly(res, h2)) gone();
  } else if (h2 || !res.writableFinished) {
    res.once('close', () => {
      if (closedEarly(res, h2)) gone();
    });
  }
}

/**
 * End an h2 stream that cannot be completed (S5): RST_STREAM with
 * INTERNAL_ERROR, which every client reports as a failed request. node's
 * `destroy()` sends RST_STREAM(NO_ERROR), which clients read as the end
 * of a complete body. node sends the DATA already handed to the session
 * before the RST_STREAM.
 */
export function resetStream(res: ServerResponse): void {
  const stream = h2Stream(res);
  if (!stream.closed) stream.close(constants.NGHTTP2_INTERNAL_ERROR);
}

/**
 * Connection-specific fields (RFC 9113 §8.2.2): an h2 message that has one
 * is malformed, and node either drops it with a warning (`Connection`) or
 * throws at commit (the others). Lower-case names.
 */
const CONNECTION_SPECIFIC = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade']);

/** An h2 head: lower-case names, no prototype (a `__proto__` field stays a field); `:status` is added at commit. */
export type H2Head = Record<string, string | string[] | number>;

/** `respond`'s options: a body that may still fail ends through trailers (see `respond`). */
const MAY_FAIL = { waitForTrailers: true } as const;
const WHOLE = { waitForTrailers: false } as const;

/**
 * Commit an h2 response: its HEADERS frame, straight on the stream. node's
 * compatibility `writeHead` would first copy each field into its own head
 * (trimmed, lower-cased and validated again: Drupe's `Headers` and
 * `h2Head` have done all that). HEAD, 204 and 304 end the stream at once
 * (node's `respond` sees to it); the body is still written and ended
 * through the compatibility response, so its 'drain', 'finish' and
 * 'close' and its `headersSent` stay as node keeps them, and `statusCode`
 * is set for readers of the raw response (the access line). A stream
 * closed already gets nothing, as with `writeHead`.
 *
 * `whole`: the body is handed over in the same turn, in one piece (a
 * buffered response), so nothing can fail after this: its last DATA frame
 * carries END_STREAM. Any other body waits for trailers, as node's
 * compatibility response always does: node ends the writable side before
 * it sends a RST_STREAM (`resetStream`), and without trailers to wait for
 * that end would go out first as END_STREAM — a cut body read as complete
 * (S5). Waiting for them costs a callback and an empty DATA frame.
 */
export function respond(res: ServerResponse, status: number, head: H2Head, whole: boolean): void {
  const stream = h2Stream(res);
  if (stream.destroyed || stream.closed) return;
  if (status >= 200) res.statusCode = status; // the compatibility setter refuses 1xx, which a final head never is
  head[':status'] = status;
  stream.respond(head, whole ? WHOLE : MAY_FAIL);
}

/**
 * The h2 name of each header name a head list has held: lower-case, or null for a
 * connection-specific field. Most responses repeat the same few names (Content-Type, Server,
 * X-Accel-Buffering…): one lookup each, no lower-cased copy per response. Bounded, as a
 * handler may set any names.
 */
const H2_NAMES = new Map<string, string | null>();
const H2_NAMES_MAX = 1000;

function h2Name(name: string): string | null {
  let out = H2_NAMES.get(name);
  if (out === undefined) {
    const lower = name.toLowerCase();
    out = CONNECTION_SPECIFIC.has(lower) ? null : lower;
    if (H2_NAMES.size < H2_NAMES_MAX) H2_NAMES.set(name, out);
  }
  return out;
}

/**
 * The head list (`name, value, name, value…`) as the object an h2 commit
 * hands to the stream's `respond` (node's own form of a head), without
 * connection-specific fields: whatever a handler or tool set, none is
 * sent.
 */
export function h2Head(head: Array<string | string[]>): H2Head {
  const out: H2Head = Object.create(null) as H2Head;
  for (let i = 0; i < head.length; i += 2) {
    const name = h2Name(head[i] as string);
    if (name === null) continue;
    const value = head[i + 1]!;
    const had = out[name] as string | string[] | undefined;
    out[name] = had === undefined ? value : ([] as string[]).concat(had, value);
  }
  return out;
}
