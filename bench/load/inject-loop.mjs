// One mode of the `inject` scenario (bench/inject.mjs), in a process of its own: the same
// hello handler answered in process or over a socket, `window` requests in flight, for
// `duration` seconds after `warmup`; prints {"requests","seconds","cpuMicros"} (this
// process's CPU over the measured run: client and server both, when both are here).
//   --mode=inject         app.inject({ url })
//   --mode=inject-fetch   app.inject(url), the fetch-like form (app.fetch), body read
//   --mode=lmr            light-my-request against app.listener (what it would take to use it)
//   --mode=socket         serve() here and node's http client with a keep-alive agent, as a test opening a socket does
//   --mode=serve          serve() only, prints "port N"; the load comes from wrk in another process
import http from 'node:http';
import { args } from './proc.mjs';

const o = { mode: 'inject', duration: 3, warmup: 1, window: 1, ...args() };
const { App, exposed, serve } = await import('../../dist/index.js');
const HELLO = 'Hello World!';
const app = new App({ hello: exposed(() => HELLO) });
const config = { 'log.screen': false, environment: 'production' };

let once;
if (o.mode === 'inject') {
  app.configure(config);
  const options = { url: '/hello' };
  once = async () => (await app.inject(options)).body;
} else if (o.mode === 'inject-fetch') {
  app.configure(config);
  once = async () => (await app.inject('/hello')).text();
} else if (o.mode === 'lmr') {
  app.configure(config);
  const { default: inject } = await import('light-my-request');
  const options = { url: '/hello' };
  once = async () => (await inject(app.listener, options)).payload;
} else if (o.mode === 'socket' || o.mode === 'serve') {
  const server = await serve(app, { host: '127.0.0.1', port: 0, config });
  if (o.mode === 'serve') {
    process.stdout.write(`port ${server.port}\n`);
    process.stdin.resume();
    process.stdin.on('end', () => server.close().then(() => process.exit(0)));
    await new Promise(() => {});
  }
  const agent = new http.Agent({ keepAlive: true, maxSockets: o.window });
  const url = `${server.url}/hello`;
  once = () => new Promise((resolve, reject) => {
    http.get(url, { agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve(body));
      res.on('error', reject);
    }).on('error', reject);
  });
} else {
  throw new Error(`unknown mode ${o.mode}`);
}

if (await once() !== HELLO) throw new Error(`${o.mode}: not the hello body`);
let count = 0;
let stopAt = 0;
async function loop() {
  while (performance.now() < stopAt) {
    await once();
    count++;
  }
}
async function run(seconds) {
  count = 0;
  stopAt = performance.now() + seconds * 1000;
  await Promise.all(Array.from({ length: o.window }, loop));
}
await run(o.warmup);
const cpu0 = process.cpuUsage();
const t0 = performance.now();
await run(o.duration);
const seconds = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(cpu0);
process.stdout.write(`${JSON.stringify({ requests: count, seconds, cpuMicros: cpu.user + cpu.system })}\n`);
process.exit(0);
