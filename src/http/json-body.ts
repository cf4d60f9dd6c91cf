import { HTTPError } from '../lib/errors.js';

/** `request.max_json_depth` when a route does not set it. */
export const DEFAULT_MAX_JSON_DEPTH = 100;
/**
 * The highest `request.max_json_depth` accepted: code that walks a parsed
 * value recursively (JSON.stringify among it) must not run out of stack on
 * what the limit lets through.
 */
export const MAX_JSON_DEPTH_LIMIT = 1000;

const OPEN_OBJECT = 0x7b; // {
const OPEN_ARRAY = 0x5b; // [
const CLOSE_OBJECT = 0x7d; // }
const CLOSE_ARRAY = 0x5d; // ]
const QUOTE = 0x22; // "
const BACKSLASH = 0x5c; // \

/**
 * How deep the objects and arrays of JSON text nest, counted by a single
 * loop over the text (brackets inside strings do not count), stopping as
 * soon as it passes `limit`. JSON.parse itself copes with any depth, but
 * whatever walks the value afterwards — Drupe's params, a handler's own
 * code — may recurse: the text is refused before a value is built.
 * Invalid JSON may be miscounted; JSON.parse refuses it anyway.
 */
export function jsonDepthExceeds(text: string, limit: number): boolean {
  // Each level takes at least one character: shorter text cannot go deeper than the limit.
  if (text.length <= limit) return false;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) {
      inString = true;
    } else if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      if (++depth > limit) return true;
    } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
      depth--;
    }
  }
  return false;
}

/** JSON text parsed: a 400 when it is invalid or nests deeper than `maxDepth`. */
export function parseJsonBody(text: string, maxDepth: number): unknown {
  if (jsonDepthExceeds(text, maxDepth)) {
    throw new HTTPError(400, `JSON in request body nested too deeply (limit ${maxDepth} levels, request.max_json_depth)`);
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new HTTPError(400, 'Invalid JSON in request body');
  }
}
