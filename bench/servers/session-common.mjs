// What the session servers share (the `session` scenario, bench/session.mjs): GET /session reads
// the session's counter `n`, writes n + 1 back and answers it as text; without a session cookie
// it starts a session. The same secret (32+ characters), cookie name and lifetime everywhere.
export const SESSION_SECRET = 'bench-session-secret-0123456789abcdef0123';
export const SESSION_COOKIE = 'session_id';
/** One hour: no session expires during a run. */
export const SESSION_TTL_S = 3600;
