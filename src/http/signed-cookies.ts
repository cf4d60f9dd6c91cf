import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Signed cookie values (`server.secret_keys`): `value.signature`, the
 * signature an HMAC-SHA256 of the cookie's name and value, base64url. The
 * name is signed too, so a value signed for one cookie does not verify
 * under another. The first key signs; every key verifies, so keys rotate
 * (add the new one first, drop the old one once its cookies expired).
 */

/** The shortest key accepted, in bytes: an HMAC-SHA256 key should carry at least 256 bits. */
export const MIN_SECRET_KEY_BYTES = 32;

const SIG_LENGTH = 43; // 32 bytes in unpadded base64url

function mac(key: Buffer, name: string, value: string): Buffer {
  return createHmac('sha256', key).update(name).update('\0').update(value).digest();
}

/** `value.signature`, signed with `key`. */
export function signCookieValue(key: Buffer, name: string, value: string): string {
  return `${value}.${mac(key, name, value).toString('base64url')}`;
}

/** The value a signed cookie carries, or undefined when no key verifies it (tampered, unsigned, or signed by a dropped key). */
export function verifyCookieValue(keys: readonly Buffer[], name: string, signed: string): string | undefined {
  const dot = signed.length - SIG_LENGTH - 1;
  if (dot < 0 || signed[dot] !== '.') return undefined;
  const given = Buffer.from(signed.slice(dot + 1), 'base64url');
  // base64url decoding skips what it cannot read: a signature that does not round-trip is no signature.
  if (given.length !== 32 || given.toString('base64url') !== signed.slice(dot + 1)) return undefined;
  const value = signed.slice(0, dot);
  let ok = false;
  // Every key is tried, whichever matches, so the time taken says nothing about which one did.
  for (const key of keys) if (timingSafeEqual(mac(key, name, value), given)) ok = true;
  return ok ? value : undefined;
}

/** The cookies among `cookies` whose signature verifies, by name (no prototype). */
export function verifiedCookies(keys: readonly Buffer[], cookies: Readonly<Record<string, string>>): Record<string, string> {
  const out = Object.create(null) as Record<string, string>;
  if (keys.length === 0) return out;
  for (const name of Object.keys(cookies)) {
    const value = verifyCookieValue(keys, name, cookies[name]!);
    if (value !== undefined) out[name] = value;
  }
  return out;
}
