import { fileStore } from './file-store.js';
import { ramStore } from './ram-store.js';
import { redisStore } from './redis-store.js';
import { timerMs } from './settings.js';
import type { SessionStore } from './store.js';

export type StorageType = 'ram' | 'file' | 'redis';

/** The `tools.sessions` options that choose a store. */
export interface StoreChoice {
  readonly storage_type: StorageType;
  readonly storage_path: string;
  readonly redis_url: string;
  readonly max_size: number;
  readonly max_sessions: number;
  /** Minutes between sweeps of expired sessions (0: none). */
  readonly clean_freq: number;
  /** A user's own store: overrides `storage_type`. */
  readonly store: SessionStore | null;
}

/** Open stores of this process, by what chose them: routes that name the same store share it (and its sessions). */
const opened = new Map<string, SessionStore>();
/** Stores whose sweep is running (a user's store too, once). */
const swept = new WeakSet<SessionStore>();

/**
 * The store a route's options name: the user's `store`, or the RAM, file
 * or Redis store, opened the first time a request needs it (so a config
 * naming Redis costs nothing until a session is used), then shared.
 * Expired sessions are swept every `clean_freq` minutes, on a timer that
 * never keeps the process up. A store named without its place (no
 * `storage_path`, no `redis_url`) is an error here, at the first request
 * that needs it: the two keys may be set at different levels of config.
 */
export function openStore(c: StoreChoice): SessionStore {
  let store = c.store;
  if (store === null) {
    const key = c.storage_type === 'ram' ? `ram\0${c.max_size}\0${c.max_sessions}`
      : c.storage_type === 'file' ? `file\0${c.storage_path}\0${c.max_size}`
      : `redis\0${c.redis_url}\0${c.max_size}`;
    store = opened.get(key) ?? null;
    if (store === null) {
      if (c.storage_type === 'file' && c.storage_path === '') throw new Error("tools.sessions.storage_type is 'file' but tools.sessions.storage_path (the directory) is not set for this route");
      if (c.storage_type === 'redis' && c.redis_url === '') throw new Error("tools.sessions.storage_type is 'redis' but tools.sessions.redis_url is not set for this route");
      store = c.storage_type === 'ram' ? ramStore({ maxSize: c.max_size, maxSessions: c.max_sessions })
        : c.storage_type === 'file' ? fileStore({ path: c.storage_path, maxSize: c.max_size })
        : redisStore({ url: c.redis_url, maxSize: c.max_size });
      opened.set(key, store);
    }
  }
  if (c.clean_freq > 0 && !swept.has(store)) {
    swept.add(store);
    const s = store;
    // A sweep that fails (a store briefly gone) is tried again at the next tick.
    setInterval(() => { s.clean().catch(() => undefined); }, timerMs(c.clean_freq * 60_000)).unref();
  }
  return store;
}
