import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, posix, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

// The layering rule of docs/architecture.md: a folder of src/ imports only
// from its own layer and the layers below it; no import cycle anywhere,
// type-only imports included.
const LAYERS = ['lib', 'http', 'body', 'core', 'sessions', 'tools', 'app', 'cli'] as const;
/** testing/ is a client: it stands beside the server's layers and may use only lib/. */
const TESTING_MAY_USE = new Set(['lib', 'testing']);

const SRC = fileURLToPath(new URL('../../src/', import.meta.url));

function sourceFiles(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) sourceFiles(path, out);
    else if (name.endsWith('.ts')) out.push(relative(SRC, path).split('\\').join('/'));
  }
  return out;
}

/** Every relative import of a file (static, type-only, side-effect and dynamic), as paths under src/. */
function importsOf(file: string): string[] {
  const text = readFileSync(join(SRC, file), 'utf8');
  const specs = [...text.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*)'(\.{1,2}\/[^']+)'/g)].map((m) => m[1]!);
  return specs.map((s) => posix.normalize(posix.join(posix.dirname(file), s)).replace(/\.js$/, '.ts'));
}

/** The layer a file belongs to: its folder, or 'entry' for the public entry points at the top. */
function layerOf(file: string): string {
  return file.includes('/') ? file.slice(0, file.indexOf('/')) : 'entry';
}

function mayImport(from: string, to: string): boolean {
  if (from === 'entry') return true;
  if (from === 'testing') return TESTING_MAY_USE.has(to);
  if (to === 'testing' || to === 'entry') return false;
  const a = LAYERS.indexOf(from as (typeof LAYERS)[number]);
  const b = LAYERS.indexOf(to as (typeof LAYERS)[number]);
  return a >= 0 && b >= 0 && b <= a;
}

const files = sourceFiles(SRC);
const graph = new Map(files.map((f) => [f, importsOf(f)]));

test('every folder of src/ is a known layer', () => {
  const unknown = files.map(layerOf).filter((l) => l !== 'entry' && l !== 'testing' && !(LAYERS as readonly string[]).includes(l));
  assert.deepEqual([...new Set(unknown)], []);
});

test('imports point down the layers, never up', () => {
  const wrong: string[] = [];
  for (const [file, targets] of graph) {
    for (const target of targets) {
      assert.ok(graph.has(target), `${file} imports ${target}, which is not a source file`);
      if (!mayImport(layerOf(file), layerOf(target))) wrong.push(`${file} -> ${target}`);
    }
  }
  assert.deepEqual(wrong, []);
});

test('no import cycle in src/, type-only imports included', () => {
  const cycles: string[] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (file: string): void => {
    state.set(file, 'open');
    stack.push(file);
    for (const next of graph.get(file) ?? []) {
      const s = state.get(next);
      if (s === 'open') cycles.push([...stack.slice(stack.indexOf(next)), next].join(' -> '));
      else if (s === undefined) visit(next);
    }
    stack.pop();
    state.set(file, 'done');
  };
  for (const file of files) if (!state.has(file)) visit(file);
  assert.deepEqual(cycles, []);
});

test('the checker itself sees an upward import and a cycle', () => {
  assert.equal(mayImport('http', 'core'), false);
  assert.equal(mayImport('core', 'http'), true);
  assert.equal(mayImport('testing', 'http'), false);
  assert.equal(mayImport('tools', 'app'), false);
  assert.equal(mayImport('app', 'cli'), false);
  assert.equal(mayImport('cli', 'app'), true);
  assert.ok(importsOf('index.ts').length > 0, 'the import scanner finds the entry point\'s imports');
});
