import { optionError } from '../core/tool.js';
import { openStore, type StorageType } from '../sessions/open-store.js';
import type { Locking, SessionSettings } from '../sessions/settings.js';
import type { SessionStore } from '../sessions/store.js';

/** `tools.sessions.*`: CherryPy's keys, and the bounds Drupe adds. */
export interface SessionsOptions {
  /** 'ram' (this process), 'file' (`storage_path`) or 'redis' (`redis_url`). */
  storage_type: string;
  /** The directory of the file store. */
  storage_path: string;
  /** The Redis server of the Redis store, e.g. 'redis://127.0.0.1:6379/0'. */
  redis_url: string;
  /** Minutes an unused session lives. */
  timeout: number;
  /** The cookie's name. */
  name: string;
  path: string;
  /** '' for none: the cookie goes back to this host only. */
  domain: string;
  secure: boolean;
  httponly: boolean;
  /** 'Lax', 'Strict', 'None' (with `secure`), or '' for no attribute. */
  samesite: string;
  /** A cookie with Max-Age (the timeout); false: gone when the browser closes. */
  persistent: boolean;
  /** 'implicit', 'early' or 'explicit' (docs/sessions.md, "Locking"). */
  locking: string;
  /** Seconds a request waits for its session's lock; past it, a 503 with Retry-After. */
  locking_timeout: number;
  /** Minutes between sweeps of expired sessions (0: none). */
  clean_freq: number;
  /** Bytes a session's data may hold, serialised as JSON; more is a logged 500, nothing saved. */
  max_size: number;
  /** Sessions the RAM store holds at most (the least recently used go first). */
  max_sessions: number;
  /** A user's own `SessionStore` (overrides `storage_type`); null for none. */
  store: SessionStore | null;
}

export const sessionsDefaults: SessionsOptions = {
  storage_type: 'ram',
  storage_path: '',
  redis_url: '',
  timeout: 60,
  name: 'session_id',
  path: '/',
  domain: '',
  secure: false,
  httponly: true,
  samesite: 'Lax',
  persistent: true,
  locking: 'implicit',
  locking_timeout: 10,
  clean_freq: 5,
  max_size: 64 * 1024,
  max_sessions: 100_000,
  store: null,
};

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const ATTR = /^[\x21-\x3a\x3c-\x7e]*$/;
const STORE_METHODS = ['load', 'save', 'touch', 'delete', 'lock', 'clean', 'close'] as const;
/** The shortest a lock outlives a holder that died: longer than any request should hold it. */
const MIN_HOLD_MS = 60_000;

function positive(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v) && v > 0;
}

function isStore(v: unknown): v is SessionStore {
  return typeof v === 'object' && v !== null && STORE_METHODS.every((m) => typeof (v as Record<string, unknown>)[m] === 'function');
}

/** Check the options (at start-up) and work out what requests use. */
export function prepareSessions(o: Readonly<SessionsOptions>): SessionSettings {
  const type = o.storage_type;
  if (type !== 'ram' && type !== 'file' && type !== 'redis') throw optionError('sessions', 'storage_type', "'ram', 'file' or 'redis'", type);
  // Each value is judged on its own: storage_type may be set at one level (or line of a config file) and
  // its storage_path or redis_url at another, so a missing one is only known when the store is opened.
  if (o.redis_url !== '' && !/^rediss?:\/\/./.test(o.redis_url)) throw optionError('sessions', 'redis_url', 'a redis:// or rediss:// URL', o.redis_url);
  if (!positive(o.timeout)) throw optionError('sessions', 'timeout', 'a number of minutes above 0', o.timeout);
  if (!TOKEN.test(o.name)) throw optionError('sessions', 'name', 'a cookie name (letters, digits and !#$%&\'*+-.^_`|~)', o.name);
  if (!o.path.startsWith('/') || !ATTR.test(o.path)) throw optionError('sessions', 'path', "a path starting with '/'", o.path);
  if (!ATTR.test(o.domain)) throw optionError('sessions', 'domain', 'a domain name', o.domain);
  const sameSite = o.samesite;
  if (sameSite !== 'Lax' && sameSite !== 'Strict' && sameSite !== 'None' && sameSite !== '') throw optionError('sessions', 'samesite', "'Lax', 'Strict', 'None' or ''", sameSite);
  // Browsers drop a SameSite=None cookie without Secure: the session would silently never stick.
  if (sameSite === 'None' && !o.secure) throw optionError('sessions', 'samesite', "'Lax' or 'Strict' ('None' needs tools.sessions.secure: true)", sameSite);
  const locking = o.locking;
  if (locking !== 'implicit' && locking !== 'early' && locking !== 'explicit') throw optionError('sessions', 'locking', "'implicit', 'early' or 'explicit'", locking);
  if (typeof o.locking_timeout !== 'number' || !Number.isFinite(o.locking_timeout) || o.locking_timeout < 0) throw optionError('sessions', 'locking_timeout', 'seconds (0 or more)', o.locking_timeout);
  if (typeof o.clean_freq !== 'number' || !Number.isFinite(o.clean_freq) || o.clean_freq < 0) throw optionError('sessions', 'clean_freq', 'minutes (0 for no sweep)', o.clean_freq);
  if (!Number.isInteger(o.max_size) || o.max_size < 1) throw optionError('sessions', 'max_size', 'a byte count of at least 1', o.max_size);
  if (!Number.isInteger(o.max_sessions) || o.max_sessions < 1) throw optionError('sessions', 'max_sessions', 'a count of at least 1', o.max_sessions);
  if (o.store !== null && !isStore(o.store)) throw optionError('sessions', 'store', `a SessionStore (an object with ${STORE_METHODS.join(', ')})`, o.store);
  const choice = {
    storage_type: type as StorageType, storage_path: o.storage_path, redis_url: o.redis_url,
    max_size: o.max_size, max_sessions: o.max_sessions, clean_freq: o.clean_freq, store: o.store,
  };
  const waitMs = Math.round(o.locking_timeout * 1000);
  let store: SessionStore | undefined;
  return Object.freeze({
    name: o.name,
    cookie: Object.freeze({
      path: o.path,
      ...(o.domain !== '' ? { domain: o.domain } : {}),
      secure: o.secure,
      httpOnly: o.httponly,
      ...(sameSite !== '' ? { sameSite } : {}),
    }),
    persistent: o.persistent,
    ttlMs: Math.round(o.timeout * 60_000),
    locking: locking as Locking,
    waitMs,
    holdMs: Math.max(MIN_HOLD_MS, 2 * waitMs),
    store: () => (store ??= openStore(choice)),
  });
}
