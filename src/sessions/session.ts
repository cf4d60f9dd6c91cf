import type { Response } from '../http/response.js';
import type { Session } from '../http/session.js';
import { addVary } from '../http/vary.js';
import { DrupeError } from '../lib/errors.js';
import { lockWithin } from './bounded-lock.js';
import { newSessionId } from './session-id.js';
import type { SessionSettings } from './settings.js';
import type { SessionData, SessionLock, SessionStore } from './store.js';

/**
 * One request's view of a session (`request.session`): values in memory,
 * the lock it holds, and what saving it must do — save when changed, touch
 * when only read (to move its expiry on), delete when expired, forget the
 * old id after `regenerate()`. `tools.sessions` creates it (loaded, and
 * locked unless `locking` is 'explicit') and saves it once the handler returned.
 */
export class ServerSession implements Session {
  #id: string;
  #data: SessionData;
  /** Not in the store yet: nothing to touch, and nothing is saved while it stays empty. */
  #isNew: boolean;
  #changed = false;
  /** The handler looked at the session: the response depends on the cookie. */
  #used = false;
  /** Already saved or touched by this request: an unchanged session is not touched twice. */
  #written = false;
  #expired = false;
  /** Saved for good: changes now throw. */
  #closed = false;
  /** The id before `regenerate()`, to delete from the store once the new one is saved. */
  #oldId: string | undefined;
  #lock: SessionLock | undefined;
  /** The id a Set-Cookie was already added for (so it is added once). */
  #cookieFor: string | undefined;
  readonly #store: SessionStore;
  readonly #s: SessionSettings;
  readonly #response: Response;

  constructor(store: SessionStore, settings: SessionSettings, response: Response, id: string, data: SessionData | undefined, lock: SessionLock | undefined) {
    this.#store = store;
    this.#s = settings;
    this.#response = response;
    this.#isNew = data === undefined;
    this.#id = data === undefined ? newSessionId() : id;
    this.#data = data ?? {};
    this.#lock = lock;
  }

  get id(): string {
    return this.#id;
  }

  get locked(): boolean {
    return this.#lock !== undefined;
  }

