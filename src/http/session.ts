import { DrupeError } from '../lib/errors.js';

/**
 * `request.session`: one client's values, kept between requests by
 * `tools.sessions` (docs/sessions.md). Reading and writing values is
 * synchronous: the session is loaded before the handler runs and saved as
 * soon as it returns (or when its streamed body is about to start), and
 * only when something changed (an unchanged one has its expiry moved on).
 * Values must survive `JSON.stringify`. The implementation lives in
 * src/sessions/ (a layer above this one).
 *
 * @example
 *   @expose({ 'tools.sessions.on': true }) count({ request }: Context) {
 *     const n = (request.session.get('n') as number | undefined ?? 0) + 1;
 *     request.session.set('n', n);
 *     return `visit ${n}`;
 *   }
 */
export interface Session {
  /** The session id the cookie carries: at least 128 random bits, base64url. */
  readonly id: string;
  get(key: string): unknown;
  /** Store a JSON value; throws once the session was saved (after the handler returned, or the response was committed). */
  set(key: string, value: unknown): void;
  /** Remove one value; true when it was there. */
  delete(key: string): boolean;
  has(key: string): boolean;
  /** Remove every value (the session, and its id, stay). */
  clear(): void;
  /** The names of the values held. */
  keys(): string[];
  /**
   * A new id for the same values (call it at login, against session
   * fixation): the old id is forgotten by the store when the session is saved.
   */
  regenerate(): void;
  /** End the session: its values are dropped from the store and the client's cookie is deleted. */
  expire(): void;
  /**
   * `locking: 'explicit'`: take the session's lock (waiting at most
   * `locking_timeout`, then a 503) and reload its values, so a change made
   * now cannot overwrite another request's.
   */
  acquireLock(): Promise<void>;
  /** Save what changed and let the lock go; the session is released anyway when the handler returns. */
  releaseLock(): Promise<void>;
  /** Whether this request holds the session's lock. */
  readonly locked: boolean;
}

/** `request.session` where `tools.sessions` is not on. */
export function noSession(): never {
  throw new DrupeError('DRUPE_ERR_SESSION', 'request.session: tools.sessions is not on for this route, or the handler has not started yet (the session is loaded just before the handler runs)');
}
