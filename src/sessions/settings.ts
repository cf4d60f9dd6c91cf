import type { CookieOptions } from '../http/cookies.js';
import type { SessionStore } from './store.js';

export type Locking = 'implicit' | 'early' | 'explicit';

/** `tools.sessions` options as a request uses them, worked out once per route. */
export interface SessionSettings {
  /** The cookie's name (`name`). */
  readonly name: string;
  /** Path, domain, Secure, HttpOnly, SameSite of the cookie. */
  readonly cookie: Readonly<CookieOptions>;
  /** A persistent cookie carries Max-Age (the timeout); otherwise it lasts until the browser closes. */
  readonly persistent: boolean;
  /** `timeout` in milliseconds: how long an unused session lives. */
  readonly ttlMs: number;
  readonly locking: Locking;
  /** `locking_timeout` in milliseconds: the longest a request waits for the lock. */
  readonly waitMs: number;
  /** How long a lock outlives a holder that never lets go (a process that died). */
  readonly holdMs: number;
  /** The route's store, opened on first use and shared by every route that names the same one. */
  store(): SessionStore;
}

/** node's longest timer (2^31 - 1 ms, about 24.8 days): a longer one fires at once, so every wait is clamped to it. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

export function timerMs(ms: number): number {
  return Math.min(Math.max(0, ms), MAX_TIMER_MS);
}