  get(key: string): unknown {
    this.#used = true;
    return Object.prototype.hasOwnProperty.call(this.#data, key) ? this.#data[key] : undefined;
  }

  has(key: string): boolean {
    this.#used = true;
    return Object.prototype.hasOwnProperty.call(this.#data, key);
  }

  keys(): string[] {
    this.#used = true;
    return Object.keys(this.#data);
  }

  set(key: string, value: unknown): void {
    this.#change('set');
    // defineProperty: a key such as '__proto__' is an ordinary value, never the object's prototype.
    Object.defineProperty(this.#data, key, { value, enumerable: true, writable: true, configurable: true });
  }

  delete(key: string): boolean {
    this.#change('delete');
    if (!this.has(key)) return false;
    delete this.#data[key];
    return true;
  }

  clear(): void {
    this.#change('clear');
    this.#data = {};
  }

  regenerate(): void {
    this.#change('regenerate');
    if (!this.#isNew) this.#oldId ??= this.#id;
    this.#id = newSessionId();
    this.#isNew = true;
    this.#offerCookie();
  }

  expire(): void {
    this.#change('expire');
    this.#expired = true;
  }

  async acquireLock(): Promise<void> {
    this.#open('acquireLock');
    if (this.#lock !== undefined) return;
    this.#lock = await lockWithin(this.#store, this.#id, this.#s.waitMs, this.#s.holdMs);
    // What another request saved while this one was not holding the lock.
    if (!this.#isNew && !this.#changed) this.#data = (await this.#store.load(this.#id)) ?? {};
  }

  async releaseLock(): Promise<void> {
    if (this.#lock === undefined) return;
    try {
      await this.#persist();
    } finally {
      await this.#let();
    }
  }

  /** The handler returned (or answered with a redirect or an HTTP error): save, then let the lock go. */
  async save(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    // A page built from the session is one client's: a shared cache must key it by the cookie.
    if (this.#used && !this.#response.committed) addVary(this.#response.headers, 'Cookie');
    try {
      await this.#persist();
    } catch (err) {
      this.#takeBackCookie();
      throw err;
    } finally {
      await this.#let();
    }
  }

  /** The request ends without a save (the handler failed, or never ran; a WebSocket only reads): nothing is written; the lock goes. */
  async abandon(): Promise<void> {
    this.#closed = true;
    this.#takeBackCookie();
    await this.#let();
  }

  /** The cookie of an id never saved (a new or regenerated session) would name nothing: take it back while we can. */
  #takeBackCookie(): void {
    if (this.#isNew && this.#cookieFor === this.#id && !this.#response.committed) {
      removeSetCookie(this.#response, this.#s.name);
      this.#cookieFor = undefined;
    }
  }

  /** Let the lock go. A release the store fails (it went away) is not the request's failure: the lock expires by itself. */
  async #let(): Promise<void> {
    const lock = this.#lock;
    this.#lock = undefined;
    if (lock !== undefined) await lock.release().catch(() => undefined);
  }

  /** Write what this request did to the session, once: later calls write only what changed since. */
  async #persist(): Promise<void> {
    const store = this.#store;
    const { ttlMs } = this.#s;
    if (this.#expired) {
      const known = !this.#isNew || this.#oldId !== undefined;
      await store.delete(this.#id);
      if (this.#oldId !== undefined) await store.delete(this.#oldId);
      this.#oldId = undefined;
      this.#changed = false;
      if (known || this.#cookieFor !== undefined) this.#dropCookie();
      return;
    }
    if (this.#changed) {
      this.#changed = false;
      this.#written = true;
      // A client that only looked needs no session: nothing is stored, no cookie is sent.
      if (this.#isNew && this.#oldId === undefined && Object.keys(this.#data).length === 0) {
        this.#takeBackCookie();
        return;
      }
      await store.save(this.#id, this.#data, ttlMs);
      this.#isNew = false;
      if (this.#oldId !== undefined) {
        await store.delete(this.#oldId);
        this.#oldId = undefined;
      }
      this.#offerCookie(true);
    } else if (!this.#isNew && !this.#written) {
      this.#written = true;
      await store.touch(this.#id, ttlMs);
      if (this.#s.persistent) this.#offerCookie(true); // a persistent cookie's Max-Age moves on with the session
    }
  }

  /** Say the id to the client, once per id (`refresh`: again, for a persistent cookie's new Max-Age); too late once the headers went. */
  #offerCookie(refresh = false): void {
    if (this.#response.committed) return;
    const { persistent, ttlMs, cookie, name } = this.#s;
    if (this.#cookieFor === this.#id && !(refresh && persistent)) return;
    if (this.#cookieFor !== undefined) removeSetCookie(this.#response, name);
    this.#cookieFor = this.#id;
    this.#response.setCookie(name, this.#id, persistent ? { ...cookie, maxAge: ttlMs / 1000 } : cookie);
  }

  #dropCookie(): void {
    if (this.#response.committed) return;
    if (this.#cookieFor !== undefined) removeSetCookie(this.#response, this.#s.name);
    this.#cookieFor = undefined;
    this.#response.deleteCookie(this.#s.name, { path: this.#s.cookie.path, domain: this.#s.cookie.domain });
  }

  #change(what: string): void {
    this.#open(what);
    this.#changed = true;
    this.#used = true;
    // A new session's id goes out with the first change, so that a response committed
    // later in the handler (`flushHeaders()`) still carries it.
    if (this.#isNew && !this.#expired) this.#offerCookie();
  }

  #open(what: string): void {
    if (this.#closed) {
      throw new DrupeError('DRUPE_ERR_SESSION', `session.${what}(): the session was already saved (when the handler returned, before its body was sent) or is read-only (a WebSocket's); change it in a page handler, before returning`);
    }
    if (this.#response.committed) {
      throw new DrupeError('DRUPE_ERR_SESSION', `session.${what}(): the response's headers were already sent, so the session's cookie can no longer change; change the session before response.flushHeaders()`);
    }
  }
}

/** Drop the Set-Cookie this session added, keeping every other cookie the response sets. */
function removeSetCookie(response: Response, name: string): void {
  const all = response.headers.getAll('set-cookie');
  const kept = all.filter((c) => !c.startsWith(`${name}=`));
  if (kept.length === all.length) return;
  response.headers.delete('set-cookie');
  for (const c of kept) response.headers.append('Set-Cookie', c);
}
