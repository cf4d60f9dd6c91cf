// Small tools shared by the file suites (file, range, conditional, staticdir, etags).
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ParsedResponse } from '../../src/testing.js';
import { headerNames } from './http.js';

/** A fresh temp directory, removed after the test. */
export function tempDir(t: { after(fn: () => unknown): void }, prefix = 'drupe-files-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Framed by Content-Length, with exactly the body's size, complete. */
export function assertLength(res: ParsedResponse, what: string): void {
  assert.equal(res.framing, 'content-length', `${what}: framing ${res.framing}\n${res.head}`);
  assert.equal(headerNames(res).filter((n) => n === 'content-length').length, 1, `${what}: one Content-Length`);
  assert.equal(Number(res.headers['content-length']), res.body.length, `${what}: Content-Length vs body`);
  assert.equal(res.complete, true, `${what}: complete`);
}

/** How many file descriptors this process has open (Linux), or undefined elsewhere. */
export function openFds(): number | undefined {
  try {
    return readdirSync('/proc/self/fd').length;
  } catch {
    return undefined;
  }
}

/** Poll until the open-fd count is back to at most `baseline` (a hang guard, not a timing). */
export async function fdsBackTo(baseline: number, ms = 5000): Promise<number> {
  const deadline = Date.now() + ms;
  for (;;) {
    const now = openFds()!;
    if (now <= baseline || Date.now() > deadline) return now;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
