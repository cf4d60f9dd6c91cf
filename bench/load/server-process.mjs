// Starting a server process for a run: a free port on 127.0.0.1, then wait for its "ready" line.
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer().listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
    s.on('error', reject);
  });
}

/**
 * Spawn `cmd args` and resolve once it prints "ready" on stdout; `live` holds it while it runs
 * (so the run can kill what is left). A server that exits or stays silent for `timeoutMs` is
 * killed and the promise rejects with the most telling line of its stderr.
 */
export async function spawnReady(cmd, args, options, live, timeoutMs) {
  const child = spawn(cmd, args, options);
  live.add(child);
  child.on('exit', () => live.delete(child));
  let out = '';
  let err = '';
  child.stderr.on('data', (d) => { err = (err + d).slice(-2000); });
  const ok = await new Promise((resolve) => {
    const t = setTimeout(() => resolve(`no "ready" within ${timeoutMs / 1000} s`), timeoutMs);
    child.stdout.on('data', (d) => { out += d; if (out.includes('ready')) { clearTimeout(t); resolve(true); } });
    child.on('exit', (code) => { clearTimeout(t); resolve(`exited with ${code}`); });
  });
  if (ok !== true) {
    child.kill('SIGKILL');
    const lines = err.split('\n');
    const why = lines.find((l) => /^\w*Error\b.*:/.test(l)) ?? lines.find((l) => /Error|error:/.test(l)) ?? lines.filter(Boolean).pop() ?? '';
    throw new Error(`server ${ok}${why ? `: ${why.trim().slice(0, 160)}` : ''}`);
  }
  return { child, stderr: () => err.trim().split('\n')[0] ?? '' };
}

/**
 * Stop a server: `signal` (SIGTERM lets it close gracefully), then SIGKILL if it is still up
 * `graceMs` later. Resolves once it has exited.
 */
export async function stopChild(child, signal = 'SIGTERM', graceMs = 5000) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise((r) => child.once('exit', r));
  child.kill(signal);
  const t = signal === 'SIGKILL' ? undefined : setTimeout(() => child.kill('SIGKILL'), graceMs);
  await gone;
  clearTimeout(t);
}
