// SSE fan-out load: N clients on GET /sse, count the events they receive
// over a bounded window. 127.0.0.1 only; stops by itself.
// node sse.mjs --port=P --pid=SERVER_PID [--clients=1000 --warmup=1 --duration=3]
import { connect } from 'node:net';
import { args, cpuMicros, rssKiB, sleep } from './proc.mjs';

const { port, pid, clients = 1000, warmup = 1, duration = 3 } = args();
const deadline = setTimeout(() => { console.log(JSON.stringify({ error: 'deadline' })); process.exit(2); },
  (warmup + duration + 60) * 1000);

const MARK = Buffer.from('data:');
const count = (buf) => { let n = 0, i = 0; while ((i = buf.indexOf(MARK, i)) !== -1) { n++; i += 5; } return n; };

let events = 0;
let heads = 0;
let failed = 0;
let why = '';
const fail = (reason) => { failed++; why ||= reason; };
const sockets = [];
function open() {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port, noDelay: true });
    let state = 'connecting'; // -> 'waiting' (request sent) -> 'open' | 'failed'
    let tail = Buffer.alloc(0);
    s.on('connect', () => {
      state = 'waiting';
      s.write('GET /sse HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n');
      resolve();
    });
    s.on('data', (chunk) => {
      if (state === 'waiting') {
        const status = chunk.toString('latin1', 0, chunk.indexOf('\r\n'));
        if (!status.startsWith('HTTP/1.1 200')) { state = 'failed'; fail(status); s.destroy(); return; }
        state = 'open';
        heads++;
      }
      events += count(chunk) + count(Buffer.concat([tail, chunk.subarray(0, 4)]));
      tail = chunk.subarray(Math.max(0, chunk.length - 4));
    });
    const lost = (reason) => {
      if (state === 'connecting' || state === 'waiting') { fail(reason); resolve(); }
      state = 'failed';
    };
    s.on('error', (e) => lost(e.message));
    s.on('close', () => lost('closed before a response'));
    sockets.push(s);
  });
}

// Connect everyone (the server may hold the first event until all are in),
// then wait up to 20 s for every response to start.
for (let i = 0; i < clients; i += 100) {
  await Promise.all(Array.from({ length: Math.min(100, clients - i) }, open));
}
for (const t0 = Date.now(); heads + failed < clients && Date.now() - t0 < 20000;) await sleep(50);
if (heads + failed < clients) { why ||= 'no response within 20 s'; failed = clients - heads; }
await sleep(warmup * 1000);
const cpu0 = cpuMicros(pid), rss0 = rssKiB(pid), ev0 = events, t0 = performance.now();
await sleep(duration * 1000);
const cpu1 = cpuMicros(pid), rss1 = rssKiB(pid), ev1 = events, t1 = performance.now();
for (const s of sockets) s.destroy();
clearTimeout(deadline);
const seconds = (t1 - t0) / 1000;
console.log(JSON.stringify({
  clients, heads, failed, why, events: ev1 - ev0, seconds, rate: (ev1 - ev0) / seconds,
  cpuMicros: cpu1 - cpu0, rssKiB: rss1, rssBeforeKiB: rss0,
}));
