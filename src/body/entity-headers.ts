// What the file-like bodies (FileBody, StreamBody) share: the entity headers
// they send (Content-Type from the MIME database, Content-Disposition,
// validators) and the preconditions those validators answer.
import { basename } from 'node:path';
import { createRequire } from 'node:module';
import type { Context } from '../http/request.js';
import { HTTPError } from '../lib/errors.js';
import { evaluateConditions, parseHttpDate, toNotModified, type Validators } from './conditional.js';

// mime-db is a few MB once parsed: loaded on the first file served, not at start-up (idle RSS).
const load = createRequire(import.meta.url);
let mime: typeof import('mime-types') | undefined;

/** The Content-Type for a file name, from the mime-db database (text types with `charset=utf-8`). */
export function typeForName(name: string): string {
  mime ??= load('mime-types') as typeof import('mime-types');
  return mime.contentType(basename(name)) || 'application/octet-stream';
}

/**
 * `Content-Disposition` with an ASCII `filename` and, for any other name,
 * RFC 5987/6266's `filename*=UTF-8''…` that modern clients prefer.
 */
export function contentDisposition(type: 'inline' | 'attachment', name: string): string {
  const plain = /^[\x20-\x7e]*$/.test(name) && !/["\\%]/.test(name);
  if (plain) return `${type}; filename="${name}"`;
  // eslint-disable-next-line no-control-regex
  const fallback = name.replace(/[^\x20-\x7e]|["\\%]/g, '_');
  const wellFormed = typeof (name as { toWellFormed?: () => string }).toWellFormed === 'function'
    ? (name as unknown as { toWellFormed(): string }).toWellFormed()
    : name;
  const encoded = encodeURIComponent(wellFormed).replace(/['()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
  return `${type}; filename="${fallback}"; filename*=UTF-8''${encoded}`;
}

export function dispositionOf(options: { disposition?: 'inline' | 'attachment' | undefined; name?: string | undefined }, fallbackName: string | undefined): string | undefined {
  if (options.disposition === undefined && options.name === undefined) return undefined;
  const name = options.name ?? fallbackName;
  const type = options.disposition ?? 'inline';
  return name === undefined || name === '' ? type : contentDisposition(type, name);
}

/** Set the headers every file-like body sends (the handler's own Content-Type wins unless `contentType` is given). */
export function setEntityHeaders(ctx: Context, o: { contentType: string | undefined; typeName: string | undefined; etag: string | undefined; lastModified: number | undefined; disposition: string | undefined }): Validators {
  const h = ctx.response.headers;
  if (o.contentType !== undefined) h.set('Content-Type', o.contentType);
  // The MIME database is consulted only when no Content-Type is given.
  else if (!h.has('content-type')) h.set('Content-Type', o.typeName === undefined ? 'application/octet-stream' : typeForName(o.typeName));
  if (o.lastModified !== undefined && !h.has('last-modified')) h.set('Last-Modified', new Date(o.lastModified).toUTCString());
  if (o.etag !== undefined && !h.has('etag')) h.set('ETag', o.etag);
  if (o.disposition !== undefined) h.set('Content-Disposition', o.disposition);
  return { etag: h.get('etag'), lastModified: parseHttpDate(h.get('last-modified')) ?? o.lastModified };
}

function is2xx(status: number): boolean {
  return status >= 200 && status < 300;
}

/**
 * Preconditions first (RFC 9110 §13.2.2), only for a response that would be
 * a 2xx: 'not-modified' means the response became a 304 (the caller sends
 * no body); a failed precondition throws a 412.
 */
export function preconditions(ctx: Context, v: Validators, length?: number): 'not-modified' | 'proceed' {
  const { request, response } = ctx;
  if (!is2xx(response.status)) return 'proceed';
  const outcome = evaluateConditions(request.method, request.headers, v);
  if (outcome === 'precondition-failed') throw new HTTPError(412, 'Precondition Failed');
  if (outcome === 'not-modified') {
    toNotModified(response, length);
    return 'not-modified';
  }
  return 'proceed';
}
