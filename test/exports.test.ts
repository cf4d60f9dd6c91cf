// The public surface, pinned: a change to it must be deliberate (edit the list here in the same change).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { HTTPErrorStatus } from '../src/index.js';

/** The repository root (this file runs from build/test/, its source lives in test/). */
function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    assert.notEqual(up, dir, 'package.json not found above the test');
    dir = up;
  }
  return dir;
}
const ROOT = repoRoot();

/** Runtime exports of `drupe` (src/index.ts), sorted. Types are not runtime exports and are not listed. */
const INDEX_EXPORTS = [
  'App',
  'BodyTypeError',
  'DrupeError',
  'Engine',
  'FileBody',
  'HOOK_POINTS',
  'HTTPError',
  'HTTPRedirect',
  'Headers',
  'HeadersSentError',
  'InternalRedirect',
  'JsonBody',
  'MethodDispatcher',
  'NotFound',
  'ObjectDispatcher',
  'Request',
  'RequestAbortedError',
  'Response',
  'SessionLockTimeoutError',
  'SessionStoreUnavailableError',
  'SessionTooLargeError',
  'SseBody',
  'StreamBody',
  'Tree',
  'UploadedFile',
  'ValidationError',
  'WorkerCrashLoopError',
  'WorkerStartError',
  'abortable',
  'acceptedMedia',
  'defineTool',
  'engine',
  'errorCodes',
  'expose',
  'exposed',
  'fileStore',
  'formatEvent',
  'json',
  'loadConfig',
  'parseConfig',
  'quickstart',
  'ramStore',
  'redisStore',
  'runAsWorker',
  'serve',
  'serveFile',
  'serveStream',
  'serverPlugin',
  'sleep',
  'sse',
  'workerFailed',
  'workerPool',
];

/** Runtime exports of `drupe/testing` (src/testing.ts), sorted. */
const TESTING_EXPORTS = [
  'h2Connect',
  'h2Request',
  'parseEventStream',
  'parseResponses',
  'parseResponsesDetailed',
  'rawRequest',
  'streamRequest',
];

test('src/index.ts exports exactly the pinned runtime names', async () => {
  const mod = (await import('../src/index.js')) as Record<string, unknown>;
  const names = Object.keys(mod).sort();
  assert.deepEqual(names, INDEX_EXPORTS, 'the public surface changed: update INDEX_EXPORTS (and the docs) if that is deliberate');
  for (const name of names) assert.notEqual(mod[name], undefined, name);
});

test('src/testing.ts (drupe/testing) exports exactly the pinned runtime names', async () => {
  const mod = (await import('../src/testing.js')) as Record<string, unknown>;
  assert.deepEqual(Object.keys(mod).sort(), TESTING_EXPORTS);
});

test('the names the docs pin for issue 2 are all exported', async () => {
  const mod = (await import('../src/index.js')) as Record<string, unknown>;
  for (const name of ['App', 'serve', 'quickstart', 'expose', 'exposed', 'HTTPError', 'NotFound', 'HTTPRedirect', 'InternalRedirect', 'HeadersSentError', 'json']) {
    assert.equal(typeof mod[name], 'function', name);
  }
});

test('the types a user names are exported too (a compile-time pin: this file does not type-check without them)', async () => {
  const { HTTPError } = await import('../src/index.js');
  const statuses: HTTPErrorStatus[] = [410, "410 Gone fishin'"];
  assert.deepEqual(statuses.map((s) => new HTTPError(s).status), [410, 410]);
});

test('package.json exports point at the built entry points', () => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
    name: string; type: string; exports: Record<string, { types: string; default: string }>;
  };
  assert.equal(pkg.name, 'drupe');
  assert.equal(pkg.type, 'module');
  assert.deepEqual(pkg.exports['.'], { types: './dist/index.d.ts', default: './dist/index.js' });
  assert.deepEqual(pkg.exports['./testing'], { types: './dist/testing.d.ts', default: './dist/testing.js' });
});

// ---------------------------------------------------------------------------
// errorCodes ↔ docs/errors.md ↔ the source

const CODE = /DRUPE_ERR_[A-Z0-9_]+/g;

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sourceFiles(p));
    else if (entry.name.endsWith('.ts')) out.push(p);
  }
  return out;
}

test('every code in errorCodes is documented in docs/errors.md, and every documented code exists', async () => {
  const { errorCodes } = await import('../src/index.js');
  const doc = readFileSync(join(ROOT, 'docs', 'errors.md'), 'utf8');
  const documented = new Set(doc.match(CODE) ?? []);
  const known = new Set<string>(errorCodes);
  assert.equal(known.size, errorCodes.length, 'no duplicates in errorCodes');
  for (const code of known) assert.ok(documented.has(code), `${code} is missing from docs/errors.md`);
  for (const code of documented) assert.ok(known.has(code), `docs/errors.md documents ${code}, which errorCodes does not have`);
  // Each code has its own section.
  const headings = new Set([...doc.matchAll(/^## (DRUPE_ERR_[A-Z0-9_]+)\s*$/gm)].map((m) => m[1]!));
  assert.deepEqual([...headings].sort(), [...known].sort(), 'one "## CODE" section per code');
});

test('every DRUPE_ERR_ code used in src/ is in errorCodes', async () => {
  const { errorCodes } = await import('../src/index.js');
  const known = new Set<string>(errorCodes);
  const srcDir = join(ROOT, 'src');
  for (const file of sourceFiles(srcDir)) {
    for (const code of readFileSync(file, 'utf8').match(CODE) ?? []) {
      assert.ok(known.has(code), `${code} (in ${file.slice(ROOT.length + 1)}) is not in errorCodes`);
    }
  }
});

test('each DRUPE_ERR_ code belongs to one class: a code a class owns is never given to a DrupeError', () => {
  const texts = sourceFiles(join(ROOT, 'src')).map((f) => readFileSync(f, 'utf8'));
  const owned = new Set(texts.flatMap((t) => [...t.matchAll(/readonly code = '(DRUPE_ERR_[A-Z0-9_]+)'/g)].map((m) => m[1]!)));
  assert.ok(owned.has('DRUPE_ERR_HEADERS_SENT') && owned.has('DRUPE_ERR_BODY_TYPE'), [...owned].join(', '));
  const given = new Set(texts.flatMap((t) => [...t.matchAll(/new DrupeError\(\s*'(DRUPE_ERR_[A-Z0-9_]+)'/g)].map((m) => m[1]!)));
  assert.deepEqual([...owned].filter((code) => given.has(code)), []);
});
