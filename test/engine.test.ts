// The engine (CherryPy's cherrypy.engine): channels, priorities, plugins, start/stop/exit, servers on it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { App, Engine, engine, exposed, serverPlugin, type EnginePlugin } from '../src/index.js';
import { deferred, tick, within } from './helpers/async.js';
import { get } from './helpers/server.js';

/** A fresh engine whose log lines are kept, not written to stderr. */
function quiet(stopTimeout?: number): { engine: Engine; logs: string[] } {
  const e = new Engine(stopTimeout === undefined ? {} : { stopTimeout });
  const logs: string[] = [];
  e.subscribe('log', (message) => { logs.push(message); });
  return { engine: e, logs };
}

test('the process-wide engine is an Engine, stopped', () => {
  assert.ok(engine instanceof Engine);
  assert.equal(engine.state, 'stopped');
});

test('listeners run by priority, lower first, equal priorities in subscription order; publish returns their results', async () => {
  const e = new Engine();
  const seen: string[] = [];
  e.subscribe('graceful', () => { seen.push('b50'); return 'b'; });
  e.subscribe('graceful', () => { seen.push('a10'); return 'a'; }, 10);
  e.subscribe('graceful', () => { seen.push('c50'); return 'c'; });
  e.subscribe('graceful', () => { seen.push('d90'); return 'd'; }, 90);
  assert.deepEqual(await e.publish('graceful'), ['a', 'b', 'c', 'd']);
  assert.deepEqual(seen, ['a10', 'b50', 'c50', 'd90']);
});

test('async listeners are awaited one after another', async () => {
  const e = new Engine();
  const seen: string[] = [];
  const first = deferred();
  e.subscribe('main', async () => { seen.push('1 in'); await first.promise; seen.push('1 out'); return 1; });
  e.subscribe('main', () => { seen.push('2'); return 2; });
  const publishing = e.publish('main');
  await tick();
  assert.deepEqual(seen, ['1 in'], 'the second waits for the first');
  first.resolve();
  assert.deepEqual(await within(publishing, 'publish'), [1, 2]);
  assert.deepEqual(seen, ['1 in', '1 out', '2']);
});

test("'log' listeners get the message and a level; unsubscribe removes a listener", async () => {
  const e = new Engine();
  const lines: [string, number][] = [];
  const listener = (message: string, level: number): void => { lines.push([message, level]); };
  e.subscribe('log', listener);
  await e.publish('log', 'hello', 30);
  e.unsubscribe('log', listener);
  e.subscribe('log', () => {});
  await e.publish('log', 'not seen', 30);
  assert.deepEqual(lines, [['hello', 30]]);
});

test('a plugin: its methods named after channels are subscribed, bound to it, with its priority (one number or per channel)', async () => {
  const e = new Engine();
  const seen: string[] = [];
  class Counter implements EnginePlugin {
    starts = 0;
    priority = { start: 10, stop: 90 };
    start(): void { this.starts++; seen.push('counter start'); }
    stop(): void { seen.push('counter stop'); }
  }
  const counter = e.use(new Counter());
  e.use({ priority: 20, start() { seen.push('other start'); }, stop() { seen.push('other stop'); } });
  e.subscribe('start', () => { seen.push('bare start'); }, 15);
  await e.start();
  assert.equal(e.state, 'started');
  assert.equal(counter.starts, 1, 'bound to the plugin');
  await e.stop();
  assert.equal(e.state, 'stopped');
  assert.deepEqual(seen, ['counter start', 'bare start', 'other start', 'other stop', 'counter stop']);
  e.unuse(counter);
  seen.length = 0;
  await e.start();
  assert.deepEqual(seen, ['bare start', 'other start']);
});

test('a start listener that fails: the plugins that started are stopped, latest first, start() rejects with the error, state stopped', async () => {
  const { engine: e } = quiet();
  const seen: string[] = [];
  const plugin = (name: string, priority: number): EnginePlugin => ({
    priority,
    start() { seen.push(`${name} start`); },
    async stop() { await tick(); seen.push(`${name} stop`); },
  });
  e.use(plugin('a', 10));
  e.use(plugin('b', 20));
  const boom = new Error('port taken');
  e.use({ priority: 30, start() { throw boom; }, stop() { seen.push('failed one stopped'); } });
  e.use(plugin('never', 40));
  const states: string[] = [];
  e.subscribe('start', () => { states.push(e.state); }, 0);
  await assert.rejects(e.start(), (err) => err === boom);
  assert.equal(e.state, 'stopped');
  assert.deepEqual(states, ['starting']);
  assert.deepEqual(seen, ['a start', 'b start', 'b stop', 'a stop']);
});

test('stop runs every listener even when one fails, and rethrows the first error', async () => {
  const { engine: e } = quiet();
  const seen: string[] = [];
  const first = new Error('first');
  e.subscribe('stop', () => { seen.push('1'); throw first; }, 10);
  e.subscribe('stop', async () => { seen.push('2'); throw new Error('second'); }, 20);
  e.subscribe('stop', () => { seen.push('3'); }, 30);
  await e.start();
  const states: string[] = [];
  e.subscribe('stop', () => { states.push(e.state); }, 0);
  await assert.rejects(e.stop(), (err) => err === first);
  assert.deepEqual(seen, ['1', '2', '3']);
  assert.deepEqual(states, ['stopping']);
  assert.equal(e.state, 'stopped');
});

