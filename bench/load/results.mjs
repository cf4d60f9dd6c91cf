// What every bench script shares around its run: its --name=value options, and where its report goes.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const BENCH = new URL('..', import.meta.url).pathname;
const ROOT = join(BENCH, '..');

/**
 * `--name=value` options over `defaults` (numbers unless the default is a string); an unknown
 * one ends the run, naming what the script (`script`) takes.
 */
export function parseOptions(script, defaults, argv) {
  const opts = { ...defaults };
  for (const a of argv) {
    const m = /^--([\w-]+)=(.*)$/.exec(a);
    if (!m || !(m[1] in opts)) {
      console.error(`${script}: unknown option ${a} (options: ${Object.keys(opts).map((k) => `--${k}=`).join(' ')})`);
      process.exit(1);
    }
    opts[m[1]] = typeof defaults[m[1]] === 'string' ? m[2] : Number(m[2]);
  }
  return opts;
}

/**
 * Write a report to bench/results/<date>-<name>.md; a second run the same day gets -2, -3, …:
 * results already written (and perhaps quoted) stay as they are. Returns the file's path.
 */
export function writeResults(name, markdown) {
  const stem = join(BENCH, 'results', `${new Date().toISOString().slice(0, 10)}-${name}`);
  let file = `${stem}.md`;
  for (let n = 2; existsSync(file); n++) file = `${stem}-${n}.md`;
  mkdirSync(join(BENCH, 'results'), { recursive: true });
  writeFileSync(file, markdown);
  console.log(`wrote ${file.slice(ROOT.length + 1)}`);
  return file;
}
