import { randomBytes } from 'node:crypto';

/** Bytes of randomness in a session id: 192 bits, from the operating system's CSPRNG. */
const ID_BYTES = 24;

/** The one shape an id Drupe issued has: 32 base64url characters (HOSTILE 51). */
const ID_SHAPE = /^[A-Za-z0-9_-]{32}$/;

/** A new session id: 192 random bits from `crypto`, base64url (safe in a cookie, a file name and a Redis key). */
export function newSessionId(): string {
  return randomBytes(ID_BYTES).toString('base64url');
}

/**
 * Whether a client's cookie value can be an id Drupe issued. Anything else —
 * garbage, oversized, a path (`../../etc/passwd`), a glob or a key pattern —
 * is never given to a store: the client gets a fresh session (HOSTILE 51).
 */
export function isSessionId(value: string | undefined): value is string {
  return value !== undefined && value.length === 32 && ID_SHAPE.test(value);
}
