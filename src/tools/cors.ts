import type { Context } from '../http/request.js';
import { addVary } from '../http/vary.js';
import { optionError, type ToolBehaviour } from '../core/tool.js';

export interface CorsOptions {
  /** Origins allowed to read responses (`https://app.example`), or `'*'` for any. */
  origins: readonly string[];
  /** Methods a preflight allows. */
  methods: readonly string[];
  /** Request headers a preflight allows; empty: whatever the preflight asks for. */
  headers: readonly string[];
  /** Response headers the page's script may read (`Access-Control-Expose-Headers`). */
  expose_headers: readonly string[];
  /** Allow cookies and HTTP auth (`Access-Control-Allow-Credentials`); the origin is then echoed, never `*`. */
  credentials: boolean;
  /** Seconds a browser may cache a preflight answer; 0 sends no `Access-Control-Max-Age`. */
  max_age: number;
}

/** The options worked out once per route: the origins as a set, the header values joined. */
interface CorsPolicy {
  readonly anyOrigin: boolean;
  readonly origins: ReadonlySet<string>;
  /** Echo the request's origin (and so `Vary: Origin`) rather than `*`. */
  readonly echo: boolean;
  readonly credentials: boolean;
  readonly allowMethods: string;
  /** '' : whatever the preflight asks for. */
  readonly allowHeaders: string;
  /** '' : none. */
  readonly exposeHeaders: string;
  readonly maxAge: number;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// What a browser sends as Origin: scheme://host[:port], nothing after it.
const ORIGIN = /^[a-z][a-z0-9+.-]*:\/\/[^/?#@\s]+$/i;

function tokens(option: 'methods' | 'headers' | 'expose_headers', v: readonly string[], expects: string): string {
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string' && TOKEN.test(x))) throw optionError('cors', option, expects, v);
  return v.join(', ');
}

/** An origin as browsers spell it in `Origin` (lower case, no default port), or null when it is not one. */
function normalOrigin(v: unknown): string | null {
  if (v === '*' || v === 'null') return v;
  if (typeof v !== 'string' || !ORIGIN.test(v)) return null;
  if (!/^https?:/i.test(v)) return v;
  try {
    return new URL(v).origin;
  } catch {
    return null;
  }
}

/**
 * `tools.cors`: cross-origin access for the listed `origins`. A simple
 * request from an allowed origin gets `Access-Control-Allow-Origin` (and
 * `-Credentials`, `-Expose-Headers`); a preflight (`OPTIONS` with
 * `Access-Control-Request-Method`) is answered here with 204 and the
 * `Access-Control-Allow-*` headers, before auth, `allow` or the handler —
 * even where no handler takes OPTIONS. `Vary: Origin` whenever the answer
 * depends on the origin.
 *
 * @example
 *   new App(root, { '/api': { 'tools.cors.on': true, 'tools.cors.origins': ['https://app.example'], 'tools.cors.credentials': true } });
 */
export const cors: ToolBehaviour<CorsOptions, CorsPolicy> = {
  defaults: {
    origins: ['*'],
    methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
    headers: [],
    expose_headers: [],
    credentials: false,
    max_age: 0,
  },
  prepare(o) {
    if (!Array.isArray(o.origins)) throw optionError('cors', 'origins', "a list of origins ('https://app.example') or '*'", o.origins);
    const origins = new Set<string>();
    for (const entry of o.origins) {
      const normal = normalOrigin(entry);
      if (normal === null) throw optionError('cors', 'origins', "origins as scheme://host[:port] with no path ('https://app.example'), or '*'", entry);
      origins.add(normal);
    }
    if (!Number.isInteger(o.max_age) || o.max_age < 0) throw optionError('cors', 'max_age', 'a whole number of seconds', o.max_age);
    const anyOrigin = origins.has('*');
    return {
      anyOrigin,
      origins,
      echo: !anyOrigin || o.credentials,
      credentials: o.credentials,
      allowMethods: tokens('methods', o.methods, 'a list of method names'),
      allowHeaders: tokens('headers', o.headers, 'a list of header names'),
      exposeHeaders: tokens('expose_headers', o.expose_headers, 'a list of header names'),
      maxAge: o.max_age,
    };
  },
  run(ctx: Context, p) {
    const { request, response } = ctx;
    const h = response.headers;
    if (p.echo) addVary(h, 'Origin');
    const origin = request.headers.origin;
    if (origin === undefined || !(p.anyOrigin || p.origins.has(origin))) return;
    h.set('Access-Control-Allow-Origin', p.echo ? origin : '*');
    if (p.credentials) h.set('Access-Control-Allow-Credentials', 'true');
    const preflight = request.method === 'OPTIONS' && request.headers['access-control-request-method'] !== undefined;
    if (!preflight) {
      if (p.exposeHeaders !== '') h.set('Access-Control-Expose-Headers', p.exposeHeaders);
      return;
    }
    h.set('Access-Control-Allow-Methods', p.allowMethods);
    const asked = request.headers['access-control-request-headers'];
    if (p.allowHeaders !== '') h.set('Access-Control-Allow-Headers', p.allowHeaders);
    else if (asked !== undefined && asked.trim() !== '') {
      h.set('Access-Control-Allow-Headers', asked);
      addVary(h, 'Access-Control-Request-Headers');
    }
    if (p.maxAge > 0) h.set('Access-Control-Max-Age', p.maxAge);
    // Answered here: the guards after this (auth_basic, allow) and the handler see request.handler === null.
    response.status = 204;
    response.body = undefined;
    request.handler = null;
  },
};
