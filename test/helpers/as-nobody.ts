// Permission tests as root: root reads everything, so a child Node process
// running as `nobody` serves the app and the test asks it over a socket.
import { spawn } from 'node:child_process';
import { chmodSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { TestContext } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const NOBODY = 65534;

/** Whether a user that is neither owner nor in the group may traverse to `path` and read it (the mode bits for "other"). */
function otherMayRead(path: string): boolean {
  try {
    if ((statSync(path).mode & 0o004) === 0) return false;
    for (let dir = dirname(path); ; dir = dirname(dir)) {
      if ((statSync(dir).mode & 0o001) === 0) return false;
      if (dirname(dir) === dir) return true;
    }
  } catch {
    return false;
  }
}

export interface NobodyServer {
  port: number;
  uid: number;
  /** What the child's `facts` held when it was listening (checked as nobody). */
  facts: Record<string, unknown>;
}

/**
 * Serve an app as nobody. `body` is module code that sees drupe's exports
 * as `drupe`, its arguments as `args`, and must assign `app`; it may fill
 * `facts`. The script is written into `dir` (which nobody must be able to
 * read). Null, with the test skipped, when nobody could not load Drupe.
 */
export async function serveAsNobody(t: TestContext, dir: string, body: string, args: string[] = []): Promise<NobodyServer | null> {
  const index = fileURLToPath(new URL('../../src/index.js', import.meta.url));
  if (!otherMayRead(index)) {
    t.skip(`running as root, and ${index} is not readable by nobody (uid ${NOBODY}) to run the server as that user`);
    return null;
  }
  const script = join(dir, 'server-as-nobody.mjs');
  writeFileSync(script, [
    `import * as drupe from ${JSON.stringify(pathToFileURL(index).href)};`,
    `const args = process.argv.slice(2);`,
    `const facts = {};`,
    `let app;`,
    body,
    `const running = await drupe.serve(app, { host: '127.0.0.1', port: 0, config: { environment: 'test' } });`,
    `process.stdout.write(JSON.stringify({ port: running.port, uid: process.getuid(), facts }) + '\\n');`,
    `// The parent gone (its end of stdin closed): stop.`,
    `process.stdin.on('end', () => process.exit(0));`,
    `process.stdin.resume();`,
  ].join('\n'));
  chmodSync(script, 0o644);
  const child = spawn(process.execPath, [script, ...args], { uid: NOBODY, gid: NOBODY, cwd: dir, stdio: ['pipe', 'pipe', 'pipe'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  t.after(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill();
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000).unref())]);
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (s: string) => { stderr += s; });
  return new Promise<NobodyServer>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`the child server did not start in 20 s\n${stderr}`)), 20_000);
    const fail = (why: string) => { clearTimeout(timer); reject(new Error(`${why}\n${stderr}`)); };
    child.once('error', (err) => fail(`spawn failed: ${err.message}`));
    child.once('exit', (code, signal) => fail(`the child server exited (${code ?? signal}) before it listened`));
    child.stdout.setEncoding('utf8').on('data', (s: string) => {
      out += s;
      const nl = out.indexOf('\n');
      if (nl === -1) return;
      clearTimeout(timer);
      resolve(JSON.parse(out.slice(0, nl)) as NobodyServer);
    });
  });
}
