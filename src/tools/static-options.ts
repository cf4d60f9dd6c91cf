import { extname } from 'node:path';
import { checkHeaderValue } from '../http/headers.js';
import { optionError } from '../core/tool.js';

// The options tools.staticdir and tools.staticfile share, checked and compiled by both `prepare`s.

/** A `match` option: a regular expression source, compiled once; null for '' (matches all). */
export function compileMatch(tool: string, source: string): RegExp | null {
  if (typeof source !== 'string') throw optionError(tool, 'match', 'a regular expression (a source string)', source);
  if (source === '') return null;
  try {
    return new RegExp(source);
  } catch (err) {
    throw optionError(tool, 'match', `a regular expression (${(err as Error).message})`, source);
  }
}

/** A `content_types` option as extension (lower case, no dot) → Content-Type. */
export function contentTypes(tool: string, types: Readonly<Record<string, string>>): ReadonlyMap<string, string> {
  if (typeof types !== 'object' || types === null || Array.isArray(types)) throw optionError(tool, 'content_types', 'an object of extension → Content-Type', types);
  const out = new Map<string, string>();
  for (const key of Object.keys(types)) {
    const value: unknown = types[key];
    let ok = typeof value === 'string' && value !== '';
    if (ok) {
      try {
        checkHeaderValue('Content-Type', value as string);
      } catch {
        ok = false;
      }
    }
    if (!ok) throw optionError(tool, 'content_types', `a Content-Type value for ${JSON.stringify(key)}`, value);
    out.set((key.startsWith('.') ? key.slice(1) : key).toLowerCase(), value as string);
  }
  return out;
}

/** The Content-Type `content_types` gives a file name, if any. */
export function typeFor(types: ReadonlyMap<string, string>, name: string): string | undefined {
  if (types.size === 0) return undefined;
  const ext = extname(name).slice(1).toLowerCase();
  return ext === '' ? undefined : types.get(ext);
}
