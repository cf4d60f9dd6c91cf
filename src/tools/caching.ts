import type { Context, Request } from '../http/request.js';
import type { Headers } from '../http/headers.js';
import { isClosed } from '../http/h2-stream.js';
import { evaluateConditions, parseHttpDate, toNotModified } from '../body/conditional.js';
import type { RequestContext } from '../core/request-context.js';
import { optionError, type ToolBehaviour } from '../core/tool.js';
import { HTTPError } from '../lib/errors.js';
import { reasonPhrase } from '../lib/status.js';
import { freshUntil, requestRules, varyNames, type RequestRules } from './caching-rules.js';
import { MemoryCache, type CachedResponse, type Miss } from './caching-store.js';
import { Collected, TeeBody } from './caching-tee.js';

export interface CachingOptions {
  /** Methods that drop a URI's stored responses (CherryPy: POST, PUT, DELETE). */
  invalid_methods: readonly string[];
  /** Bytes a response body may have to be stored. */
  maxobj_size: number;
  /** Bytes the whole cache may hold (bodies, keys and headers); least recently used entries go first. */
  maxsize: number;
  /** Entries the cache may hold. */
  maxobjects: number;
  /** Seconds a response is fresh when it states no lifetime of its own (`Cache-Control`, `Expires`). */
  delay: number;
  /** Seconds a request waits for an identical one already computing its response; past it, it computes its own. */
  antistampede_timeout: number;
}

interface Prepared {
  readonly invalidMethods: ReadonlySet<string>;
  readonly maxobjSize: number;
  readonly maxsize: number;
  readonly maxobjects: number;
  readonly delayMs: number;
  readonly waitMs: number;
  /** Routes with the same bounds share one cache (per app). */
  readonly bounds: string;
}

function bad(option: string, expects: string, value: unknown): never {
  throw optionError('caching', option, expects, value);
}

const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
const isSeconds = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= 1e9;

function prepare(o: Readonly<CachingOptions>): Prepared {
  if (!Array.isArray(o.invalid_methods) || !o.invalid_methods.every((m) => typeof m === 'string' && /^[A-Z]+$/.test(m))) {
    bad('invalid_methods', 'a list of method names in capitals', o.invalid_methods);
  }
  if (o.invalid_methods.some((m) => m === 'GET' || m === 'HEAD')) bad('invalid_methods', 'unsafe methods only (not GET or HEAD)', o.invalid_methods);
  if (!isCount(o.maxobj_size)) bad('maxobj_size', 'a byte count', o.maxobj_size);
  if (!isCount(o.maxsize)) bad('maxsize', 'a byte count', o.maxsize);
  if (!isCount(o.maxobjects)) bad('maxobjects', 'a whole number of entries', o.maxobjects);
  if (!isSeconds(o.delay) || o.delay === 0) bad('delay', 'a number of seconds above 0', o.delay);
  if (!isSeconds(o.antistampede_timeout)) bad('antistampede_timeout', 'a number of seconds (0: never wait)', o.antistampede_timeout);
  return {
    invalidMethods: new Set(o.invalid_methods),
    maxobjSize: Math.min(o.maxobj_size, o.maxsize),
    maxsize: o.maxsize,
    maxobjects: o.maxobjects,
    delayMs: o.delay * 1000,
    waitMs: o.antistampede_timeout * 1000,
    bounds: `${o.maxsize}/${o.maxobjects}`,
  };
}

/** Each app's caches (the pipeline's host is one per app), by their bounds. */
const caches = new WeakMap<object, Map<string, MemoryCache>>();

function cachesOf(ctx: Context): Map<string, MemoryCache> {
  const host = (ctx as RequestContext).host;
  let m = caches.get(host);
  if (m === undefined) caches.set(host, (m = new Map()));
  return m;
}

function cacheFor(ctx: Context, p: Prepared): MemoryCache {
  const m = cachesOf(ctx);
  let c = m.get(p.bounds);
  if (c === undefined) m.set(p.bounds, (c = new MemoryCache({ maxsize: p.maxsize, maxobjects: p.maxobjects })));
  return c;
}

/** The bytes and entries each of the app's caches holds, and its bounds: for tests and diagnostics. */
export function cachingStats(ctx: Context): { size: number; count: number; maxsize: number; maxobjects: number }[] {
  return [...cachesOf(ctx).values()].map((c) => ({ size: c.size, count: c.count, ...c.bounds }));
}

/**
 * What a stored response is stored under: the site (scheme and host, as
 * CherryPy's key is the whole URL: a page built from one Host never
 * answers another), the mount point, the path and the query.
 */
