import type { IncomingHttpHeaders } from 'node:http';
import type { Headers } from '../http/headers.js';
import { parseHttpDate } from '../body/conditional.js';
import { HTTPError } from '../lib/errors.js';

/**
 * tools.caching's freshness rules (RFC 9111, as a shared cache applies
 * them, and CherryPy's habits where they differ): what a response allows
 * to be stored and for how long, and what a request allows to be served.
 */

/** A `Cache-Control` value as directive → argument (null: none); names lower-cased. */
export function parseCacheControl(value: string | undefined): Map<string, string | null> {
  const out = new Map<string, string | null>();
  if (value === undefined) return out;
  for (const part of splitOutsideQuotes(value)) {
    const eq = part.indexOf('=');
    const name = (eq < 0 ? part : part.slice(0, eq)).trim().toLowerCase();
    if (name === '' || out.has(name)) continue; // the first of a repeated directive counts
    let arg = eq < 0 ? null : part.slice(eq + 1).trim();
    if (arg !== null && arg.length >= 2 && arg.startsWith('"') && arg.endsWith('"')) arg = arg.slice(1, -1).replace(/\\(.)/g, '$1');
    out.set(name, arg);
  }
  return out;
}

/** Comma-separated parts, a quoted argument's commas kept (`no-cache="Set-Cookie, X-Foo"`). */
function splitOutsideQuotes(value: string): string[] {
  const parts: string[] = [];
  let start = 0;
  let quoted = false;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (quoted && c === 0x5c) i++; // a backslash escapes the next character
    else if (c === 0x22) quoted = !quoted;
    else if (c === 0x2c && !quoted) {
      parts.push(value.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(value.slice(start));
  return parts;
}

/** A delta-seconds argument (RFC 9111 §1.2.2), or undefined when absent or malformed. */
function deltaSeconds(arg: string | null | undefined): number | undefined {
  return arg !== null && arg !== undefined && /^\d{1,10}$/.test(arg) ? Number(arg) : undefined;
}

function joined(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v.join(', ') : v;
}

/** What the request's own `Cache-Control` / `Pragma` ask of the cache. */
export interface RequestRules {
  /** `no-store`: neither serve this request from the cache nor store its response. */
  readonly noStore: boolean;
  /** `no-cache` (or `Pragma: no-cache`): do not serve a stored copy, but store the fresh response (CherryPy). */
  readonly refresh: boolean;
  /** `max-age=N`: serve only a copy at most N seconds old. */
  readonly maxAge: number | undefined;
}

const PLAIN: RequestRules = Object.freeze({ noStore: false, refresh: false, maxAge: undefined });

/**
 * The request's directives. A malformed `max-age` is the client's mistake:
 * a 400, as CherryPy answers it.
 */
export function requestRules(headers: IncomingHttpHeaders): RequestRules {
  const cc = joined(headers['cache-control']);
  const pragma = joined(headers.pragma);
  if (cc === undefined && pragma === undefined) return PLAIN;
  const d = parseCacheControl(cc);
  let maxAge: number | undefined;
  if (d.has('max-age')) {
    maxAge = deltaSeconds(d.get('max-age'));
    if (maxAge === undefined) throw new HTTPError(400, 'Invalid Cache-Control header: max-age takes a number of seconds');
  }
  // Pragma counts only without Cache-Control (RFC 9111 §5.4); CherryPy reads it either way, and so do we.
  const refresh = d.has('no-cache') || (pragma !== undefined && parseCacheControl(pragma).has('no-cache'));
  return { noStore: d.has('no-store'), refresh, maxAge };
}

/**
 * Statuses stored: final, non-error answers that are the same for anyone
 * asking (RFC 9110 §15.1's heuristically cacheable list, less the errors
 * and 206, whose partial body is not the resource's).
 */
const STORABLE_STATUS = new Set([200, 203, 204, 300, 301, 308]);

/** The request header names a response's `Vary` lists, lower-cased; null for `Vary: *` (nothing matches it). */
export function varyNames(headers: Headers): readonly string[] | null {
  const all = headers.getAll('vary');
  if (all.length === 0) return [];
  const names: string[] = [];
  for (const line of all) {
    for (const raw of line.split(',')) {
      const n = raw.trim().toLowerCase();
      if (n === '*') return null;
      if (n !== '' && !names.includes(n)) names.push(n);
    }
  }
  return names.sort();
}

/** What the tool needs to know of the request its response answers. */
export interface StoreContext {
  /** The request carried `Authorization`. */
  readonly authorized: boolean;
  /** Now, in ms since the epoch. */
  readonly now: number;
  /** tools.caching.delay, in ms: the lifetime of a response that states none. */
  readonly delayMs: number;
}

/**
 * Until when (ms since the epoch) a response may be served from the cache,
 * or null when it must not be stored: a status that is not stored, a
 * `Set-Cookie` (one client's state), `Vary: *`, `Cache-Control: no-store`,
 * `private` or `no-cache`, `Pragma: no-cache`, an answer to a request with
 * `Authorization` that does not say it may be shared (`public`,
 * `s-maxage`, `must-revalidate`: RFC 9111 §3.5), or no freshness left.
 * Lifetime: `s-maxage`, else `max-age`, else `Expires` − `Date`, else `delay`.
 */
export function freshUntil(status: number, headers: Headers, c: StoreContext): number | null {
  if (!STORABLE_STATUS.has(status)) return null;
  if (headers.has('set-cookie')) return null;
  const d = parseCacheControl(headers.getAll('cache-control').join(', ') || undefined);
  if (d.has('no-store') || d.has('private') || d.has('no-cache')) return null;
  if (headers.has('pragma') && parseCacheControl(headers.get('pragma')).has('no-cache')) return null;
  if (c.authorized && !d.has('public') && !d.has('s-maxage') && !d.has('must-revalidate')) return null;
  let lifetimeMs: number;
  if (d.has('s-maxage') || d.has('max-age')) {
    // A malformed value makes the response stale at once (RFC 9111 §4.2.1).
    const s = deltaSeconds(d.has('s-maxage') ? d.get('s-maxage') : d.get('max-age'));
    lifetimeMs = s === undefined ? 0 : s * 1000;
  } else if (headers.has('expires')) {
    // An invalid Expires ("0") means already expired (RFC 9111 §5.3).
    const expires = parseHttpDate(headers.get('expires'));
    const date = parseHttpDate(headers.get('date')) ?? c.now;
    lifetimeMs = expires === undefined ? 0 : expires - date;
  } else {
    lifetimeMs = c.delayMs;
  }
  return lifetimeMs > 0 ? c.now + lifetimeMs : null;
}
