import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Context } from '../http/request.js';
import { HTTPError } from '../lib/errors.js';
import { checkHeaderValue } from '../http/headers.js';
import { optionError, type ToolBehaviour } from '../core/tool.js';
import { isThenable } from '../lib/thenable.js';

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

/** The options worked out once per route: stored passwords as digests, the challenge header built. */
interface Guard {
  readonly realm: string;
  /** The `WWW-Authenticate` header of a 401. */
  readonly challenge: Readonly<Record<string, string>>;
  /** user → digest of the password. */
  readonly users: ReadonlyMap<string, Buffer>;
  readonly checkpassword: CheckPassword | null;
}

function checkUsers(users: ReadonlyMap<string, Buffer>, user: string, password: string): boolean {
  const stored = users.get(user);
  // Compare even for an unknown user, so the time taken does not say which users exist.
  const same = timingSafeEqual(digest(password), stored ?? NO_USER);
  return stored !== undefined && same;
}

function challenge(g: Guard): HTTPError {
  return new HTTPError(401, 'Authentication required', g.challenge);
}

/**
 * `tools.auth_basic`: HTTP Basic authentication (RFC 7617) for a subtree.
 * Without valid credentials: 401 with `WWW-Authenticate: Basic realm="…",
 * charset="UTF-8"`. Passwords come from `users` (compared in constant
 * time) or a `checkpassword(realm, user, password)` function; the user let
 * in is `request.login`. Runs where CherryPy runs it, first of the
 * `before_handler` tools (priority 1): before static files and the
 * handler, for every method. A request a tool already answered
 * (`request.handler` is null: a CORS preflight, which browsers send
 * without credentials) passes.
 *
 * @example
 *   new App(root, { '/admin': { 'tools.auth_basic.on': true, 'tools.auth_basic.realm': 'admin', 'tools.auth_basic.users': { ann: 's3cret' } } });
 */
export const authBasic: ToolBehaviour<AuthBasicOptions, Guard> = {
  defaults: { realm: 'drupe', users: {}, checkpassword: null },
  prepare(o) {
    if (o.checkpassword !== null && typeof o.checkpassword !== 'function') {
      throw optionError('auth_basic', 'checkpassword', 'a function (realm, user, password) => boolean', o.checkpassword);
    }
    if (typeof o.users !== 'object' || o.users === null || Array.isArray(o.users)) {
      throw optionError('auth_basic', 'users', 'an object of user → password', o.users);
    }
    const users = new Map<string, Buffer>();
    for (const user of Object.keys(o.users)) {
      const password = o.users[user];
      if (typeof password !== 'string') throw optionError('auth_basic', 'users', `a password (a string) for user ${JSON.stringify(user)}`, password);
      users.set(user, digest(password));
    }
    const header = `Basic realm="${o.realm.replace(/["\\]/g, '\\$&')}", charset="UTF-8"`;
    try {
      checkHeaderValue('WWW-Authenticate', header);
    } catch {
      throw optionError('auth_basic', 'realm', 'text a header can carry (no control characters, Latin-1 at most)', o.realm);
    }
    return { realm: o.realm, challenge: Object.freeze({ 'WWW-Authenticate': header }), users, checkpassword: o.checkpassword };
  },
  run(ctx: Context, g) {
    const { request } = ctx;
    if (request.handler === null) return; // a tool answered the request (a CORS preflight)
    const c = credentials(request.headers.authorization);
    if (c === null) throw challenge(g);
    const admit = (ok: boolean): void => {
      if (ok !== true) throw challenge(g);
      request.login = c.user;
    };
    if (g.checkpassword === null) return admit(checkUsers(g.users, c.user, c.password));
    const ok = g.checkpassword(g.realm, c.user, c.password);
    return isThenable<boolean>(ok) ? Promise.resolve(ok).then(admit) : admit(ok);
  },
};
