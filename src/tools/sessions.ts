import { RequestContext } from '../core/request-context.js';
import type { ToolBehaviour } from '../core/tool.js';
import { kSetSession, type Context, type Request } from '../http/request.js';
import { HTTPError, HTTPRedirect, InternalRedirect } from '../lib/errors.js';
import { isThenable } from '../lib/thenable.js';
import { lockWithin } from '../sessions/bounded-lock.js';
import { ServerSession } from '../sessions/session.js';
import { isSessionId } from '../sessions/session-id.js';
import type { SessionSettings } from '../sessions/settings.js';
import { SessionLockTimeoutError, SessionStoreUnavailableError, type SessionLock } from '../sessions/store.js';
import { prepareSessions, sessionsDefaults, type SessionsOptions } from './sessions-options.js';

export type { SessionsOptions } from './sessions-options.js';

/** Sessions of requests in flight, for the cleanup at the end of the request. */
const live = new WeakMap<Request, ServerSession>();

/** Seconds a client is told to wait: a lock is usually free again soon; a store that went away takes longer to come back. */
const RETRY_LOCK = '1';
const RETRY_STORE = '5';

/** When an unavailable store was last logged: an outage is logged every 10 s, not at every request it fails. */
let outageLoggedAt = 0;
const OUTAGE_LOG_EVERY_MS = 10_000;

/**
 * A store's failure as the client's answer: a lock not had in time or a
 * store not answering is a 503 with Retry-After (the request may succeed
 * later; the store's own message, which may name a server, is logged, not
 * shown). Anything else (a session over `max_size`, a bug) stays an
 * unexpected error: a logged 500.
 */
function answerFor(ctx: Context, err: unknown): unknown {
  if (err instanceof SessionLockTimeoutError) {
    return new HTTPError(503, 'The session is busy with another request; try again shortly', { 'Retry-After': RETRY_LOCK });
  }
  if (err instanceof SessionStoreUnavailableError) {
    const now = Date.now();
    if (now - outageLoggedAt >= OUTAGE_LOG_EVERY_MS && ctx instanceof RequestContext) {
      outageLoggedAt = now;
      ctx.host.logError('The session store is not available (requests that need a session get 503 until it is back; logged at most every 10 s)', err, ctx.request.id);
    }
    return new HTTPError(503, 'The session store is not available; try again shortly', { 'Retry-After': RETRY_STORE });
  }
  return err;
}

/**
 * The session of this request: the client's, when its cookie carries an id
 * of the right shape that the store knows and has not expired; otherwise a
 * new one with a fresh random id (an unknown id is never adopted: session
 * fixation, HOSTILE 51). Under 'implicit' and 'early' locking, the lock is
 * taken before the data is read, so the handler sees what the previous
 * holder saved.
 */
async function open(ctx: Context, s: SessionSettings): Promise<ServerSession> {
  const store = s.store();
  const sent = ctx.request.cookies[s.name];
  const id = isSessionId(sent) ? sent : undefined;
  let lock: SessionLock | undefined;
  try {
    if (id !== undefined && s.locking !== 'explicit') lock = await lockWithin(store, id, s.waitMs, s.holdMs);
    const data = id === undefined ? undefined : await store.load(id);
    if (data === undefined && lock !== undefined) {
      // Nobody else can know the fresh id the client gets instead: no lock is needed on it.
      const held = lock;
      lock = undefined;
      await held.release();
    }
    return new ServerSession(store, s, ctx.response, id ?? '', data, lock);
  } catch (err) {
    if (lock !== undefined) await lock.release().catch(() => undefined);
    throw answerFor(ctx, err);
  }
}

/**
 * `tools.sessions` (CherryPy's): `request.session`, kept in a store between
 * requests and named by a cookie. Runs before the handler: loads (and
 * locks) the session, then wraps the handler so that the session is saved
 * — only when changed; an unchanged one is touched to move its expiry on —
 * and its lock let go as soon as the handler returns, before the response
 * is written: a streamed body never holds the lock (docs/sessions.md). A
 * redirect or HTTP error raised by the handler saves too (a login that
 * redirects); an unexpected error saves nothing. Whatever happens, the lock is
 * released at the end of the request (`cleanup`).
 *
 * @example
 *   new App(root, { '/': { 'tools.sessions.on': true, 'tools.sessions.locking': 'early' } });
 */
export const sessions: ToolBehaviour<SessionsOptions, SessionSettings> = {
  defaults: sessionsDefaults,
  prepare: prepareSessions,
  run(ctx: Context, s: SessionSettings): unknown {
    const { request } = ctx;
    const earlier = live.get(request);
    // An InternalRedirect raised after this tool ran, before the handler did: that pass's lock goes first.
    if (earlier !== undefined) {
      live.delete(request);
      return earlier.abandon().then(() => sessions.run(ctx, s));
    }
    const handler = request.handler;
    if (handler === null) return undefined; // a tool answered the request
    if (request.raw.headers.upgrade !== undefined) {
      // A WebSocket endpoint (or a refused upgrade) may read the session, e.g. who is logged in; it never holds
      // the lock for the socket's life, and its handler stays unwrapped, as the upgrade checks expect.
      return open(ctx, s).then(async (session) => {
        request[kSetSession](session);
        await session.abandon();
      });
    }
    return open(ctx, s).then((session) => {
      live.set(request, session);
      request[kSetSession](session);
      request.handler = function sessionsHandler(this: unknown, c: Context): unknown {
        let result: unknown;
        try {
          result = handler.call(this, c);
        } catch (err) {
          return finish(c, session, err, true);
        }
        if (!isThenable(result)) return finish(c, session, result, false);
        return Promise.resolve(result).then((v) => finish(c, session, v, false), (err: unknown) => finish(c, session, err, true));
      };
    });
  },
  cleanup(ctx: Context): unknown {
    const session = live.get(ctx.request);
    if (session === undefined) return undefined;
    live.delete(ctx.request);
    return session.abandon();
  },
};

/**
 * After the handler: save (unless it failed with an unexpected error; a
 * redirect, internal redirect or HTTP error saves, as CherryPy's does),
 * release, then answer as the handler did.
 */
async function finish(ctx: Context, session: ServerSession, outcome: unknown, threw: boolean): Promise<unknown> {
  if (threw) {
    // A store's error inside the handler (acquireLock timed out, the store went away) is its 503.
    const answer = answerFor(ctx, outcome);
    if (answer !== outcome || !(outcome instanceof HTTPRedirect || outcome instanceof HTTPError || outcome instanceof InternalRedirect)) {
      await session.abandon();
      throw answer;
    }
  }
  try {
    await session.save();
  } catch (err) {
    throw answerFor(ctx, err);
  }
  if (threw) throw outcome;
  return outcome;
}
