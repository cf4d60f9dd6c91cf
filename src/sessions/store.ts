/**
 * What a session store does, for `tools.sessions`: the RAM, file and Redis
 * stores implement it, and so may a user's own (`tools.sessions.store`).
 * Every store passes the same contract suite (test/session-stores.test.ts).
 *
 * Ids reach a store only after the tool has checked their shape (base64url,
 * at least 128 bits from `crypto`); a store still treats an id as data, never
 * as a path or a command.
 */

/** A session's values, as `session.set` took them: JSON-serialisable. */
export type SessionData = Record<string, unknown>;

/** A lock held on one session id: release it once (a second call does nothing). */
export interface SessionLock {
  release(): Promise<void>;
}

export interface SessionStore {
  /** The data saved under `id`, or `undefined` when the id is unknown or has expired. */
  load(id: string): Promise<SessionData | undefined>;
  /**
   * Save `data` under `id` (replacing what was there), to expire `ttlMs` from
   * now. Data whose serialised form is larger than the store's bound is
   * refused with `SessionTooLargeError`, and nothing of it is written.
   */
  save(id: string, data: SessionData, ttlMs: number): Promise<void>;
  /** Move the expiry of a saved session to `ttlMs` from now, without rewriting its data. */
  touch(id: string, ttlMs: number): Promise<void>;
  /** Forget `id` (nothing happens when it is unknown). */
  delete(id: string): Promise<void>;
  /**
   * Take the lock on `id`, waiting at most `waitMs` for another holder to
   * release it (past that: `SessionLockTimeoutError`). A lock that is never
   * released expires by itself `holdMs` after it was taken (its holder died).
   */
  lock(id: string, waitMs: number, holdMs: number): Promise<SessionLock>;
  /** Remove expired sessions; called every `clean_freq` minutes (a store that expires by itself does nothing). */
  clean(): Promise<void>;
  /** Let go of timers, connections and files; the store is not used after. */
  close(): Promise<void>;
}

/** The store cannot answer now (Redis down or slow): the request gets a 503 with Retry-After. */
export class SessionStoreUnavailableError extends Error {
  override readonly name = 'SessionStoreUnavailableError';
}

/** The lock was still held by another request after `locking_timeout`: a 503 with Retry-After. */
export class SessionLockTimeoutError extends Error {
  override readonly name = 'SessionLockTimeoutError';
}

/** The session's data is larger than the store's bound: a 500, logged, with nothing written. */
export class SessionTooLargeError extends Error {
  override readonly name = 'SessionTooLargeError';
}