function uriOf(request: Request): string {
  const q = request.queryString;
  return request.base + request.scriptName + request.path + (q === '' ? '' : '?' + q);
}

/** A request computing a response to store: its miss, and the body as it went out. */
interface Computing {
  readonly cache: MemoryCache;
  readonly miss: Miss;
  readonly p: Prepared;
  collected: Collected | undefined;
}

// Only requests that compute a response to store have an entry.
const computing = new WeakMap<Context, Computing>();

/** before_handler: answer from the cache, wait for an identical request being answered, or go on to compute and store. */
function serve(ctx: Context, p: Prepared): void | Promise<void> {
  const { request } = ctx;
  if (request.handler === null) return; // an earlier tool answered
  const earlier = computing.get(ctx);
  if (earlier !== undefined) {
    // An InternalRedirect brought the request here: it is not stored under either path.
    computing.delete(ctx);
    earlier.cache.release(earlier.miss);
    return;
  }
  const method = request.method;
  if (method !== 'GET' && method !== 'HEAD') {
    if (p.invalidMethods.has(method)) {
      const uri = uriOf(request);
      for (const c of cachesOf(ctx).values()) c.invalidate(uri);
    }
    return;
  }
  // A WebSocket handshake is never a page to store or serve: the socket is handed over.
  if (request.headers.upgrade !== undefined) return;
  const rules = requestRules(request.headers);
  if (rules.noStore) return;
  const cache = cacheFor(ctx, p);
  const uri = uriOf(request);
  const key = cache.keyFor(uri, request.headers);
  if (!rules.refresh) {
    const now = Date.now();
    const hit = cache.get(key, now);
    if (hit !== undefined && youngEnough(hit, rules, now)) return answer(ctx, hit, now);
    const leader = hit === undefined ? cache.leaderFor(key) : undefined;
    if (leader !== undefined && p.waitMs > 0) return afterWaiting(ctx, p, cache, uri, leader, rules);
  }
  if (method === 'GET') compute(ctx, p, cache, uri, key);
}

/** A request that arrived while an identical one was being answered: its answer, once stored, is this one's too. */
async function afterWaiting(ctx: Context, p: Prepared, cache: MemoryCache, uri: string, leader: Miss, rules: RequestRules): Promise<void> {
  await within(leader.done!, p.waitMs);
  const { request } = ctx;
  // The leader may have taught the cache which headers the URI's responses vary on.
  const key = cache.keyFor(uri, request.headers);
  const now = Date.now();
  const hit = cache.get(key, now);
  if (hit !== undefined && youngEnough(hit, rules, now)) return answer(ctx, hit, now);
  if (request.method === 'GET') compute(ctx, p, cache, uri, key);
}

