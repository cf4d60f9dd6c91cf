import type { Config } from './config.js';
import { HTTP_METHODS } from './dispatch.js';
import { buildOperation, ERROR_RESPONSES, type Declared, type ErrorResponseName } from './openapi-operation.js';
import { collectRoutes, type Route } from './openapi-routes.js';
import { SchemaStore } from './openapi-schema.js';
import type { JSONSchema, OpenAPIDocument, OpenAPIOperation, OpenAPIOptions, OpenAPIParameter, OpenAPIResponse } from './openapi-types.js';
import type { PlanSource } from './plan.js';
import type { Handler } from './expose.js';

export type { JSONSchema, OpenAPIDocument, OpenAPIOptions, ToJSONSchema } from './openapi-types.js';

/** RFC 9457 problem details, with the `errors` member Drupe adds for a failed validation. */
const PROBLEM: JSONSchema = {
  type: 'object',
  properties: {
    type: { type: 'string', format: 'uri-reference' },
    title: { type: 'string' },
    status: { type: 'integer', minimum: 100, maximum: 599 },
    detail: { type: 'string' },
    instance: { type: 'string', format: 'uri-reference' },
    errors: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          location: { enum: ['params', 'body', 'args'] },
          path: { type: 'string' },
          message: { type: 'string' },
        },
        required: ['location', 'path', 'message'],
      },
    },
  },
};

/** How many path templates one `args` tuple may make (one per length it takes). */
const MAX_ARG_TEMPLATES = 8;

/**
 * The OpenAPI 3.1 document of an app's tree: each route the dispatchers
 * reach (collectRoutes) is a path, each handler an operation with its
 * declared params, body and args; `scriptName` (where the app is mounted)
 * begins every path.
 */
export function openapiDocument(src: PlanSource, scriptName: string, options: OpenAPIOptions, declaredInput: (fn: Handler) => Declared | undefined): OpenAPIDocument {
  const store = new SchemaStore();
  store.schemas.Problem = PROBLEM;
  const used = new Set<ErrorResponseName>();
  const paths: Record<string, Record<string, OpenAPIOperation>> = {};
  const ids = new Set<string>();
  let auth = false;
  for (const route of collectRoutes(src)) {
    const base = scriptName + '/' + route.segments.map(encodeURIComponent).join('/');
    for (const h of route.handlers) {
      const declared = declaredInput(h.handler);
      const hint = slug(base) + (h.method === null ? '' : `.${h.method}`);
      const convert = (s: object | undefined, part: string): JSONSchema | undefined => (s === undefined ? undefined : store.convert(s, 'input', options.jsonSchema, `${hint}.${part}`));
      const params = convert(declared?.params, 'params');
      const body = convert(declared?.body, 'body');
      const args = convert(declared?.args, 'args');
      const methods = h.method !== null ? [h.method] : pageMethods(h.config, body !== undefined);
      for (const t of templates(route, args)) {
        const path = (base + (route.kind === 'index' && route.segments.length > 0 ? '/' : '') + t.suffix).replace(/\/\/+/g, '/');
        for (const method of methods) {
          const item = (paths[path] ??= {});
          const key = method.toLowerCase();
          if (item[key] !== undefined) continue; // two handlers on one path and method: the first found is the one listed
          const operationId = unique(ids, `${key}_${slug(path)}`);
          item[key] = buildOperation({ method, operationId, config: h.config, params, body, pathParams: t.params, declaresArgs: args !== undefined }, used);
          if (h.config['tools.auth_basic.on'] === true) auth = true;
        }
      }
    }
  }
  const responses: Record<string, OpenAPIResponse> = {};
  for (const name of Object.keys(ERROR_RESPONSES) as ErrorResponseName[]) {
    if (!used.has(name)) continue;
    responses[name] = { description: ERROR_RESPONSES[name].description, content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } } };
  }
  const sorted: Record<string, Record<string, OpenAPIOperation>> = {};
  for (const p of Object.keys(paths).sort()) sorted[p] = paths[p]!;
  return {
    openapi: '3.1.1',
    info: {
      title: options.title || 'Drupe application',
      version: options.version || '0.0.0',
      ...(options.description ? { description: options.description } : {}),
    },
    paths: sorted,
    components: {
      schemas: store.schemas,
      responses,
      ...(auth ? { securitySchemes: { basic: { type: 'http', scheme: 'basic' } } } : {}),
    },
  };
}

/**
 * The methods a page handler is listed under (it answers any): those of
 * `tools.allow`, else POST for one that reads a JSON body, else GET. HEAD
 * comes with GET and is not listed apart.
 */
function pageMethods(config: Readonly<Config>, readsJson: boolean): string[] {
  if (config['tools.allow.on'] === true) {
    const listed = (config['tools.allow.methods'] as readonly string[] | undefined) ?? ['GET', 'HEAD'];
    const upper = [...new Set(listed.map((m) => m.toUpperCase()))].filter((m) => (HTTP_METHODS as readonly string[]).includes(m));
    return upper.includes('GET') ? upper.filter((m) => m !== 'HEAD') : upper;
  }
  return readsJson || config['tools.json_in.on'] === true ? ['POST'] : ['GET'];
}

interface Template {
  readonly suffix: string;
  readonly params: readonly OpenAPIParameter[];
}

const REST: OpenAPIParameter = {
  name: 'args', in: 'path', required: true,
  description: 'The rest of the path: one or more segments, separated by /',
  schema: { type: 'string' },
};

/**
 * The path templates of a route: a page or index has one; a `default`
 * handler or a resource takes args after its path. A declared `args` tuple
 * gives one template per length it accepts, `{arg0}`, `{arg1}`, … each with
 * its item's schema (and `{args}` for the rest when more may follow);
 * without a tuple, a `default` handler is listed with `{args}` (the rest
 * of the path) and a resource with none.
 */
function templates(route: Route, args: JSONSchema | undefined): Template[] {
  if (route.kind === 'page' || route.kind === 'index') return [{ suffix: '', params: [] }];
  if (!isObject(args)) return route.kind === 'default' ? [{ suffix: '/{args}', params: [REST] }] : [{ suffix: '', params: [] }];
  const items = Array.isArray(args.prefixItems) ? (args.prefixItems as JSONSchema[]) : [];
  const min = typeof args.minItems === 'number' ? args.minItems : 0;
  const max = typeof args.maxItems === 'number' ? args.maxItems : args.items === false ? items.length : Infinity;
  const out: Template[] = [];
  for (let k = min; k <= Math.min(items.length, max) && out.length < MAX_ARG_TEMPLATES; k++) {
    const params = items.slice(0, k).map((schema, i): OpenAPIParameter => ({ name: `arg${i}`, in: 'path', required: true, schema }));
    out.push({ suffix: params.map((p) => `/{${p.name}}`).join(''), params });
  }
  if (max > items.length) {
    const params = items.map((schema, i): OpenAPIParameter => ({ name: `arg${i}`, in: 'path', required: true, schema }));
    out.push({ suffix: params.map((p) => `/{${p.name}}`).join('') + '/{args}', params: [...params, REST] });
  }
  return out;
}

function isObject(v: unknown): v is { readonly [k: string]: unknown } {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A path as an identifier: '/api/items/{arg0}' → 'api_items_arg0' ('root' for '/'). */
function slug(path: string): string {
  return path.replace(/[^A-Za-z0-9]+/g, '_').replace(/^_+|_+$/g, '') || 'root';
}

function unique(taken: Set<string>, id: string): string {
  let out = id;
  for (let n = 2; taken.has(out); n++) out = `${id}_${n}`;
  taken.add(out);
  return out;
}
