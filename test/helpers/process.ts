// A child process a test starts and watches line by line: the real-process tests (signals,
// workers, the drupe command) wait for what it prints, and it is killed by PID when the test ends.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { within } from './async.js';

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface Spawned {
  readonly child: ChildProcess;
  /** Resolves with the exit code and signal. */
  readonly exited: Promise<Exit>;
  /** The same, once its output is all read too (node's 'close': the pipes may hold the last lines at 'exit'). */
  readonly closed: Promise<Exit>;
  stdout(): string;
  stderr(): string;
  /** Every line so far, from the streams `lines` names, in the order they came. */
  output(): string;
  /**
   * Resolves with the first line (already printed or to come) that `match` accepts; rejects,
   * naming `what`, when the process exits first or after `ms`.
   */
  line(match: (line: string) => boolean, what: string, ms?: number): Promise<string>;
}

export interface SpawnOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Its own process group, so a test can signal the group as a terminal does. */
  detached?: boolean;
  /** Which streams `line()` reads: stdout alone (the default) or stdout and stderr. */
  lines?: 'stdout' | 'both';
  /** Another program than this node (bun, deno): `args` are then its whole command line. */
  program?: string;
}

/** Start `node args…` (or `program args…`); it is killed (SIGKILL) when the test ends if it is still running. */
export function spawnNode(t: { after(fn: () => unknown): void }, args: readonly string[], options: SpawnOptions = {}): Spawned {
  const child = spawn(options.program ?? process.execPath, args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    detached: options.detached ?? false,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<Exit>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  const closed = new Promise<Exit>((resolve) => {
    child.once('close', (code, signal) => resolve({ code, signal }));
  });
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
  });
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (c: string) => { out += c; });
  child.stderr!.setEncoding('utf8').on('data', (c: string) => { err += c; });
  const lines: string[] = [];
  const waiters = new Set<() => void>();
  for (const stream of options.lines === 'both' ? [child.stdout!, child.stderr!] : [child.stdout!]) {
    createInterface({ input: stream }).on('line', (l) => {
      lines.push(l);
      for (const w of [...waiters]) w();
    });
  }
  const output = (): string => lines.join('\n');
  const line = (match: (l: string) => boolean, what: string, ms = 15_000): Promise<string> => within(new Promise<string>((resolve, reject) => {
    const check = (): void => {
      const found = lines.find(match);
      if (found !== undefined) { waiters.delete(check); resolve(found); }
    };
    waiters.add(check);
    check();
    void exited.then(({ code, signal }) => {
      // The pipes may still hold the last lines when 'exit' fires.
      setTimeout(() => {
        check();
        if (waiters.delete(check)) reject(new Error(`the process exited (${code ?? signal}) before ${what}; stdout: ${out}; stderr: ${err}`));
      }, 100);
    });
  }), what, ms);
  return { child, exited, closed, stdout: () => out, stderr: () => err, output, line };
}
