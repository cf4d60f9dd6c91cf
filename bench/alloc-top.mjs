// What a request allocates, by function: `node alloc-top.mjs profile.json N [TOP]` sums a sampling
// heap profile (load/alloc-sample.mjs) by the function that allocated (self bytes), divided by the
// N requests of the sampled window, largest first.
import { readFileSync } from 'node:fs';

const [file, n, top = '40'] = process.argv.slice(2);
const profile = JSON.parse(readFileSync(file, 'utf8'));
const sums = new Map();
let total = 0;
(function walk(node) {
  const f = node.callFrame;
  const self = node.selfSize ?? 0;
  if (self > 0) {
    const where = f.url ? `${f.url.replace(/^.*\/(node_modules|dist|servers)\//, '$1/')}:${f.lineNumber + 1}` : '(native)';
    const key = `${f.functionName || '(anonymous)'} ${where}`;
    sums.set(key, (sums.get(key) ?? 0) + self);
    total += self;
  }
  for (const c of node.children ?? []) walk(c);
})(profile.head);
console.log(`${(total / n).toFixed(0)} B a request sampled in all`);
for (const [k, v] of [...sums].sort((a, b) => b[1] - a[1]).slice(0, Number(top))) console.log(`${(v / n).toFixed(0).padStart(7)}  ${k}`);
