// Content negotiation on `Accept`, through negotiator (the jshttp package
// Express and Koa use): q-values, wildcards, specificity and parameters as
// RFC 9110 §12.5.1 has them. Shared by error responses and tools.accept.
import { createRequire } from 'node:module';
import type NegotiatorType from 'negotiator';

/**
 * The longest `Accept` Drupe negotiates, in bytes (HOSTILE 61). Matching
 * costs each offered type a parse per range, so a header of thousands of
 * ranges would cost milliseconds per request; browsers send about 100
 * bytes, and API clients rarely 200.
 */
export const MAX_ACCEPT_LENGTH = 1024;

// Loaded on the first negotiation: an app whose clients never need one never loads it.
const load = createRequire(import.meta.url);
let Negotiator: typeof NegotiatorType | undefined;

/**
 * The type from `offered` the client prefers, per `Accept`: the highest q,
 * then the more specific range, then the header's order; a range matching
 * several offered types takes the earlier. A missing or blank `Accept` accepts anything (the
 * first offered type); null when nothing offered is acceptable; 'too-long'
 * past `MAX_ACCEPT_LENGTH`, which the caller answers its own way.
 */
export function preferredMedia(accept: string | undefined, offered: readonly string[]): string | null | 'too-long' {
  if (accept === undefined || accept.trim() === '') return offered[0] ?? null;
  if (accept.length > MAX_ACCEPT_LENGTH) return 'too-long';
  Negotiator ??= load('negotiator') as typeof NegotiatorType;
  try {
    return new Negotiator({ headers: { accept } }).mediaType(offered as string[]) ?? null;
  } catch {
    return null; // a header the parser cannot read accepts nothing it can name
  }
}

/** Error responses offer these, HTML first: it wins a tie (an Accept of any type), so browsers keep their pages. */
const ERROR_TYPES: readonly string[] = ['text/html', 'application/problem+json', 'application/json'];

// Only a range naming JSON or holding a wildcard can prefer a JSON type over HTML.
const MAY_PREFER_JSON = /json|\*/i;

/**
 * The media type of an error response by `Accept`: 'text/html',
 * 'application/problem+json', or 'application/json' for a client that
 * takes that but not the problem type (same document). HTML when the
 * header is missing, too long, or accepts neither.
 */
export function errorMediaType(accept: string | undefined): string {
  if (accept === undefined || !MAY_PREFER_JSON.test(accept)) return 'text/html';
  // Most clients send the same header on every request: the last answer is kept.
  if (accept === lastAccept) return lastType;
  const m = preferredMedia(accept, ERROR_TYPES);
  lastAccept = accept;
  return (lastType = m === null || m === 'too-long' ? 'text/html' : m);
}

let lastAccept: string | undefined;
let lastType = 'text/html';
