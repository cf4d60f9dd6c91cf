import { HTTPError } from '../lib/errors.js';

export interface Target { path: string; query: string }

// scheme "://" authority — the authority of an absolute-form target is
// never trusted: dispatch and redirects use the path and the Host header.
const ABSOLUTE = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^/?#]*/;

/** Split a request target into its path and query (both still percent-encoded). */
export function parseTarget(url: string): Target {
  let rest = url;
  if (rest.charCodeAt(0) !== 47 /* / */) {
    const m = ABSOLUTE.exec(rest);
    if (m === null) throw new HTTPError(400, 'Unsupported request target');
    rest = rest.slice(m[0].length);
    if (rest === '' || rest[0] === '?') rest = '/' + rest;
  }
  let hash = -1;
  let q = -1;
  if (rest.length <= 64) {
    // The usual short target: one pass in JS, inlined, instead of two builtin searches.
    for (let i = 0; i < rest.length; i++) {
      const c = rest.charCodeAt(i);
      if (c === 35 /* # */) { hash = i; break; }
      if (c === 63 /* ? */ && q < 0) q = i;
    }
  } else {
    hash = rest.indexOf('#');
    q = rest.indexOf('?');
    if (hash >= 0 && q > hash) q = -1;
  }
  if (hash >= 0) rest = rest.slice(0, hash);
  return q < 0 ? { path: rest, query: '' } : { path: rest.slice(0, q), query: rest.slice(q + 1) };
}

/** Decoded path segments, empty ones dropped; an encoded '/' stays inside its segment. */
export function pathSegments(path: string): string[] {
  const out: string[] = [];
  for (const raw of path.split('/')) {
    if (raw === '') continue;
    if (raw.indexOf('%') < 0) { out.push(raw); continue; }
    try {
      out.push(decodeURIComponent(raw));
    } catch {
      throw new HTTPError(400, 'Invalid percent-encoding in path');
    }
  }
  return out;
}
