// The demo site (examples/demo) for tests: in this process (startApp), or as `npm start` runs it,
// a real process on a free port with its own temp directory, stopped by PID when the test ends.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './server.js';
import { spawnNode, type Spawned } from './process.js';
import { within } from './async.js';

type After = { after(fn: () => unknown): void };

/** A directory for the demo to write in, removed when the test ends. */
export function demoDataDir(t: After): string {
  const dir = mkdtempSync(join(tmpdir(), 'drupe-demo-test-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export interface DemoProcess {
  readonly url: string;
  readonly process: Spawned;
  /** The temp directory the demo said it writes in. */
  readonly dataDir: string;
  /**
   * Stop it as a terminal does (SIGTERM): it exits 0 and has removed its data directory. (A test
   * that fails before this leaves the SIGKILL of spawnNode, and an empty temp directory.)
   */
  stop(): Promise<void>;
}

/** build/examples/demo/main.js, started as `npm start` starts it, with PORT set to a free port. */
export async function startDemo(t: After): Promise<DemoProcess> {
  const port = await freePort();
  const main = resolve(fileURLToPath(import.meta.url), '../../../examples/demo/main.js');
  const child = spawnNode(t, [main], { env: { ...process.env, PORT: String(port) }, lines: 'both' });
  const said = await child.line((l) => l.startsWith('demo: writing only in '), 'the demo\'s data directory');
  const dataDir = said.slice('demo: writing only in '.length).replace(/ \(.*$/, '');
  await child.line((l) => l.includes(`http://127.0.0.1:${port}`), 'the demo is listening');
  assert.ok(existsSync(dataDir), `the demo made ${dataDir}`);
  const stop = async (): Promise<void> => {
    child.child.kill('SIGTERM');
    assert.deepEqual(await within(child.exited, 'the demo to stop', 15_000), { code: 0, signal: null }, child.output());
    assert.equal(existsSync(dataDir), false, `the demo removed ${dataDir} as it stopped`);
  };
  return { url: `http://127.0.0.1:${port}`, process: child, dataDir, stop };
}
