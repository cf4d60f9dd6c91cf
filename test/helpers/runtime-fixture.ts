// Real bun, deno and node processes running test/fixtures/runtime-server.mjs for the runtime
// suites (test/runtimes.test.ts, test/runtimes-protocols.test.ts): the command per runtime, a
// started fixture (its port, its lines, its stdin), and bounded reads of a streamed body.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';
import type { BodyChunk } from '../../src/testing.js';
import { waitFor, within } from './async.js';

export const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const FIXTURE = join(repo, 'test', 'fixtures', 'runtime-server.mjs');
const BIN = join(repo, 'node_modules', '.bin');
export const GUARD = 20_000;

export type RuntimeName = 'node' | 'bun' | 'deno';

/** The command that runs a fixture script with its arguments on each runtime. */
export function runtimeCommand(name: RuntimeName, script: string, args: string[], dir: string): [string, string[]] {
  if (name === 'node') return [process.execPath, [script, ...args]];
  if (name === 'bun') return [join(BIN, 'bun'), [script, ...args]];
  // Deno: node_modules beside package.json resolves busboy and mime-types; the permissions are
  // the ones Drupe needs: the loopback, the test's own dir, the environment (NODE_ENV and the
  // like) and the host name (the JSON log's "hostname").
  return [join(BIN, 'deno'), [
    'run', '--no-prompt', '--allow-env', '--allow-sys=hostname', '--allow-net=127.0.0.1',
    `--allow-read=${dir}`, `--allow-write=${dir}`, script, ...args,
  ]];
}

/** A fixture server on one runtime: its port, what it printed, and its stdin. */
export interface Fixture {
  port: number;
  child: ChildProcess;
  lines: string[];
  stderr(): string;
  send(command: string): void;
  /** Wait for a line, bounded. */
  line(text: string): Promise<void>;
  exited: Promise<number | null>;
}

export type Mode = 'serve' | 'fetch' | 'tree';

export async function startFixture(name: RuntimeName, mode: Mode, dir: string, extra: string[] = [], script = FIXTURE): Promise<Fixture> {
  const [cmd, args] = runtimeCommand(name, script, [dir, mode, ...extra], dir);
  // Deno's cache in the test's own dir, and no update check: the run writes and asks nothing elsewhere.
  const env = { ...process.env, NO_COLOR: '1', DENO_DIR: join(dir, 'deno-dir'), DENO_NO_UPDATE_CHECK: '1' };
  const child = spawn(cmd, args, { cwd: repo, stdio: ['pipe', 'pipe', 'pipe'], env });
  const lines: string[] = [];
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (c: string) => {
    out += c;
    let end;
    while ((end = out.indexOf('\n')) >= 0) {
      lines.push(out.slice(0, end));
      out = out.slice(end + 1);
    }
  });
  child.stderr!.setEncoding('utf8').on('data', (c: string) => { err += c; });
  const spawned = new Promise<void>((res, rej) => {
    child.once('spawn', res);
    child.once('error', (e) => rej(new Error(`${name} could not be started (${cmd}): ${e.message}`)));
  });
  const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
  try {
    return await listening(name, mode, child, lines, () => err, spawned, exited);
  } catch (e) {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
    throw e;
  }
}

/** Wait for the fixture to say it listens, and on which runtime. */
async function listening(
  name: RuntimeName, mode: Mode, child: ChildProcess, lines: string[], err: () => string,
  spawned: Promise<void>, exited: Promise<number | null>,
): Promise<Fixture> {
  await within(spawned, `${name} to start`, GUARD);
  const fixture: Fixture = {
    port: 0, child, lines,
    stderr: err,
    send: (command) => { child.stdin!.write(`${command}\n`); },
    line: (text) => waitFor(() => lines.includes(text) || child.exitCode !== null, `"${text}" from ${name}`, GUARD).then(() => {
      if (!lines.includes(text)) throw new Error(`${name} exited before "${text}"; stderr:\n${err()}`);
    }),
    exited,
  };
  await waitFor(() => lines.some((l) => l.startsWith('listening ')) || child.exitCode !== null, `${name} to listen`, GUARD);
  const said = lines.find((l) => l.startsWith('listening '));
  if (said === undefined) throw new Error(`${name} exited before listening; stderr:\n${err()}`);
  fixture.port = Number(said.slice('listening '.length));
  assert.ok(lines.includes(`runtime ${name} ${mode}`), `the fixture runs on ${name} (${mode}): ${lines.join(', ')}`);
  return fixture;
}

