import { Readable } from 'node:stream';
import { isSelfShaping, JsonBody } from '../body/body.js';
import { kSettings, type Context } from '../http/request.js';
import { HTTPError } from '../lib/errors.js';
import { optionError, type ToolBehaviour } from '../core/tool.js';
import { isAsciiFieldValue } from '../http/headers.js';
import { isThenable } from '../lib/thenable.js';

export interface JsonOutOptions {
  /** The Content-Type of a JSON body, unless the handler set one. */
  content_type: string;
}

/** Already a response body: left alone. */
function isBody(v: unknown): boolean {
  if (v instanceof Uint8Array || v instanceof JsonBody || v instanceof Readable || isSelfShaping(v)) return true;
  return typeof v === 'object' && v !== null && typeof (v as { getReader?: unknown }).getReader === 'function';
}

/** An iterable of values that is not itself a JSON value (a generator, a Set…; never an array). */
function isValueStream(v: unknown): v is Iterable<unknown> | AsyncIterable<unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  return typeof (v as Partial<AsyncIterable<unknown>>)[Symbol.asyncIterator] === 'function'
    || typeof (v as Partial<Iterable<unknown>>)[Symbol.iterator] === 'function';
}

function line(value: unknown): string {
  return (JSON.stringify(value) ?? 'null') + '\n';
}

// Generators, so that closing the body (a client gone, S6) returns the handler's iterator too.
function* lines(values: Iterable<unknown>): Generator<string> {
  for (const v of values) yield line(v);
}

async function* asyncLines(values: AsyncIterable<unknown>): AsyncGenerator<string> {
  for await (const v of values) yield line(v);
}

/** The handler's return value as a JSON or NDJSON body. */
function toJson(ctx: Context, o: Readonly<JsonOutOptions>, value: unknown): unknown {
  const { request, response } = ctx;
  if (value === undefined || response.committed || isBody(value)) return value;
  if (!isValueStream(value)) {
    if (!response.headers.has('content-type')) response.headers.set('Content-Type', o.content_type);
    return new JsonBody(value);
  }
  if (!response.headers.has('content-type')) response.headers.set('Content-Type', 'application/x-ndjson');
  response.onStreamError ??= (err) => {
    const shown = err instanceof HTTPError || request[kSettings].showTracebacks;
    const message = shown && err instanceof Error ? err.message : 'The stream failed';
    return line({ error: message });
  };
  const asyncIt = (value as Partial<AsyncIterable<unknown>>)[Symbol.asyncIterator];
  return typeof asyncIt === 'function' ? asyncLines(value as AsyncIterable<unknown>) : lines(value as Iterable<unknown>);
}

/**
 * `tools.json_out`: the handler's return value — an object, array, number,
 * string, boolean or null — is sent as JSON (`application/json` unless the
 * handler chose a type). A generator or other (async) iterable of values
 * (not an array) becomes NDJSON (`application/x-ndjson`), one value per
 * line: streamed chunk by chunk with `response.stream`, or buffered. A
 * streamed one that fails after it started ends with an in-band
 * `{"error":"…"}` line before the cut. Bodies (bytes, streams, files,
 * `sse()`, `json()`) and `undefined` are left alone. As in CherryPy it wraps
 * the handler, so error pages (and bodies other tools set) stay as they are.
 *
 * @example
 *   class Api {
 *     @expose({ 'tools.json_out.on': true }) user() { return { id: 7, name: 'Ann' }; }
 *     @expose({ 'tools.json_out.on': true, 'response.stream': true }) async *events() { yield { n: 1 }; yield { n: 2 }; }
 *   }
 */
export const jsonOut: ToolBehaviour<JsonOutOptions> = {
  defaults: { content_type: 'application/json' },
  prepare(o) {
    if (typeof o.content_type !== 'string' || o.content_type === '' || !isAsciiFieldValue(o.content_type)) {
      throw optionError('json_out', 'content_type', "a Content-Type value of printable ASCII ('application/json')", o.content_type);
    }
    return o;
  },
  run(ctx: Context, o) {
    const { request } = ctx;
    const handler = request.handler;
    if (handler === null) return; // a tool answered the request
    request.handler = function jsonOutHandler(this: unknown, c: Context): unknown {
      const result: unknown = handler.call(this, c);
      return isThenable(result) ? Promise.resolve(result).then((v) => toJson(c, o, v)) : toJson(c, o, result);
    };
  },
};
