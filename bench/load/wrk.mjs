// One wrk run (Debian's wrk), bounded in time, and what the bench scripts read from its report.
import { spawn } from 'node:child_process';

/**
 * Run `wrk -t1 -c<connections> -d<seconds>s` against `url` (with a Lua `script` and its arguments
 * when given), on core 0 when `pin` (taskset). The child is in `live` while it runs, so a script's
 * SIGINT handler can kill it; it is killed if it outlives its run by 15 s.
 * Resolves with { requests, rps, non2xx, errors }; rejects when wrk printed no rate.
 */
export function runWrk({ url, connections, seconds, script, scriptArgs = [], env, pin = false, live }) {
  const args = ['-t1', `-c${connections}`, `-d${seconds}s`, '--timeout', '5s', ...(script ? ['-s', script] : []), url, ...(scriptArgs.length ? ['--', ...scriptArgs] : [])];
  const [cmd, argv] = pin ? ['taskset', ['-c', '0', 'wrk', ...args]] : ['wrk', args];
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, argv, { env: env ?? process.env });
    live?.add(child);
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    const t = setTimeout(() => child.kill('SIGKILL'), (seconds + 15) * 1000);
    child.on('error', reject);
    child.on('exit', () => {
      live?.delete(child);
      clearTimeout(t);
      const requests = Number(/(\d+) requests in/.exec(out)?.[1]);
      const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
      const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
      const errors = /Socket errors: (.*)/.exec(out)?.[1];
      if (!Number.isFinite(rps) || !Number.isFinite(requests)) reject(new Error(`wrk: ${(err || out).trim().slice(0, 160)}`));
      else resolve({ requests, rps, non2xx, errors });
    });
  });
}