function within(done: Promise<void>, ms: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    void done.then(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** The request's `max-age`, if any, allows a copy this old. */
function youngEnough(hit: CachedResponse, rules: RequestRules, now: number): boolean {
  return rules.maxAge === undefined || ageOf(hit, now) <= rules.maxAge;
}

const ageOf = (hit: CachedResponse, now: number): number => Math.max(0, Math.floor((now - hit.storedAt) / 1000));

/** Serve a stored response: its status, headers and body, with `Age`; a conditional request it satisfies gets a 304. */
function answer(ctx: Context, hit: CachedResponse, now: number): void {
  const { request, response } = ctx;
  request.handler = null;
  response.status = hit.reason === undefined ? hit.status : `${hit.status} ${hit.reason}`;
  const h = response.headers;
  // Replacing what earlier tools set (response_headers, cors): the stored values are what they set then.
  for (const [name, values] of hit.headers) {
    h.set(name, values[0]!);
    for (let i = 1; i < values.length; i++) h.append(name, values[i]!);
  }
  h.set('Age', ageOf(hit, now));
  if (hit.status >= 200 && hit.status <= 299) {
    const etag = h.get('etag');
    const lastModified = parseHttpDate(h.get('last-modified'));
    if (etag !== undefined || lastModified !== undefined) {
      const outcome = evaluateConditions(request.method, request.headers, { etag, lastModified });
      if (outcome === 'precondition-failed') throw new HTTPError(412, 'Precondition Failed');
      if (outcome === 'not-modified') {
        toNotModified(response, hit.body.length);
        return;
      }
    }
  }
  response.body = hit.body;
}

/** This request computes the response: note it, and settle the miss when the response is over, however it ends. */
function compute(ctx: Context, p: Prepared, cache: MemoryCache, uri: string, key: string): void {
  const rc = ctx as RequestContext;
  const res = rc.res;
  if (rc.h2 ? isClosed(res, true) : res.destroyed) return; // the client is gone: nothing would be sent, nor stored
  const state: Computing = { cache, miss: cache.begin(uri, key), p, collected: undefined };
  computing.set(ctx, state);
  // 'close' comes once the response went out whole or was cut, on every protocol: the one sure end.
  res.once('close', () => settle(rc, state));
}

/** before_finalize, last (after gzip and etags): collect the body as it will be sent. */
function tee(ctx: Context): void {
  const state = computing.get(ctx);
  if (state === undefined) return;
  const { response } = ctx;
  if (response.committed) {
    // flushHeaders(): streamed from the start, and its headers went out before any tool saw the body.
    computing.delete(ctx);
    state.cache.release(state.miss);
    return;
  }
  const { cache, miss } = state;
  // A later error page goes through here again: the body that goes out is the last one wrapped.
  state.collected = new Collected(state.p.maxobjSize, () => cache.release(miss));
  response.body = new TeeBody(response.body, state.collected);
}

/** The response is over: store it if it went out whole and may be stored, then let the waiting requests go on. */
function settle(ctx: RequestContext, state: Computing): void {
  try {
    if (computing.get(ctx) === state) {
      computing.delete(ctx);
      store(ctx, state);
    }
  } catch (err) {
    ctx.host.logError('tools.caching could not store a response', err, ctx.request.id);
  } finally {
    state.cache.end(state.miss);
  }
}

/** Hop-by-hop fields and those that belong to one exchange: never stored. */
const NOT_STORED = new Set(['age', 'connection', 'keep-alive', 'transfer-encoding', 'trailer', 'upgrade', 'proxy-connection']);

function store(ctx: RequestContext, state: Computing): void {
  const body = state.collected?.body;
  if (body === undefined) return;
  const { request, response } = ctx;
  const h = response.headers;
  // A streamed body that did not fill the length its handler declared was cut by the writer.
  const declared = h.get('content-length');
  if (declared !== undefined && declared !== String(body.length)) return;
  const vary = varyNames(h);
  if (vary === null) return;
  const now = Date.now();
  const until = freshUntil(response.status, h, { authorized: request.headers.authorization !== undefined, now, delayMs: state.p.delayMs });
  if (until === null) return;
  const idHeader = request.config['request.id_header'];
  const skip = typeof idHeader === 'string' && idHeader !== '' ? idHeader.toLowerCase() : '';
  const reason = response.reason === reasonPhrase(response.status) ? undefined : response.reason;
  state.cache.put(state.miss, vary, request.headers, {
    status: response.status, reason, headers: grouped(h, skip), body, storedAt: now, freshUntil: until,
  });
}

/** The headers as name → values, in order, less those never stored (and the request id's echo, `skip`). */
function grouped(h: Headers, skip: string): [string, string[]][] {
  const out: [string, string[]][] = [];
  let last: [string, string[]] | undefined;
  for (const [name, value] of h) {
    const lower = name.toLowerCase();
    if (lower === skip || NOT_STORED.has(lower) || lower === 'content-length') continue;
    if (last !== undefined && last[0].toLowerCase() === lower) last[1].push(value);
    else out.push((last = [name, [value]]));
  }
  return out;
}

/**
 * CherryPy's `tools.caching`: an in-memory cache of whole responses, per
 * app. GET responses are stored (with the selecting headers their `Vary`
 * names) and served again to GET and HEAD with `Age`, until fresh no more;
 * identical requests arriving while one computes wait for it; POST, PUT,
 * PATCH and DELETE drop a URI's stored copies. See docs/caching.md for
 * what is stored and what is never stored.
 *
 * @example
 *   new App(root, { '/': { 'tools.caching.on': true, 'tools.caching.delay': 60 } });
 */
export const caching: ToolBehaviour<CachingOptions, Prepared> = {
  defaults: {
    invalid_methods: ['POST', 'PUT', 'PATCH', 'DELETE'],
    maxobj_size: 100_000,
    maxsize: 10_000_000,
    maxobjects: 1000,
    delay: 600,
    antistampede_timeout: 5,
  },
  prepare,
  run: serve,
  // A cache bounded to nothing stores nothing: the route pays nothing either.
  appliesTo: (_route, p) => p.maxsize > 0 && p.maxobjects > 0 && p.maxobjSize > 0,
};

/** The stage that collects the body, placed by the tools table after every tool that makes it. */
export const cachingTee = (ctx: Context): void => tee(ctx);
