import type { Config } from './config.js';
import type { JSONSchema, OpenAPIOperation, OpenAPIParameter, OpenAPIReference, OpenAPIRequestBody, OpenAPIResponse } from './openapi-types.js';

/** What a handler declares (`exposed(fn, { params, body, args })`): Standard Schema objects. */
export interface Declared {
  readonly params?: object | undefined;
  readonly body?: object | undefined;
  readonly args?: object | undefined;
}

/** The error responses an operation may list, each a problem+json under `components.responses`. */
export const ERROR_RESPONSES = {
  ValidationFailed: { status: '400', description: 'The request does not match what the handler declares; `errors` names each failing field and why' },
  Unauthorized: { status: '401', description: 'Credentials are missing or wrong' },
  NotFound: { status: '404', description: 'Nothing here: path arguments that name nothing, or (GET, HEAD) query parameters the handler does not take or misses' },
  NotAcceptable: { status: '406', description: 'None of the media types the client accepts' },
  PayloadTooLarge: { status: '413', description: 'The request body is larger than the server takes' },
  UnsupportedMediaType: { status: '415', description: 'The request body is not JSON' },
  Error: { status: 'default', description: 'Any other error, as RFC 9457 problem details' },
} as const;

export type ErrorResponseName = keyof typeof ERROR_RESPONSES;

/** One operation's place: its method, id, route config, and its handler's declarations already in JSON Schema. */
export interface OperationSite {
  readonly method: string;
  readonly operationId: string;
  readonly config: Readonly<Config>;
  readonly params: JSONSchema | undefined;
  readonly body: JSONSchema | undefined;
  /** The path parameters this path template has (from `args`), already built. */
  readonly pathParams: readonly OpenAPIParameter[];
  /** Whether the handler declares `args` (args that fail it are a 404). */
  readonly declaresArgs: boolean;
}

const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH']);

/**
 * An OpenAPI operation from a handler's declarations and route config.
 * `params` are query parameters (for POST, PUT and PATCH without a
 * declared JSON body they are the form body instead, CherryPy's usual
 * page); `body` is the `application/json` request body; errors are
 * problem+json (`used` collects the responses it names).
 */
export function buildOperation(site: OperationSite, used: Set<ErrorResponseName>): OpenAPIOperation {
  const { method, config, params, body } = site;
  const parameters: OpenAPIParameter[] = [...site.pathParams];
  let requestBody: OpenAPIRequestBody | undefined;
  const errors = new Set<ErrorResponseName>();
  if (params !== undefined) {
    errors.add('ValidationFailed');
    if (method === 'GET' || method === 'HEAD') errors.add('NotFound');
    if (body === undefined && BODY_METHODS.has(method)) {
      requestBody = { required: false, content: { 'application/x-www-form-urlencoded': { schema: params } } };
    } else {
      parameters.push(...queryParameters(params));
    }
  }
  // tools.json_in alone (no declared body) reads a JSON body if one comes: listed for the methods that send one.
  if (body !== undefined || (config['tools.json_in.on'] === true && BODY_METHODS.has(method))) {
    requestBody = { required: body !== undefined, content: { 'application/json': { schema: body ?? {} } } };
    errors.add('ValidationFailed').add('PayloadTooLarge').add('UnsupportedMediaType');
  }
  // Args that fail their schema name nothing: a 404, whatever the method.
  if (site.declaresArgs || site.pathParams.length > 0) errors.add('NotFound');
  const auth = config['tools.auth_basic.on'] === true;
  if (auth) errors.add('Unauthorized');
  if ((config as Record<string, unknown>)['tools.accept.on'] === true) errors.add('NotAcceptable');
  errors.add('Error');

  const ok: OpenAPIResponse = config['tools.json_out.on'] === true
    ? { description: 'OK', content: { 'application/json': { schema: {} } } }
    : { description: 'OK' };
  const responses: Record<string, OpenAPIResponse | OpenAPIReference> = { '200': ok };
  for (const name of Object.keys(ERROR_RESPONSES) as ErrorResponseName[]) {
    if (!errors.has(name)) continue;
    used.add(name);
    responses[ERROR_RESPONSES[name].status] = { $ref: `#/components/responses/${name}` };
  }
  return {
    operationId: site.operationId,
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(requestBody !== undefined ? { requestBody } : {}),
    responses,
    ...(auth ? { security: [{ basic: [] }] } : {}),
  };
}

function isObject(v: unknown): v is { readonly [k: string]: unknown } {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** An object schema's properties, one query parameter each; any other schema is one free-form `params` object. */
function queryParameters(schema: JSONSchema): OpenAPIParameter[] {
  if (isObject(schema) && isObject(schema.properties)) {
    const required = Array.isArray(schema.required) ? (schema.required as unknown[]) : [];
    return Object.entries(schema.properties).map(([name, s]) => ({
      name, in: 'query' as const, required: required.includes(name), schema: s as JSONSchema,
    }));
  }
  return [{ name: 'params', in: 'query', required: false, style: 'form', explode: true, schema }];
}
