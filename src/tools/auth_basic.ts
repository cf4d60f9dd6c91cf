import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Context } from '../http/request.js';
import { DrupeError, HTTPError } from '../lib/errors.js';
import { defineTool } from '../core/tool.js';
import { isThenable } from '../lib/thenable.js';
import { isAnsweredPreflight } from './cors.js';

/** Checks a user's password (may be async); true lets the request in. */
export type CheckPassword = (realm: string, user: string, password: string) => boolean | Promise<boolean>;

export interface AuthBasicOptions {
  /** The realm the browser shows. */
  realm: string;
  /** user → password. */
  users: Readonly<Record<string, string>>;
  /** Instead of `users`: a function that checks a user's password. */
  checkpassword: CheckPassword | null;
}

// Passwords are compared as HMACs under a per-process key: equal-length
// digests for timingSafeEqual, whatever the lengths of the passwords.
const KEY = randomBytes(32);
const digest = (s: string): Buffer => createHmac('sha256', KEY).update(s, 'utf8').digest();
const NO_USER = digest('\0no such user');
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** `Authorization: Basic …` as user and password, or null. */
function credentials(header: string | undefined): { user: string; password: string } | null {
  if (header === undefined) return null;
  const m = /^basic[ \t]+(\S+)[ \t]*$/i.exec(header);
  if (m === null || !BASE64.test(m[1]!)) return null;
  let text: string;
  try {
    text = utf8.decode(Buffer.from(m[1]!, 'base64'));
  } catch {
    return null;
  }
  const colon = text.indexOf(':');
  if (colon < 0) return null;
  return { user: text.slice(0, colon), password: text.slice(colon + 1) };
}

function checkUsers(users: Readonly<Record<string, string>>, user: string, password: string): boolean {
  const stored = Object.hasOwn(users, user) ? users[user] : undefined;
  const known = typeof stored === 'string';
  // Compare even for an unknown user, so the time taken does not say which users exist.
  const same = timingSafeEqual(digest(password), known ? digest(stored) : NO_USER);
  return known && same;
}

function challenge(realm: string): HTTPError {
  const quoted = realm.replace(/["\\]/g, '\\$&');
  return new HTTPError(401, 'Authentication required', { 'WWW-Authenticate': `Basic realm="${quoted}", charset="UTF-8"` });
}

/**
 * `tools.auth_basic`: HTTP Basic authentication (RFC 7617) for a subtree.
 * Without valid credentials: 401 with `WWW-Authenticate: Basic realm="…",
 * charset="UTF-8"`. Passwords come from `users` (compared in constant
 * time) or a `checkpassword(realm, user, password)` function; the user let
 * in is `request.login`. Runs first of the guards (on_start_resource), so it
 * covers static files and every method; a CORS preflight answered by
 * tools.cors passes (browsers send no credentials with one).
 *
 * @example
 *   new App(root, { '/admin': { 'tools.auth_basic.on': true, 'tools.auth_basic.realm': 'admin', 'tools.auth_basic.users': { ann: 's3cret' } } });
 */
export const authBasic = defineTool<AuthBasicOptions>({
  name: 'auth_basic',
  point: 'on_start_resource',
  priority: 30,
  defaults: { realm: 'drupe', users: {}, checkpassword: null },
  run(ctx: Context, o) {
    const { request } = ctx;
    if (o.checkpassword !== null && typeof o.checkpassword !== 'function') {
      throw new DrupeError('DRUPE_ERR_CONFIG_VALUE', 'tools.auth_basic.checkpassword: expected a function (realm, user, password) => boolean');
    }
    if (typeof o.users !== 'object' || o.users === null || Array.isArray(o.users)) {
      throw new DrupeError('DRUPE_ERR_CONFIG_VALUE', 'tools.auth_basic.users: expected an object of user → password');
    }
    if (isAnsweredPreflight(request)) return;
    const c = credentials(request.headers.authorization);
    if (c === null) throw challenge(o.realm);
    const admit = (ok: boolean): void => {
      if (ok !== true) throw challenge(o.realm);
      request.login = c.user;
    };
    if (o.checkpassword === null) return admit(checkUsers(o.users, c.user, c.password));
    const ok = o.checkpassword(o.realm, c.user, c.password);
    return isThenable<boolean>(ok) ? Promise.resolve(ok).then(admit) : admit(ok);
  },
});
