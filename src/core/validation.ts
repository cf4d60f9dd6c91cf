import { HTTPError } from '../lib/errors.js';
import { isThenable } from '../lib/thenable.js';
import { mediaType } from '../lib/media-type.js';
import type { StandardSchemaIssue, StandardSchemaResult, StandardSchemaV1 } from '../lib/standard-schema.js';
import { kJsonWait, type InputDeclaration, type Request } from '../http/request.js';
import { kJsonPlainKeys } from '../http/request-keys.js';
import type { Wait } from '../lib/drive.js';
import type { Params } from '../http/form.js';
import { declaredInput } from './expose.js';
import { ValidationError, type ValidationIssue, type ValidationLocation } from './validation-error.js';
import { withoutPrototypeKeys } from './validation-prototype-keys.js';
import { paramKeysOf, type ParamKeys } from './validation-keys.js';

/** A handler's declaration, worked out once per plan. */
export interface CompiledInput {
  readonly params: StandardSchemaV1 | undefined;
  readonly body: StandardSchemaV1 | undefined;
  readonly args: StandardSchemaV1 | undefined;
  /** Only a body is declared (no params, no args): `validateInput`'s short way. */
  readonly bodyOnly: boolean;
  /** The params the schema names, when its library describes it as JSON Schema: CherryPy's argument errors without running it. */
  readonly paramKeys: ParamKeys | null;
}

/** The part of the pipeline's context validation reads and fills (RequestContext is one). */
export interface ValidationTarget {
  readonly request: Request;
  args: readonly string[];
  validParams: Params | undefined;
  body: unknown;
}

const compiled = new WeakMap<Function, CompiledInput>();

/** The handler's declared input, compiled (once per handler), or undefined when it declared none. */
export function compileInput(handler: Function): CompiledInput | undefined {
  const input: InputDeclaration | undefined = declaredInput(handler);
  if (input === undefined) return undefined;
  let c = compiled.get(handler);
  if (c === undefined) {
    c = Object.freeze({
      params: input.params,
      body: input.body,
      args: input.args,
      bodyOnly: input.body !== undefined && input.params === undefined && input.args === undefined,
      paramKeys: input.params === undefined ? null : paramKeysOf(input.params),
    });
    compiled.set(handler, c);
  }
  return c;
}

/**
 * The declared JSON body, being read and parsed (bounded by
 * max_request_body_size and max_json_depth; another media type is a 415),
 * for `validateInput` once it is there; undefined when the handler declares
 * no body or the request has none. Kept apart so the pipeline awaits the
 * parse itself: no promise of validation's own between the body and the handler.
 */
export function declaredBody(ctx: ValidationTarget, input: CompiledInput): Wait | Promise<unknown> | undefined {
  if (input.body === undefined || !ctx.request.hasBody) return undefined;
  if (!isJsonBody(ctx)) throw new HTTPError(415, 'Expected a JSON request body (application/json)');
  // request.json()'s read as a Wait (json-wait.ts): the pipeline resumes from the body's last chunk, no promise between.
  return ctx.request[kJsonWait]();
}

/**
 * Validate the request's declared input (after the body was processed,
 * and `body`, from `declaredBody`, parsed; before the handler runs) and
 * hand the handler the schemas' values: `ctx.params`, `ctx.args`,
 * `ctx.body`. Every failing part is reported together. A schema that
 * throws is not the client's fault: it propagates (a logged 500).
 */
export function validateInput(ctx: ValidationTarget, input: CompiledInput, body: unknown): void | Promise<void> {
  // A body alone, the usual declaration for a POST: its result handed over with no record of where it came from.
  if (input.bodyOnly) {
    const result = input.body!['~standard'].validate(guardedBody(ctx, body));
    return isThenable(result) ? Promise.resolve(result).then((r) => useBody(ctx, r)) : useBody(ctx, result);
  }
  const { request } = ctx;
  let params: Params | undefined;
  if (input.params !== undefined) {
    params = withoutPrototypeKeys(request.params) as Params;
    const argErrors = input.paramKeys === null ? null : argumentErrors(params, input.paramKeys);
    if (argErrors !== null) throw new ValidationError(argErrors, argumentStatus(request.method));
  }
  // Each declared part once, in a fixed order; a promise only when a schema validates asynchronously.
  const p = input.params === undefined ? undefined : run('params', input.params, params);
  // A copy: the route's args are frozen (its cached plan shares them), and a library that copies an input's property
  // descriptors to transform it (arktype) would copy them read-only and fail to write its output.
  const a = input.args === undefined ? undefined : run('args', input.args, ctx.args.slice());
  const b = input.body === undefined ? undefined : run('body', input.body, guardedBody(ctx, body));
  if (p?.pending !== undefined || a?.pending !== undefined || b?.pending !== undefined) {
    return Promise.all([p, a, b].filter((r) => r !== undefined).map((r) => r.pending ?? r)).then((done) => apply(ctx, params, done));
  }
  const pv = p as Settled | undefined, av = a as Settled | undefined, bv = b as Settled | undefined;
  if (pv?.result.issues === undefined && av?.result.issues === undefined && bv?.result.issues === undefined) {
    // Valid, as nearly every request is: the values handed over with nothing gathered.
    if (pv !== undefined) ctx.validParams = (pv.result as { value: unknown }).value as Params;
    if (av !== undefined) ctx.args = (av.result as { value: unknown }).value as readonly string[];
    if (bv !== undefined) ctx.body = (bv.result as { value: unknown }).value;
    return;
  }
  apply(ctx, params, [pv, av, bv].filter((r): r is Settled => r !== undefined));
}

