import type { Context } from '../http/request.js';
import { DrupeError } from '../lib/errors.js';
import type { Request } from '../http/request.js';
import { addVary } from '../http/vary.js';
import { defineTool } from '../core/tool.js';

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

const answered = new WeakSet<Request>();

/** True when tools.cors answered this request as a CORS preflight (tools that guard a route let it pass). */
export function isAnsweredPreflight(request: Request): boolean {
  return answered.has(request);
}

function checkList(name: string, v: unknown): void {
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) {
    throw new DrupeError('DRUPE_ERR_CONFIG_VALUE', `tools.cors.${name}: expected a list of strings, got ${JSON.stringify(v)}`);
  }
}

const checked = new WeakSet<object>();

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
export const cors = defineTool<CorsOptions>({
  name: 'cors',
  point: 'on_start_resource',
  // After tools.proxy, before tools.auth_basic and tools.allow: a preflight carries no credentials.
  priority: 20,
  defaults: {
    origins: ['*'],
    methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
    headers: [],
    expose_headers: [],
    credentials: false,
    max_age: 0,
  },
  run(ctx: Context, o) {
    if (!checked.has(o)) {
      for (const k of ['origins', 'methods', 'headers', 'expose_headers'] as const) checkList(k, o[k]);
      if (!Number.isInteger(o.max_age) || o.max_age < 0) throw new DrupeError('DRUPE_ERR_CONFIG_VALUE', 'tools.cors.max_age: expected a whole number of seconds');
      checked.add(o);
    }
    const { request, response } = ctx;
    const h = response.headers;
    const anyOrigin = o.origins.includes('*');
    const echo = !anyOrigin || o.credentials;
    if (echo) addVary(h, 'Origin');
    const origin = request.headers.origin;
    if (origin === undefined || !(anyOrigin || o.origins.includes(origin))) return;
    h.set('Access-Control-Allow-Origin', echo ? origin : '*');
    if (o.credentials) h.set('Access-Control-Allow-Credentials', 'true');
    const preflight = request.method === 'OPTIONS' && request.headers['access-control-request-method'] !== undefined;
    if (!preflight) {
      if (o.expose_headers.length > 0) h.set('Access-Control-Expose-Headers', o.expose_headers.join(', '));
      return;
    }
    h.set('Access-Control-Allow-Methods', o.methods.join(', '));
    const asked = request.headers['access-control-request-headers'];
    if (o.headers.length > 0) h.set('Access-Control-Allow-Headers', o.headers.join(', '));
    else if (asked !== undefined && asked.trim() !== '') {
      h.set('Access-Control-Allow-Headers', asked);
      addVary(h, 'Access-Control-Request-Headers');
    }
    if (o.max_age > 0) h.set('Access-Control-Max-Age', o.max_age);
    response.status = 204;
    response.body = undefined;
    request.handler = null;
    answered.add(request);
  },
});