/** The next body chunk, bounded. */
export async function nextChunk(it: AsyncIterator<BodyChunk>, what: string): Promise<string> {
  const r = await within(it.next(), what, GUARD);
  assert.equal(r.done, false, `${what}: the body ended`);
  return r.value.data.toString('latin1');
}

/** Read chunks until their text holds `text` (chunk boundaries are the runtime's). */
export async function readUntil(it: AsyncIterator<BodyChunk>, text: string, what: string): Promise<string> {
  let got = '';
  for (let i = 0; i < 100 && !got.includes(text); i++) got += await nextChunk(it, what);
  return got;
}


/** A ws client, open (bounded), with every message it got from the first (one may come with the 101); `ca` for wss. */
export function openWebSocket(url: string, ca?: string): Promise<{ ws: WebSocket; got: Array<[string, boolean]>; closed: Promise<{ code: number; reason: string }> }> {
  const ws = new WebSocket(url, ca === undefined ? {} : { ca });
  const got: Array<[string, boolean]> = [];
  ws.on('message', (data: Buffer, isBinary: boolean) => got.push([data.toString('latin1'), isBinary]));
  const closed = wsClosed(ws);
  return within(new Promise((resolve, reject) => {
    ws.once('open', () => resolve({ ws, got, closed }));
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`the upgrade got ${res.statusCode}`)));
  }), `open ${url}`, GUARD);
}

/** How the socket closed (the server's code, or its answer to the client's); await it with `within`. */
function wsClosed(ws: WebSocket): Promise<{ code: number; reason: string }> {
  return new Promise((resolve) => ws.once('close', (code: number, reason: Buffer) => resolve({ code, reason: reason.toString() })));
}

/**
 * WebSocket through serve() on a runtime: echo (text stays text, binary stays binary), no
 * message lost that comes right after the handshake, the client's close code reaching the handler with request.signal aborted, the server's close code
 * reaching the client, a message over websocket.max_message_size closed with 1009.
 */
export async function checkWebSocket(fx: Fixture, base: string, ca?: string): Promise<void> {
  const { ws, got, closed } = await openWebSocket(`${base}/wsecho`, ca);
  ws.send('héllo');
  ws.send(Buffer.from([0, 1, 2, 255]));
  await waitFor(() => got.length === 2, 'two echoes', GUARD);
  assert.deepEqual(got, [[Buffer.from('héllo').toString('latin1'), false], ['\x00\x01\x02\xff', true]]);
  ws.close(4000, 'client says bye');
  assert.equal((await within(closed, 'the close', GUARD)).code, 4000);
  await fx.line('ws closed 4000 client says bye aborted=true');

  // A message sent the moment the socket opens is echoed too, every time: Deno delivers socket
  // data from promise jobs, and a listener attached after an await lost one in five.
  for (let i = 0; i < 20; i++) {
    const quick = await openWebSocket(`${base}/wsecho`, ca);
    quick.ws.send(`quick ${i}`);
    await waitFor(() => quick.got.length === 1, `the echo of quick ${i}`, GUARD);
    assert.deepEqual(quick.got, [[`quick ${i}`, false]]);
    quick.ws.close(1000);
    await within(quick.closed, 'the close', GUARD);
  }

  const bye = await openWebSocket(`${base}/bye`, ca);
  assert.deepEqual(await within(bye.closed, 'the server\'s close', GUARD), { code: 4001, reason: 'server says bye' });
  assert.deepEqual(bye.got, [['bye', false]]);

  const small = await openWebSocket(`${base}/small`, ca);
  small.ws.send('x'.repeat(17));
  assert.equal((await within(small.closed, 'the close for a message too large', GUARD)).code, 1009);
  await waitFor(() => fx.lines.some((l) => l.startsWith('ws closed 1009 ') && l.endsWith(' aborted=true')), 'the handler to see 1009', GUARD);
}
