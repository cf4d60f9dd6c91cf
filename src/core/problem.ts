// RFC 9457 problem details: what an error response says to a client that
// reads JSON, and how an error's `errors` list becomes part of it.
import { reasonPhrase } from '../lib/status.js';

/** One thing wrong with the request's input, as an error's `errors` list carries it. */
export interface ProblemFieldError {
  /** Where the value came from: the query or form params, the JSON body, or the virtual path's arguments. */
  readonly location: 'params' | 'body' | 'args';
  /** The field, dotted (`address.zip`, `items.0.id`); '' for the whole of `location`. */
  readonly path: string;
  readonly message: string;
}

/**
 * An RFC 9457 problem details object (`application/problem+json`). Drupe
 * fills the five standard members; `errors` comes from an error carrying
 * such a list, `traceback` only under `request.show_tracebacks`. An
 * `error_page.<code>` function may return one, with members of its own.
 */
export interface ProblemDetails {
  /** A URI naming the kind of problem; `about:blank` (the default) means "just the status". */
  type?: string;
  /** A short summary of the kind of problem: with `about:blank`, the status's standard reason phrase. */
  title?: string;
  status?: number;
  /** What went wrong this time, for the client: the error's message. */
  detail?: string;
  /** Which request it happened to: the path asked for, still percent-encoded. */
  instance?: string;
  errors?: readonly ProblemFieldError[];
  [member: string]: unknown;
}

/** Which form errors take: chosen from `Accept` ('auto'), or always one. */
export type ErrorFormat = 'auto' | 'html' | 'problem';

export const ERROR_FORMATS: readonly ErrorFormat[] = ['auto', 'html', 'problem'];

/**
 * The `errors` list an error carries (an RFC 9457 extension member), or
 * undefined. Any error with an `errors` array counts, `ValidationError` or a
 * class of the user's; each entry gives only its `location`, `path` and
 * `message`, as strings, so nothing else the entry holds (the rejected
 * value itself) reaches the client.
 */
export function errorsOf(err: unknown): readonly ProblemFieldError[] | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const list: unknown = (err as { errors?: unknown }).errors;
  if (!Array.isArray(list)) return undefined;
  const out: ProblemFieldError[] = [];
  for (const e of list as unknown[]) {
    if (typeof e !== 'object' || e === null) continue;
    const { location, path, message } = e as Record<string, unknown>;
    out.push({
      // A class of the user's may name other places ('headers'): its word is kept.
      location: (typeof location === 'string' ? location : '') as ProblemFieldError['location'],
      path: typeof path === 'string' ? path : '',
      message: typeof message === 'string' ? message : String(message),
    });
  }
  return out;
}

/** What a problem document is built from: the error page's information. */
export interface ProblemSource {
  readonly status: number;
  readonly message: string;
  readonly traceback: string;
  readonly path: string;
  readonly errors: readonly ProblemFieldError[] | undefined;
}

/** Drupe's own problem document for an error. */
export function defaultProblem(info: ProblemSource): ProblemDetails {
  const p: ProblemDetails = { type: 'about:blank', title: reasonPhrase(info.status), status: info.status, detail: info.message, instance: info.path };
  if (info.errors !== undefined) p.errors = info.errors;
  if (info.traceback !== '') p.traceback = info.traceback;
  return p;
}

/**
 * A problem an `error_page` function returned, over Drupe's own members
 * (a member it sets to undefined is left out), with `status` always the
 * response's: RFC 9457 §3.1.2 says the member must not contradict it.
 */
export function mergeProblem(own: ProblemDetails, given: ProblemDetails, status: number): ProblemDetails {
  return { ...own, ...given, status };
}

/**
 * The document as sent. `<` is written `\u003c`: the same JSON to a parser,
 * and no `</script>` for a browser that was told to render it as a page.
 */
export function problemJson(p: ProblemDetails): string {
  return JSON.stringify(p).replace(/</g, '\\u003c') + '\n';
}
