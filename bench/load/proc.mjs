// What /proc tells about the server process: CPU time and resident memory.
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

let ticks = 100;
try { ticks = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100; } catch {}

/** utime + stime of the process (all its threads), in microseconds. */
export function cpuMicros(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the ")" that closes the command name: state is field 3.
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1e6) / ticks; // fields 14 and 15
}

/** Resident set size in KiB. */
export function rssKiB(pid) {
  const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

export function args(argv = process.argv.slice(2)) {
  const out = {};
  for (const a of argv) {
    const m = /^--([^=]+)=(.*)$/.exec(a);
    if (m) out[m[1]] = Number.isNaN(Number(m[2])) ? m[2] : Number(m[2]);
  }
  return out;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
