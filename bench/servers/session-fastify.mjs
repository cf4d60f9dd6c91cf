// Fastify with @fastify/cookie and @fastify/session, as their docs teach: GET /session reads the
// session's counter, writes it back one higher and answers it (the `session` scenario,
// bench/session.mjs). BENCH_SESSION_STORE picks the store: 'memory' (the plugin's own in-memory
// store) or 'redis' (connect-redis over node-redis, at BENCH_REDIS_URL). The same secret length
// and cookie name as the Drupe server.
import Fastify from 'fastify';
import fastifyCookie from '@fastify/cookie';
import fastifySession from '@fastify/session';
import { port, host, ready } from './common.mjs';
import { SESSION_SECRET, SESSION_COOKIE, SESSION_TTL_S } from './session-common.mjs';

const kind = process.env.BENCH_SESSION_STORE ?? 'memory';
let store;
if (kind === 'redis') {
  const { createClient } = await import('redis');
  const { RedisStore } = await import('connect-redis');
  const client = createClient({ url: process.env.BENCH_REDIS_URL });
  client.on('error', (e) => console.error(`redis: ${e.message}`));
  await client.connect();
  store = new RedisStore({ client, prefix: 'sess:', ttl: SESSION_TTL_S });
} else if (kind !== 'memory') {
  throw new Error(`BENCH_SESSION_STORE: 'memory' or 'redis', not ${kind}`);
}

const app = Fastify({ logger: false });
app.register(fastifyCookie);
app.register(fastifySession, {
  secret: SESSION_SECRET,
  cookieName: SESSION_COOKIE,
  cookie: { secure: false, httpOnly: true, sameSite: 'lax', path: '/', maxAge: SESSION_TTL_S * 1000 },
  saveUninitialized: false,
  ...(store ? { store } : {}),
});

app.get('/session', async (request) => {
  const n = (request.session.get('n') ?? 0) + 1;
  request.session.set('n', n);
  return String(n);
});

await app.listen({ port, host });
ready(`fastify-session-${kind}`);
