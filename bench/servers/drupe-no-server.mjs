// Drupe as in drupe.mjs, but with `response.headers.server: ''`: no Server
// header, like Fastify, Hono, Koa and Express. Not part of the default run;
// name it in --frameworks (or to instructions.sh) to see what that header costs.
process.env.BENCH_DRUPE_SERVER_HEADER = '';
await import('./drupe.mjs');
