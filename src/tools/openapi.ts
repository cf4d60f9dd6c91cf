import type { Context } from '../http/request.js';
import type { RequestContext } from '../core/request-context.js';
import type { OpenAPIDocument, OpenAPIOptions, ToJSONSchema } from '../core/openapi.js';
import { optionError, type ToolBehaviour } from '../core/tool.js';
import { DrupeError } from '../lib/errors.js';

export interface OpenapiToolOptions {
  /** The path (below the app's mount point) the document is served at; '' for every path where the tool is on (a section of its own). */
  path: string;
  title: string;
  version: string;
  description: string;
  /** A converter for schemas without Standard JSON Schema (valibot's `toJsonSchema`, …); null for none. */
  json_schema: ToJSONSchema | null;
}

interface Prepared {
  readonly path: string;
  readonly options: OpenAPIOptions;
}

/** Each app's document, by its host (the object a request's context carries): the App registers it. */
const providers = new WeakMap<object, (options: OpenAPIOptions) => OpenAPIDocument>();
/** The document's JSON, made once per route plan (a new plan after `configure()` makes it again). */
const served = new WeakMap<Prepared, string>();

/** How an App lets `tools.openapi` build its document. */
export function provideOpenAPI(host: object, build: (options: OpenAPIOptions) => OpenAPIDocument): void {
  providers.set(host, build);
}

/**
 * `tools.openapi`: serve the app's OpenAPI 3.1 document (`app.openapi()`)
 * as JSON at `path`, for GET and HEAD. Only the route of that path runs
 * the tool (`appliesTo`): every other request pays nothing. With `path`
 * '', every GET where the tool is on gets the document: switch it on in a
 * section of its own (`'/openapi.json': { 'tools.openapi.on': true,
 * 'tools.openapi.path': '' }`), as tools.staticfile is. The document
 * is built on the first request and kept. It runs after tools.auth_basic,
 * so the same config can guard it.
 *
 * @example
 *   new App(root, { '/': { 'tools.openapi.on': true, 'tools.openapi.path': '/openapi.json', 'tools.openapi.title': 'Shop' } });
 */
export const openapi: ToolBehaviour<OpenapiToolOptions, Prepared> = {
  defaults: { path: '/openapi.json', title: '', version: '', description: '', json_schema: null },
  prepare(o) {
    if (typeof o.path !== 'string' || (o.path !== '' && !o.path.startsWith('/')) || /[?#\s]/.test(o.path)) throw optionError('openapi', 'path', "a path such as '/openapi.json' (or '')", o.path);
    if (o.json_schema !== null && typeof o.json_schema !== 'function') throw optionError('openapi', 'json_schema', 'a function (schema, io) => JSON Schema, or null', o.json_schema);
    return {
      path: o.path,
      options: Object.freeze({
        title: o.title,
        version: o.version,
        description: o.description,
        ...(o.json_schema === null ? {} : { jsonSchema: o.json_schema }),
      }),
    };
  },
  appliesTo(route, p) {
    return p.path === '' || route.path === p.path;
  },
  run(ctx: Context, p) {
    const { request, response } = ctx;
    if (request.method !== 'GET' && request.method !== 'HEAD') return;
    let text = served.get(p);
    if (text === undefined) {
      const build = providers.get((ctx as RequestContext).host);
      if (build === undefined) throw new DrupeError('DRUPE_ERR_TOOL', 'tools.openapi: this app has no OpenAPI document');
      text = JSON.stringify(build(p.options));
      served.set(p, text);
    }
    response.headers.set('Content-Type', 'application/json');
    response.body = text;
    request.handler = null;
  },
};