/** The declared body as the schema sees it: walked for prototype keys unless its text could not name one. */
function guardedBody(ctx: ValidationTarget, body: unknown): unknown {
  return ctx.request[kJsonPlainKeys] ? body : withoutPrototypeKeys(body);
}

/** The body's result alone (`bodyOnly`): its value, or the issues raised as `apply` raises them. */
function useBody(ctx: ValidationTarget, result: StandardSchemaResult<unknown>): void {
  if (result.issues === undefined) ctx.body = result.value;
  else apply(ctx, undefined, [{ location: 'body', result }]);
}

/** A body declared by a schema is JSON: a JSON media type, or whatever tools.json_in accepted for the route. */
function isJsonBody(ctx: ValidationTarget): boolean {
  const contentType = ctx.request.headers['content-type'];
  if (contentType === 'application/json') return true; // nearly every client's, with nothing to trim or lower-case
  if (ctx.request.config['tools.json_in.on'] === true) return true;
  const type = mediaType(contentType);
  return type === 'application/json' || type.endsWith('+json');
}

interface Settled {
  readonly location: ValidationLocation;
  readonly result: StandardSchemaResult<unknown>;
  readonly pending?: undefined;
}
interface Pending {
  readonly pending: Promise<Settled>;
}

function run(location: ValidationLocation, schema: StandardSchemaV1, value: unknown): Settled | Pending {
  const result = schema['~standard'].validate(value);
  if (isThenable(result)) return { pending: Promise.resolve(result).then((r) => ({ location, result: r })) };
  return { location, result };
}

/** Hand the values over, or raise one ValidationError naming every issue. */
function apply(ctx: ValidationTarget, params: Params | undefined, done: readonly Settled[]): void {
  let issues: ValidationIssue[] | undefined;
  let status: 400 | 404 = 404;
  for (const { location, result } of done) {
    if (result.issues === undefined) continue;
    for (const issue of result.issues) {
      const path = pathOf(issue);
      (issues ??= []).push({ location, path, message: String(issue.message) });
      // Only CherryPy's argument errors make a GET's 404: a missing param (or any args mismatch: the path names nothing).
      if (!(location === 'args' || (location === 'params' && isMissing(params, issue)))) status = 400;
    }
  }
  if (issues !== undefined) {
    const onlyArgs = issues.every((i) => i.location === 'args');
    throw new ValidationError(issues, onlyArgs ? 404 : status === 404 ? argumentStatus(ctx.request.method) : 400);
  }
  for (const { location, result } of done) {
    const value = (result as { value: unknown }).value;
    if (location === 'params') ctx.validParams = value as Params;
    else if (location === 'args') ctx.args = value as readonly string[];
    else ctx.body = value;
  }
}

/** CherryPy's `test_params`: the wrong arguments for a GET (or HEAD) name no resource, a 404; for other methods the request is bad, a 400. */
function argumentStatus(method: string): 400 | 404 {
  return method === 'GET' || method === 'HEAD' ? 404 : 400;
}

function argumentErrors(params: Params, keys: ParamKeys): ValidationIssue[] | null {
  let out: ValidationIssue[] | null = null;
  for (const name of keys.required) {
    if (!Object.hasOwn(params, name)) (out ??= []).push({ location: 'params', path: name, message: 'Missing parameter' });
  }
  if (keys.known !== null) {
    for (const name of Object.keys(params)) {
      if (!keys.known.has(name)) (out ??= []).push({ location: 'params', path: name, message: 'Unexpected parameter' });
    }
  }
  return out;
}

/** An issue about a single param the request did not send: a missing argument. */
function isMissing(params: Params | undefined, issue: StandardSchemaIssue): boolean {
  const path = issue.path;
  if (params === undefined || path === undefined || path.length !== 1) return false;
  const key = keyOf(path[0]!);
  return typeof key === 'string' && !Object.hasOwn(params, key);
}

function keyOf(segment: PropertyKey | { readonly key: PropertyKey }): PropertyKey {
  return typeof segment === 'object' && segment !== null ? segment.key : segment;
}

/** `items.2.name`: the issue's path, dotted ('' for the value itself). */
function pathOf(issue: StandardSchemaIssue): string {
  if (issue.path === undefined || issue.path.length === 0) return '';
  return issue.path.map((s) => String(keyOf(s))).join('.');
}