test('a stop listener that hangs is cut at the engine stop timeout and logged; the others still run', async () => {
  const { engine: e, logs } = quiet(50);
  const seen: string[] = [];
  e.subscribe('stop', function hangs() { return new Promise(() => {}); }, 10);
  e.subscribe('stop', () => { seen.push('after'); }, 20);
  await e.start();
  await within(e.stop(), 'stop past a hanging listener');
  assert.equal(e.state, 'stopped');
  assert.deepEqual(seen, ['after']);
  assert.equal(logs.length, 1);
  assert.match(logs[0]!, /stop listener \(hangs\) did not finish in 50 ms/);
});

test('exit stops a started engine, publishes exit, and resolves block()', async () => {
  const e = new Engine();
  const seen: string[] = [];
  e.use({ start() { seen.push('start'); }, stop() { seen.push('stop'); }, exit() { seen.push(`exit while ${e.state}`); } });
  await e.start();
  let blocked = false;
  const blocking = e.block().then(() => { blocked = true; });
  await tick();
  assert.equal(blocked, false);
  await e.exit();
  await within(blocking, 'block() after exit');
  assert.equal(e.state, 'exiting');
  assert.deepEqual(seen, ['start', 'stop', 'exit while exiting']);
  await e.exit();
  assert.equal(seen.length, 3, 'a second exit does nothing');
  await assert.rejects(e.start(), /engine\.start\(\) while the engine is exiting/);
});

test('start() while started does nothing; graceful publishes graceful', async () => {
  const e = new Engine();
  let starts = 0;
  let gracefuls = 0;
  e.use({ start() { starts++; }, graceful() { gracefuls++; } });
  await e.start();
  await e.start();
  await e.graceful();
  assert.equal(starts, 1);
  assert.equal(gracefuls, 1);
});

/** Whether a TCP connection to the port is refused. */
function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => { socket.destroy(); resolve(false); });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED'));
  });
}

test('two apps on two ports, started and stopped together by one engine', async (t) => {
  const e = new Engine();
  const options = { host: '127.0.0.1', port: 0, config: { environment: 'test' as const } };
  const one = e.use(serverPlugin(new App({ index: exposed(() => 'one') }), options));
  const two = e.use(serverPlugin(new App({ index: exposed(() => 'two') }), options));
  t.after(() => e.stop());
  assert.equal(one.running, undefined, 'nothing listens before start');
  await e.start();
  const a = one.running!;
  const b = two.running!;
  assert.notEqual(a.port, b.port);
  assert.equal((await get(a.url + '/')).text, 'one');
  assert.equal((await get(b.url + '/')).text, 'two');
  await within(e.stop(), 'engine stop');
  assert.equal(one.running, undefined);
  assert.equal(await refused(a.port), true, 'the first port refuses connections');
  assert.equal(await refused(b.port), true, 'the second port refuses connections');
});

test('a server that cannot listen fails start(); the server that started before it is closed', async (t) => {
  const { engine: e } = quiet();
  const options = { host: '127.0.0.1', port: 0, config: { environment: 'test' as const } };
  const first = e.use(serverPlugin(new App({ index: exposed(() => 'first') }), options));
  let port = 0;
  e.subscribe('start', () => { port = first.running!.port; }, 60);
  // The second wants the port the first holds.
  const second = { plugin: serverPlugin(new App({}), options) };
  e.use({ priority: 70, start: () => { second.plugin = serverPlugin(new App({}), { ...options, port }); return second.plugin.start(); }, stop: () => second.plugin.stop() });
  t.after(() => e.stop());
  await assert.rejects(e.start(), /EADDRINUSE/);
  assert.equal(e.state, 'stopped');
  assert.equal(first.running, undefined);
  assert.equal(await refused(port), true);
});

test('stop() or exit() while starting waits for the start to end, then stops; a second start() while starting is the same start', async () => {
  const e = new Engine();
  const seen: string[] = [];
  const gate = deferred();
  e.use({ async start() { seen.push('start'); await gate.promise; seen.push('started'); }, stop() { seen.push('stop'); } });
  const starting = e.start();
  const again = e.start();
  const stopping = e.stop();
  const exiting = e.exit();
  await tick();
  assert.equal(e.state, 'starting');
  gate.resolve();
  await within(Promise.all([starting, again, stopping, exiting, e.block()]), 'start, stop and exit');
  assert.equal(e.state, 'exiting');
  assert.deepEqual(seen, ['start', 'started', 'stop']);
});

test('a hanging stop while undoing a failed start is cut at the timeout too', async () => {
  const { engine: e, logs } = quiet(50);
  e.use({ priority: 10, start() {}, stop: () => new Promise(() => {}) });
  e.use({ priority: 20, start() { throw new Error('nope'); } });
  await within(assert.rejects(e.start(), /nope/), 'start rejects');
  assert.equal(e.state, 'stopped');
  assert.ok(logs.some((line) => /did not finish in 50 ms/.test(line)), logs.join('\n'));
});
