import { SessionTooLargeError, type SessionData, type SessionLock, type SessionStore } from './store.js';
import { LockQueue, type SharedLock } from './lock-queue.js';

/** Options of the RAM store (`tools.sessions.storage_type: 'ram'`, the default). */
export interface RamStoreOptions {
  /** `tools.sessions.max_size`: bytes of serialised data a session may hold. */
  maxSize: number;
  /** `tools.sessions.max_sessions`: sessions held at most; past it the least recently saved or touched one is dropped. */
  maxSessions: number;
}

/** One process holds every RAM session: this process's turn on an id is the whole lock. */
const NOTHING_SHARED: SharedLock = {
  tryTake: () => Promise.resolve(true),
  release: () => Promise.resolve(false),
};

interface Entry {
  /** The data as JSON: what `load` returns is always a fresh copy, and the size bound is exact. */
  readonly json: string;
  expires: number;
}

/**
 * Sessions in this process's memory (CherryPy's RamSession): fast, and
 * gone with the process; one process only (several workers each have their
 * own: use the Redis store to share). Expired sessions are never returned
 * and are swept by `clean()` (every `clean_freq`); the number held is
 * bounded by `maxSessions`, dropping the least recently used first. Locks
 * are in-process, wait in turn, and expire `holdMs` after they were taken.
 */
export function ramStore(options: RamStoreOptions): SessionStore {
  return new RamStore(options.maxSize, options.maxSessions);
}

class RamStore implements SessionStore {
  readonly #maxSize: number;
  readonly #maxSessions: number;
  /** In least-recently-saved-or-touched order (a Map keeps insertion order; saving re-inserts). */
  readonly #entries = new Map<string, Entry>();
  readonly #locks = new LockQueue();

  constructor(maxSize: number, maxSessions: number) {
    this.#maxSize = maxSize;
    this.#maxSessions = Math.max(1, maxSessions);
  }

  load(id: string): Promise<SessionData | undefined> {
    const e = this.#entries.get(id);
    if (e === undefined) return Promise.resolve(undefined);
    if (e.expires <= Date.now()) {
      this.#entries.delete(id);
      return Promise.resolve(undefined);
    }
    return Promise.resolve(JSON.parse(e.json) as SessionData);
  }

  save(id: string, data: SessionData, ttlMs: number): Promise<void> {
    let json: string;
    try {
      json = JSON.stringify(data);
    } catch (err) {
      return Promise.reject(err);
    }
    if (Buffer.byteLength(json) > this.#maxSize) {
      return Promise.reject(new SessionTooLargeError(`The session's data is ${Buffer.byteLength(json)} bytes, over the store's bound of ${this.#maxSize} (tools.sessions.max_size)`));
    }
    this.#entries.delete(id);
    this.#entries.set(id, { json, expires: Date.now() + ttlMs });
    if (this.#entries.size > this.#maxSessions) this.#makeRoom();
    return Promise.resolve();
  }

  touch(id: string, ttlMs: number): Promise<void> {
    const e = this.#entries.get(id);
    if (e !== undefined && e.expires > Date.now()) {
      e.expires = Date.now() + ttlMs;
      this.#entries.delete(id);
      this.#entries.set(id, e);
    }
    return Promise.resolve();
  }

  delete(id: string): Promise<void> {
    this.#entries.delete(id);
    return Promise.resolve();
  }

  lock(id: string, waitMs: number, holdMs: number): Promise<SessionLock> {
    return this.#locks.lock(id, waitMs, holdMs, NOTHING_SHARED);
  }

  clean(): Promise<void> {
    const now = Date.now();
    for (const [id, e] of this.#entries) if (e.expires <= now) this.#entries.delete(id);
    return Promise.resolve();
  }

  close(): Promise<void> {
    this.#entries.clear();
    return Promise.resolve();
  }

  /** Over the bound: drop the expired first, then the least recently saved or touched. */
  #makeRoom(): void {
    const now = Date.now();
    for (const [id, e] of this.#entries) if (e.expires <= now) this.#entries.delete(id);
    for (const id of this.#entries.keys()) {
      if (this.#entries.size <= this.#maxSessions) break;
      this.#entries.delete(id);
    }
  }
}
