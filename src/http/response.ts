import { DrupeError, HeadersSentError } from '../lib/errors.js';
import { Headers, kLock } from './headers.js';
import { serializeCookie, type CookieOptions } from './cookies.js';
import { signCookieValue } from './signed-cookies.js';
import { STATUS_CODES } from 'node:http';
import { reasonPhrase } from '../lib/status.js';

export type { CookieOptions } from './cookies.js';
export { Headers } from './headers.js';

// Members only Drupe's own layers use (docs/architecture.md, "Public and internal").
/** The reason phrase to send: one set with `'NNN Reason'`, or undefined for node's standard one. */
export const kCustomReason = Symbol('drupe.response.customReason');
export const kMarkCommitted = Symbol('drupe.response.markCommitted');
export const kSetOwner = Symbol('drupe.response.setOwner');
export const kReset = Symbol('drupe.response.reset');
export const kForceStatus = Symbol('drupe.response.forceStatus');

/** The request in flight a response belongs to: it commits the headers and knows the route's signing keys. */
export interface ResponseOwner {
  flush(): void;
  /** `server.secret_keys` as bytes (empty when none are set). */
  readonly secretKeys: readonly Buffer[];
}

const STATUS_TEXT = /^([1-5]\d\d)(?: ([\t\x20-\x7e\x80-\xff]*))?$/;

/**
 * The response a handler shapes. Until the headers are committed, status
 * and headers may change freely; after that, changing them throws
 * `HeadersSentError` (S2, docs/contract.md).
 *
 * @example
 *   response.status = 201;
 *   response.headers.set('Location', '/items/7');
 *   response.setCookie('seen', 'yes', { httpOnly: true, maxAge: 3600 });
 */
export class Response {
  readonly headers: Headers;
  /** The body as the handler returned it (hooks at before_finalize may replace it). */
  body: unknown = undefined;
  /** Stream the body (S1–S10, docs/contract.md) instead of buffering it; defaults to `response.stream` config. */
  stream = false;
  /**
   * Called when a streamed body fails after commit; what it returns is
   * written as one last chunk before the connection is cut (S5). `sse()`
   * uses it to send an `event: error`. Defaults to `response.on_stream_error`.
   */
  onStreamError: ((err: unknown) => string | Uint8Array | undefined) | undefined = undefined;
  #status = 200;
  #reason: string | undefined;
  #committed = false;
  #owner: ResponseOwner | undefined;

  constructor() {
    this.headers = new Headers();
  }

  /** The status code (100–599). Set a number, or `'NNN Reason'` for a custom reason phrase. */
  get status(): number {
    return this.#status;
  }

  set status(value: number | string) {
    if (this.#committed) throw new HeadersSentError('set the status');
    if (typeof value === 'number' && Number.isInteger(value) && value >= 100 && value <= 599) {
      this.#status = value;
      this.#reason = undefined;
      return;
    }
    const m = typeof value === 'string' ? STATUS_TEXT.exec(value) : null;
    if (m === null) {
      throw new DrupeError('DRUPE_ERR_INVALID_STATUS', `Invalid response status ${JSON.stringify(value)}: use an integer 100-599 or 'NNN Reason'`);
    }
    this.#status = Number(m[1]);
    this.#reason = m[2] === undefined || m[2] === '' ? undefined : m[2];
  }

  /** The reason phrase sent with the status. */
  get reason(): string {
    return this.#reason ?? reasonPhrase(this.#status);
  }

  get [kCustomReason](): string | undefined {
    return this.#reason ?? (STATUS_CODES[this.#status] === undefined ? reasonPhrase(this.#status) : undefined);
  }

  /** True once the status line and headers went to the socket. */
  get committed(): boolean {
    return this.#committed;
  }

  /**
   * Add a Set-Cookie header. `signed: true` signs the value with the first
   * of `server.secret_keys` (read it back from `request.signedCookies`).
   */
  setCookie(name: string, value: string, options?: CookieOptions): void {
    if (options?.signed === true) {
      const key = this.#owner?.secretKeys[0];
      if (key === undefined) throw new DrupeError('DRUPE_ERR_CONFIG_VALUE', `Cookie ${name}: a signed cookie needs server.secret_keys in the global config`);
      value = signCookieValue(key, name, value);
    }
    this.headers.append('Set-Cookie', serializeCookie(name, value, options));
  }

  /** Tell the client to drop a cookie (same path/domain as it was set with). */
  deleteCookie(name: string, options: Pick<CookieOptions, 'path' | 'domain'> = {}): void {
    this.headers.append('Set-Cookie', serializeCookie(name, '', { ...options, maxAge: 0, expires: new Date(0) }));
  }

  /**
   * Send the status line and headers now, before any body chunk; the
   * response becomes a streamed one.
   */
  flushHeaders(): void {
    this.stream = true;
    if (!this.#committed) this.#owner?.flush();
  }

  /** The writer marks the commit: from now on status and headers refuse changes (S2). */
  [kMarkCommitted](): void {
    this.#committed = true;
    this.headers[kLock]();
  }

  /** Who commits the headers on `flushHeaders()`. */
  [kSetOwner](owner: ResponseOwner): void {
    this.#owner = owner;
  }

  /** A fresh response for an InternalRedirect (the caller released the old body). */
  [kReset](): void {
    this[kForceStatus](200);
    this.body = undefined;
    this.stream = false;
  }

  /** Set a status and drop every header, whatever was there (last-resort error, before commit). */
  [kForceStatus](status: number): void {
    this.#status = status;
    this.#reason = undefined;
    this.headers.clear();
  }
}
