// What both `ws` scenario servers share: on a "mem" line on stdin, collect garbage (the
// servers run with --expose-gc) and print the resident set size, so idle sockets are
// measured without the garbage of the load before.
import { createInterface } from 'node:readline';

export function answerMemory() {
  createInterface({ input: process.stdin }).on('line', (line) => {
    if (line !== 'mem') return;
    globalThis.gc?.();
    globalThis.gc?.();
    process.stdout.write(`rss ${process.memoryUsage().rss}\n`);
  });
}
