import type { SessionStore } from './store.js';

/** Options of the Redis store (`tools.sessions.storage_type: 'redis'`). */
export interface RedisStoreOptions {
  /** `tools.sessions.redis_url`, e.g. `redis://127.0.0.1:6379/0`. */
  url: string;
  /** `tools.sessions.max_size`: bytes of serialised data a session may hold. */
  maxSize: number;
}

/** Sessions in Redis, shared by every process that names the same server. (Being built: the stores' branch replaces this.) */
export function redisStore(options: RedisStoreOptions): SessionStore {
  throw new Error(`the Redis session store is not built yet (${options.url})`);
}
