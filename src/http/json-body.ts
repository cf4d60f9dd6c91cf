import { HTTPError } from '../lib/errors.js';

/** `request.max_json_depth` when a route does not set it. */
export const DEFAULT_MAX_JSON_DEPTH = 100;
/**
 * The highest `request.max_json_depth` accepted: code that walks a parsed
 * value recursively (JSON.stringify among it) must not run out of stack on
 * what the limit lets through.
 */
export const MAX_JSON_DEPTH_LIMIT = 1000;

/**
 * Whether a parsed JSON value nests objects and arrays deeper than `limit`
 * (a scalar is depth 0; `[[1]]` is 2), stopping as soon as it passes: one
 * walk over the value's objects and arrays, recursing at most `limit + 1`
 * frames (the limit is at most MAX_JSON_DEPTH_LIMIT), never into strings.
 */
export function nestsDeeper(value: unknown, limit: number): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (limit === 0) return true;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      if (typeof item === 'object' && item !== null && nestsDeeper(item, limit - 1)) return true;
    }
    return false;
  }
  const obj = value as Record<string, unknown>;
  // JSON.parse makes plain objects whose keys are all own: for…in makes no array of them.
  for (const key in obj) {
    const item = obj[key];
    if (typeof item === 'object' && item !== null && nestsDeeper(item, limit - 1)) return true;
  }
  return false;
}

/**
 * Whether JSON text may hold a `__proto__` or `constructor` key: a key can
 * spell one only literally or through a `\u` escape (no other JSON escape
 * makes a letter or `_`). Three native scans of the text spare the
 * prototype-key guard's walk over every object of a body that cannot need it.
 */
export function mayNamePrototypeKey(text: string): boolean {
  return text.includes('__proto__') || text.includes('constructor') || text.includes('\\u');
}

/**
 * JSON text parsed: a 400 when it is invalid or nests deeper than `maxDepth`.
 * JSON.parse itself copes with any depth (V8's parser keeps no native stack per
 * level), so the depth is checked on the value it built, before anyone walks
 * it — four to five times cheaper than a loop over every character of the text. Each
 * level takes two characters (`[` and `]`): shorter text cannot pass the limit.
 */
export function parseJsonBody(text: string, maxDepth: number): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new HTTPError(400, 'Invalid JSON in request body');
  }
  if (text.length > 2 * maxDepth + 1 && nestsDeeper(value, maxDepth)) {
    throw new HTTPError(400, `JSON in request body nested too deeply (limit ${maxDepth} levels, request.max_json_depth)`);
  }
  return value;
}
