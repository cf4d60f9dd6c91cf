import type { IncomingHttpHeaders } from 'node:http';
import type { Response } from '../http/response.js';

/**
 * Conditional requests (RFC 9110 §13): evaluated against the validators of
 * the representation that would be sent. Used by file bodies and by
 * `tools.etags`; any body helper can reuse it.
 */
export interface Validators {
  /** The entity tag as it goes in the `ETag` header (`"abc"` or `W/"abc"`), if any. */
  readonly etag?: string | undefined;
  /** The last modification time, in ms since the epoch (compared at one-second precision). */
  readonly lastModified?: number | undefined;
}

/** What the preconditions say: send the response, answer 304, or answer 412. */
export type ConditionOutcome = 'proceed' | 'not-modified' | 'precondition-failed';

interface Tag { weak: boolean; opaque: string }

/** `W/"x"` or `"x"` as a tag; anything else undefined. */
export function parseETag(value: string): Tag | undefined {
  const v = value.trim();
  const weak = v.startsWith('W/');
  const q = weak ? v.slice(2) : v;
  if (q.length < 2 || q[0] !== '"' || q[q.length - 1] !== '"' || q.slice(1, -1).includes('"')) return undefined;
  return { weak, opaque: q.slice(1, -1) };
}

/** A list of entity tags (`If-Match`, `If-None-Match`); '*' is the string '*'. Malformed members are dropped. */
function parseTagList(value: string): Tag[] | '*' {
  if (value.trim() === '*') return '*';
  const out: Tag[] = [];
  // Entity tags cannot contain '"' inside, so a comma outside quotes separates members.
  const re = /[\s,]*((?:W\/)?"[^"]*")\s*(?:,|$)/gy;
  let m: RegExpExecArray | null;
  while ((m = re.exec(value)) !== null) {
    const t = parseETag(m[1]!);
    if (t !== undefined) out.push(t);
    if (re.lastIndex >= value.length) break;
  }
  return out;
}

function strongMatch(a: Tag, b: Tag): boolean {
  return !a.weak && !b.weak && a.opaque === b.opaque;
}

function weakMatch(a: Tag, b: Tag): boolean {
  return a.opaque === b.opaque;
}

/** An HTTP-date in ms, or undefined when it is not one. */
export function parseHttpDate(value: string | undefined): number | undefined {
  if (value === undefined || value.length > 64 || !/^[A-Za-z]{3}/.test(value.trim())) return undefined;
  const t = Date.parse(value);
  return Number.isFinite(t) ? t : undefined;
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v.join(', ') : v;
}

const seconds = (ms: number): number => Math.floor(ms / 1000);

/**
 * RFC 9110 §13.2.2, in its order: If-Match (strong comparison) → 412; else
 * If-Unmodified-Since → 412; If-None-Match (weak comparison) → 304 for
 * GET/HEAD, 412 otherwise; else If-Modified-Since (GET/HEAD only) → 304.
 * Call it only when the response would otherwise be a 2xx.
 */
export function evaluateConditions(method: string, headers: IncomingHttpHeaders, v: Validators): ConditionOutcome {
  const current = v.etag === undefined ? undefined : parseETag(v.etag);
  const getOrHead = method === 'GET' || method === 'HEAD';

  const ifMatch = header(headers, 'if-match');
  if (ifMatch !== undefined) {
    const list = parseTagList(ifMatch);
    const ok = list === '*' ? true : current !== undefined && list.some((t) => strongMatch(t, current));
    if (!ok) return 'precondition-failed';
  } else {
    const since = parseHttpDate(header(headers, 'if-unmodified-since'));
    if (since !== undefined && v.lastModified !== undefined && seconds(v.lastModified) > seconds(since)) return 'precondition-failed';
  }

  const ifNoneMatch = header(headers, 'if-none-match');
  if (ifNoneMatch !== undefined) {
    const list = parseTagList(ifNoneMatch);
    const hit = list === '*' ? true : current !== undefined && list.some((t) => weakMatch(t, current));
    if (hit) return getOrHead ? 'not-modified' : 'precondition-failed';
  } else if (getOrHead) {
    const since = parseHttpDate(header(headers, 'if-modified-since'));
    if (since !== undefined && v.lastModified !== undefined && seconds(v.lastModified) <= seconds(since)) return 'not-modified';
  }
  return 'proceed';
}

/**
 * `If-Range` (RFC 9110 §13.1.5): true when the Range header may be used.
 * An entity tag must match strongly; a date must equal Last-Modified.
 */
export function ifRangeAllows(headers: IncomingHttpHeaders, v: Validators): boolean {
  const value = header(headers, 'if-range');
  if (value === undefined) return true;
  const trimmed = value.trim();
  if (trimmed.startsWith('"') || trimmed.startsWith('W/')) {
    const tag = parseETag(trimmed);
    const current = v.etag === undefined ? undefined : parseETag(v.etag);
    return tag !== undefined && current !== undefined && strongMatch(tag, current);
  }
  const date = parseHttpDate(trimmed);
  return date !== undefined && v.lastModified !== undefined && seconds(date) === seconds(v.lastModified);
}

/** Representation headers a 304 does not carry (RFC 9110 §15.4.5); ETag, Last-Modified, Cache-Control, Vary, Expires, Date stay. */
const NOT_IN_304 = ['content-type', 'content-length', 'content-range', 'content-encoding', 'content-language',
  'content-disposition', 'accept-ranges', 'transfer-encoding'];

/**
 * What a 200 would have carried, kept for a response that became a 304 or
 * a 206: a tool that negotiates the representation (tools.gzip) must send
 * them the `Vary` and validator its 200 would have (RFC 9110 §15.3.7,
 * §15.4.5), and by then the 304 has lost its Content-Type.
 */
export interface FullRepresentation {
  /** The 200's Content-Type, if it had one. */
  readonly type: string | undefined;
  /** The 200's body length, when known. */
  readonly length: number | undefined;
  /** The 200's Content-Encoding (a body sent encoded already), if any. */
  readonly encoding: string | undefined;
}

// Only 304s and 206s are noted (not the common 200): no cost on the usual path.
const replaced = new WeakMap<Response, FullRepresentation>();

/** Note what the response's 200 would have been, as it becomes a 206 (a 304 is noted by `toNotModified`). */
export function noteFullRepresentation(response: Response, full: FullRepresentation): void {
  replaced.set(response, full);
}

/** What the response's 200 would have been, if it became a 304 or a 206 through a body helper. */
export function fullRepresentation(response: Response): FullRepresentation | undefined {
  return replaced.get(response);
}

/** Turn the response into a 304: status set, body and content headers gone. `length`: the body's, when known. */
export function toNotModified(response: Response, length?: number): void {
  const h = response.headers;
  replaced.set(response, { type: h.get('content-type'), length, encoding: h.get('content-encoding') });
  for (const name of NOT_IN_304) if (response.headers.has(name)) response.headers.delete(name);
  response.status = 304;
}
