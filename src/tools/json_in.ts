import { kOwnParams, type Context } from '../http/request.js';
import { HTTPError } from '../lib/errors.js';
import { mediaType } from '../lib/media-type.js';
import type { ParamValue } from '../http/request.js';
import { optionError, type ToolBehaviour } from '../core/tool.js';

export interface JsonInOptions {
  /** Media types read as JSON (exact match, case-insensitive, parameters ignored). */
  content_type: readonly string[];
  /** Refuse (415) a request body of any other type; false lets it through untouched. */
  force: boolean;
  /** Merge the keys of a JSON object body into `params` (CherryPy's behaviour). */
  to_params: boolean;
}

/** The options worked out once per route: the media types as a set, and the 415's message. */
interface JsonIn {
  readonly types: ReadonlySet<string>;
  readonly refusal: string;
  readonly force: boolean;
  readonly toParams: boolean;
}

/** A JSON value as a parameter: params hold strings, as a query string would give them. */
function asParam(v: unknown): ParamValue | undefined {
  if (v === null || v === undefined) return undefined;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) {
    const out: string[] = [];
    for (const x of v) {
      const p = asParam(x);
      if (typeof p === 'string') out.push(p);
    }
    return out;
  }
  return JSON.stringify(v);
}

async function readJson(ctx: Context, toParams: boolean): Promise<void> {
  const { request } = ctx;
  const value = await request.json(); // 400 for invalid JSON; cached for the handler
  if (!toParams || typeof value !== 'object' || value === null || Array.isArray(value)) return;
  const params = request[kOwnParams](); // no prototype: '__proto__' is a key like any other
  for (const key of Object.keys(value)) {
    const p = asParam((value as Record<string, unknown>)[key]);
    if (p !== undefined) params[key] = p;
  }
}

/**
 * `tools.json_in`: a request body must be JSON (`content_type`, default
 * `application/json`; `application/JSON; charset=utf-8` is, `application/jsonx`
 * is not): another type is a 415 (unless `force` is false), invalid JSON a
 * 400. The parsed value is `await request.json()`; with `to_params`, the
 * keys of an object body are merged into `params` (values as strings;
 * nested objects as JSON text — the full value stays in `request.json()`).
 *
 * @example
 *   class Api { @expose({ 'tools.json_in.on': true }) async save({ request, params }: Context) { const body = await request.json(); … } }
 */
export const jsonIn: ToolBehaviour<JsonInOptions, JsonIn> = {
  defaults: { content_type: ['application/json'], force: true, to_params: true },
  prepare(o) {
    if (!Array.isArray(o.content_type) || !o.content_type.every((t) => typeof t === 'string' && /^[^\s/]+\/[^\s/]+$/.test(mediaType(t)))) {
      throw optionError('json_in', 'content_type', "a list of media types ('application/json')", o.content_type);
    }
    const types = new Set(o.content_type.map((t) => mediaType(t)));
    return { types, refusal: `Expected a JSON request body (${[...types].join(', ')})`, force: o.force, toParams: o.to_params };
  },
  run(ctx, p) {
    const { request } = ctx;
    if (!request.hasBody || request.bodyTaken) return;
    if (!p.types.has(mediaType(request.headers['content-type']))) {
      if (!p.force) return;
      throw new HTTPError(415, p.refusal);
    }
    return readJson(ctx, p.toParams);
  },
};
