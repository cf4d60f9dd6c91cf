import { HTTPError, HTTPRedirect, expose, type Config, type Context } from '../../src/index.js';
import { escape, page } from './layout.js';

/** The demo's one user (a real site checks a password hash from its database). */
const USERS: Readonly<Record<string, string>> = { demo: 'demo' };

/**
 * Sessions (tools.sessions, on under /account): a login that regenerates
 * the session id (against fixation), a per-visitor counter, and a logout
 * that expires the session. A signed cookie remembers the last user name.
 */
// #region account
export class Account {
  @expose()
  index({ request }: Context): string {
    const s = request.session;
    const visits = ((s.get('visits') as number | undefined) ?? 0) + 1;
    s.set('visits', visits);
    const user = s.get('user') as string | undefined;
    const last = request.signedCookies.last_user ?? '';
    const who = user === undefined
      ? `<p>Not logged in.</p><form method="post" action="/account/login">
<input name="user" placeholder="user (demo)" value="${escape(last)}"> <input name="password" type="password" placeholder="password (demo)"> <button>Log in</button></form>`
      : `<p>Logged in as <b>${escape(user)}</b>.</p><form method="post" action="/account/logout"><button>Log out</button></form>`;
    return page('Account', `<h1>Account</h1>${who}<p>You have seen this page <b id="visits">${visits}</b> time${visits === 1 ? '' : 's'} in this session.</p>`, {
      note: `<p><code>tools.sessions</code> is on under <code>/account</code>: the counter lives in a session (in memory here; files or Redis for many processes).
Logging in (<code>demo</code> / <code>demo</code>) gives the session a new id, so an id planted before login is worth nothing; logging out expires it.
The user name is remembered in a signed cookie: edit it in the browser and it is ignored.</p>`,
      source: 'account.ts#account',
    });
  }

  @expose()
  login({ request, response, params }: Context): never {
    if (request.method !== 'POST') throw new HTTPError(405, 'Use the form');
    const user = typeof params.user === 'string' ? params.user : '';
    const password = typeof params.password === 'string' ? params.password : '';
    if (USERS[user] === undefined || USERS[user] !== password) throw new HTTPError(403, 'Wrong user name or password');
    request.session.regenerate(); // a new id for the logged-in session: an id planted before login is worth nothing
    request.session.set('user', user);
    response.setCookie('last_user', user, { signed: true, httpOnly: true, sameSite: 'Lax', path: '/account', maxAge: 30 * 86400 });
    throw new HTTPRedirect('/account/');
  }

  @expose()
  logout({ request }: Context): never {
    if (request.method !== 'POST') throw new HTTPError(405, 'Use the form');
    request.session.expire();
    throw new HTTPRedirect('/account/');
  }
}
// #endregion

export const accountSections: Record<string, Config> = {
  '/account': { 'tools.sessions.on': true, 'tools.sessions.locking': 'early' },
};
