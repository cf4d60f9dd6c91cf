// Bun's own server, Bun.serve, doing the work the other servers do for hello and stream: the
// reference for Drupe on Bun (bench/bun.mjs). Run with bun. The stream is the same generator of
// 100 chunks of 1 KiB, pulled into a ReadableStream one chunk per pull.
import { port, host, HELLO, chunks, ready } from './common.mjs';

Bun.serve({
  hostname: host,
  port,
  fetch(request) {
    const path = new URL(request.url).pathname;
    if (path === '/hello') return new Response(HELLO, { headers: { 'Content-Type': 'text/plain' } });
    if (path === '/stream') {
      const it = chunks();
      return new Response(new ReadableStream({
        pull(controller) {
          const next = it.next();
          if (next.done) controller.close();
          else controller.enqueue(next.value);
        },
      }, { highWaterMark: 0 }), { headers: { 'Content-Type': 'application/octet-stream' } });
    }
    return new Response('Not found', { status: 404 });
  },
});
ready('bun-serve');
