// The demo site (examples/demo) for tests: in this process (startApp), or as `npm start` runs it,
// a real process on a free port with its own temp directory, stopped by PID when the test ends.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './server.js';
import { spawnNode, type Spawned } from './process.js';

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
}

/** build/examples/demo/main.js, started as `npm start` starts it, with PORT set to a free port. */
export async function startDemo(t: After): Promise<DemoProcess> {
  const port = await freePort();
  const main = resolve(fileURLToPath(import.meta.url), '../../../examples/demo/main.js');
  const child = spawnNode(t, [main], { env: { ...process.env, PORT: String(port) }, lines: 'both' });
  await child.line((l) => l.includes(`http://127.0.0.1:${port}`), 'the demo is listening');
  return { url: `http://127.0.0.1:${port}`, process: child };
}
