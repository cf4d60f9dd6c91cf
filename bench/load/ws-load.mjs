// The `ws` scenario's load: `echo` keeps `window` messages in flight on each of `connections`
// sockets for `duration` seconds and prints echoes per second; `idle` opens `count` sockets,
// prints "open", and holds them until stdin closes. Only 127.0.0.1.
import { WebSocket } from 'ws';
import { args } from './proc.mjs';

const o = { mode: 'echo', connections: 50, window: 8, duration: 5, count: 1000, size: 64, ...args() };
const url = `ws://127.0.0.1:${o.port}/echo`;

function connect() {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

if (o.mode === 'idle') {
  const sockets = [];
  for (let i = 0; i < o.count; i += 50) sockets.push(...(await Promise.all(Array.from({ length: Math.min(50, o.count - i) }, connect))));
  process.stdout.write('open\n');
  process.stdin.resume();
  process.stdin.on('end', () => { for (const ws of sockets) ws.terminate(); process.exit(0); });
} else {
  const payload = 'x'.repeat(o.size);
  const sockets = await Promise.all(Array.from({ length: o.connections }, connect));
  let echoes = 0;
  let counting = false;
  for (const ws of sockets) {
    ws.on('message', () => { if (counting) echoes++; ws.send(payload); });
    for (let i = 0; i < o.window; i++) ws.send(payload);
  }
  await new Promise((r) => setTimeout(r, 1000)); // warm-up
  counting = true;
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, o.duration * 1000));
  counting = false;
  const seconds = (performance.now() - t0) / 1000;
  process.stdout.write(JSON.stringify({ echoesPerSecond: echoes / seconds }) + '\n');
  for (const ws of sockets) ws.terminate();
  process.exit(0);
}
