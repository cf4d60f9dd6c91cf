import { kOwnParams, kSettings, type Context } from '../http/request.js';
import { HTTPError } from '../lib/errors.js';
import { mediaType } from '../lib/media-type.js';
import type { ParamValue } from '../http/request.js';
import { optionError, type ToolBehaviour } from '../core/tool.js';
import { declaredInput } from '../core/expose.js';

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

/**
 * A JSON value as a string parameter: null is none, an object is its JSON
 * text (JSON.stringify recurses, within `request.max_json_depth`), an array
 * none here (`asParam` takes one level of them).
 */
function asScalar(v: unknown): string | undefined {
  if (v === null || v === undefined || Array.isArray(v)) return undefined;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

/** A JSON value as a parameter: params hold strings, as a query string would give them; an array is a list of them (nested arrays left out). */
function asParam(v: unknown): ParamValue | undefined {
  if (!Array.isArray(v)) return asScalar(v);
  const out: string[] = [];
  for (const x of v) {
    const p = asScalar(x);
    if (p !== undefined) out.push(p);
  }
  return out;
}

async function readJson(ctx: Context, toParams: boolean): Promise<void> {
  const { request } = ctx;
  const value = await request.json(); // 400 for invalid JSON; cached for the handler
  if (!toParams || typeof value !== 'object' || value === null || Array.isArray(value)) return;
  // A handler that declares its body gets it typed as `ctx.body`: its keys are not params as well.
  if (request.handler !== null && declaredInput(request.handler)?.body !== undefined) return;
  const keys = Object.keys(value);
  // The same bound as a form body's pairs (src/http/form.ts), and the same answer.
  const { maxParams } = request[kSettings];
  if (keys.length > maxParams) throw new HTTPError(400, `Too many parameters (limit ${maxParams})`);
  const params = request[kOwnParams](); // no prototype: '__proto__' is a key like any other
  for (const key of keys) {
    const p = asParam((value as Record<string, unknown>)[key]);
    if (p !== undefined) params[key] = p;
  }
}

/**
 * `tools.json_in`: a request body must be JSON (`content_type`, default
 * `application/json`; `application/JSON; charset=utf-8` is, `application/jsonx`
 * is not): another type is a 415 (unless `force` is false), invalid JSON a
 * 400. The parsed value is `await request.json()`, its JSON types kept;
 * with `to_params`, the keys of an object body are merged into `params`
 * (params are strings, as a query string's or a form's are: values as
 * strings, nested objects as JSON text — the typed value stays in
 * `request.json()`, and in `ctx.body` for a handler that declares a `body`
 * schema, whose keys are then not merged), at most `request.max_params`
 * of them (400 past that). JSON nested deeper
 * than `request.max_json_depth` is a 400, a body in a Content-Encoding
 * other than identity a 415 (both from `request.json()`).
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
