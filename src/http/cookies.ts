import { DrupeError } from '../lib/errors.js';
import { checkHeaderName } from './headers.js';

/** Parse a Cookie header into a null-prototype object; the first of a repeated name wins. */
export function parseCookieHeader(header: string | undefined): Record<string, string> {
  const out = Object.create(null) as Record<string, string>;
  if (header === undefined || header === '') return out;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const name = part.slice(0, eq).trim();
    if (name === '' || name in out) continue;
    let value = part.slice(eq + 1).trim();
    if (value.length >= 2 && value[0] === '"' && value[value.length - 1] === '"') value = value.slice(1, -1);
    try {
      out[name] = value.indexOf('%') < 0 ? value : decodeURIComponent(value);
    } catch {
      out[name] = value;
    }
  }
  return out;
}

/** Attributes of a cookie the response sets. */
export interface CookieOptions {
  /** Seconds; 0 or less expires it now. */
  maxAge?: number;
  expires?: Date;
  path?: string;
  domain?: string;
  secure?: boolean;
  httpOnly?: boolean;
  sameSite?: 'Strict' | 'Lax' | 'None';
  partitioned?: boolean;
  /** Sign the value with the first of `server.secret_keys` (read it back from `request.signedCookies`). */
  signed?: boolean;
}

const ATTR_OK = /^[\x21-\x3a\x3c-\x7e]*$/; // visible ASCII but ';'

function attr(name: string, value: string): string {
  if (!ATTR_OK.test(value)) throw new DrupeError('DRUPE_ERR_INVALID_HEADER', `Cookie ${name} contains characters not allowed in a cookie attribute`);
  return value;
}

/** A Set-Cookie value; the value is percent-encoded so any string is safe. */
export function serializeCookie(name: string, value: string, o: CookieOptions = {}): string {
  checkHeaderName(name);
  let s = `${name}=${encodeURIComponent(value)}`;
  if (o.maxAge !== undefined) {
    if (!Number.isFinite(o.maxAge)) throw new DrupeError('DRUPE_ERR_INVALID_HEADER', `Cookie maxAge must be a finite number of seconds`);
    s += `; Max-Age=${Math.floor(o.maxAge)}`;
  }
  if (o.expires !== undefined) s += `; Expires=${o.expires.toUTCString()}`;
  if (o.domain !== undefined) s += `; Domain=${attr('domain', o.domain)}`;
  if (o.path !== undefined) s += `; Path=${attr('path', o.path)}`;
  if (o.secure) s += '; Secure';
  if (o.httpOnly) s += '; HttpOnly';
  if (o.sameSite !== undefined) s += `; SameSite=${o.sameSite}`;
  if (o.partitioned) s += '; Partitioned';
  return s;
}
