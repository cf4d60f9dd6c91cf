// Drupe with tools.sessions, as docs/sessions.md teaches: GET /session reads the session's counter,
// writes it back one higher and answers it (the `session` scenario, bench/session.mjs).
// BENCH_SESSION_STORE picks the store: 'ram' (the default store), 'redis' (at BENCH_REDIS_URL) or
// 'none' — the same handler with sessions off, counting in a variable instead, to show what the
// sessions cost. Locking is the default, 'implicit' (each request takes its session's lock), or
// BENCH_SESSION_LOCKING ('explicit': no lock is taken, as Fastify's sessions take none).
// Needs `npm run build` at the root.
import { App, serve, exposed } from '../../dist/index.js';
import { port, host, ready } from './common.mjs';
import { SESSION_SECRET, SESSION_COOKIE, SESSION_TTL_S } from './session-common.mjs';

const kind = process.env.BENCH_SESSION_STORE ?? 'ram';
let root;
let sessions;
if (kind === 'none') {
  let n = 0;
  root = { session: exposed(() => String(++n)) };
  sessions = {};
} else {
  root = {
    session: exposed(({ request }) => {
      const n = Number(request.session.get('n') ?? 0) + 1;
      request.session.set('n', n);
      return String(n);
    }),
  };
  if (kind !== 'ram' && kind !== 'redis') throw new Error(`BENCH_SESSION_STORE: 'ram', 'redis' or 'none', not ${kind}`);
  sessions = {
    'tools.sessions.on': true,
    'tools.sessions.storage_type': kind,
    'tools.sessions.name': SESSION_COOKIE,
    'tools.sessions.timeout': SESSION_TTL_S / 60,
    'tools.sessions.locking': process.env.BENCH_SESSION_LOCKING || 'implicit',
    ...(kind === 'redis' ? { 'tools.sessions.redis_url': process.env.BENCH_REDIS_URL } : {}),
  };
}

const app = new App(root, { '/': sessions });
await serve(app, { host, port, config: { 'log.screen': false, environment: 'production', 'server.secret_keys': [SESSION_SECRET] } });
ready(`drupe-session-${kind}-${process.env.BENCH_SESSION_LOCKING || 'implicit'}`);
