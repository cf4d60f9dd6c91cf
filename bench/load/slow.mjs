// Slow clients: N clients on GET /slow that pause their sockets and read a
// little every so often; the server's RSS is sampled while they hang on.
// 127.0.0.1 only; bounded in count and time; stops by itself.
// node slow.mjs --port=P --pid=SERVER_PID [--clients=2000 --hold=5 --every=250 --take=4096]
import { connect } from 'node:net';
import { args, cpuMicros, rssKiB, sleep } from './proc.mjs';

const { port, pid, clients = 2000, hold = 5, every = 250, take = 4096, maxRssMiB = 3072 } = args();
const deadline = setTimeout(() => { console.log(JSON.stringify({ error: 'deadline' })); process.exit(2); },
  (hold + 60) * 1000);

const rssBefore = rssKiB(pid);
const cpu0 = cpuMicros(pid);
let bytes = 0;
let failed = 0;
let why = '';
const fail = (reason) => { failed++; why ||= reason; };
let peak = rssBefore;
const sockets = [];
let tooBig = false;
const sampler = setInterval(() => {
  try { peak = Math.max(peak, rssKiB(pid)); } catch { return; }
  // A server that buffers instead of waiting for its slow readers is stopped
  // here rather than being allowed to take the shared machine's memory.
  if (peak > maxRssMiB * 1024 && !tooBig) { tooBig = true; for (const s of sockets) s.destroy(); }
}, 100);

function open() {
  return new Promise((resolve) => {
    // No 'data' listener: the socket stays paused and stops reading from the
    // kernel once its small buffer is full; the reader below drains it slowly.
    const s = connect({ host: '127.0.0.1', port });
    let first = true;
    s.once('readable', () => {
      const head = s.read();
      const status = head ? head.toString('latin1', 0, head.indexOf('\r\n')) : 'no response';
      if (!status.startsWith('HTTP/1.1 200')) { fail(status); s.destroy(); }
      else bytes += head.length;
      first = false;
      resolve();
    });
    s.on('error', (e) => { if (first) { first = false; fail(e.message); resolve(); } });
    s.on('close', () => { if (first) { first = false; fail('closed before a response'); resolve(); } });
    s.write('GET /slow HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    sockets.push(s);
  });
}

const reader = setInterval(() => {
  for (const s of sockets) {
    const chunk = s.readableLength ? s.read(Math.min(take, s.readableLength)) : null;
    if (chunk) bytes += chunk.length;
  }
}, every);

for (let i = 0; i < clients; i += 200) {
  await Promise.all(Array.from({ length: Math.min(200, clients - i) }, open));
}
await sleep(hold * 1000);
const rssHeld = rssKiB(pid);
peak = Math.max(peak, rssHeld);
const open_ = sockets.filter((s) => !s.destroyed).length;
clearInterval(reader);
clearInterval(sampler);
for (const s of sockets) s.destroy();
await sleep(500);
const cpu1 = cpuMicros(pid);
clearTimeout(deadline);
console.log(JSON.stringify({
  clients, failed, why, open: open_, bytes, tooBig,
  rssBeforeKiB: rssBefore, rssHeldKiB: rssHeld, rssPeakKiB: peak, rssAfterKiB: rssKiB(pid),
  perConnKiB: (peak - rssBefore) / clients, cpuMicros: cpu1 - cpu0,
}));
