import { HTTPError } from '../lib/errors.js';

/** Where a declared input came from: the query/form params, the JSON body, or the path's virtual arguments. */
export type ValidationLocation = 'params' | 'body' | 'args';

/** One thing wrong with a request's declared input. */
export interface ValidationIssue {
  readonly location: ValidationLocation;
  /** The field, dotted (`items.2.name`); '' for the value as a whole. */
  readonly path: string;
  /** Why: the schema library's message, or Drupe's for CherryPy's argument errors. */
  readonly message: string;
}

/** How many issues the message names before it says "and N more". */
const NAMED = 5;
/**
 * How many issues a ValidationError keeps: a schema reports one per bad
 * item, and a body of a million bad items must not become a response
 * (or a log line) many times its size.
 */
export const MAX_ISSUES = 100;

/**
 * A request whose declared input (`exposed(fn, { params, body, args })`)
 * failed: a 400 naming each failing field and why, or a 404 for CherryPy's
 * argument errors on a GET or HEAD (params the handler does not take,
 * required ones missing). `errors` lists every issue; an error page or a
 * problem+json answer may show them (they are client input: escape them
 * in HTML).
 *
 * @example
 *   throw new ValidationError([{ location: 'params', path: 'page', message: 'Expected a number' }]);
 */
export class ValidationError extends HTTPError {
  readonly errors: ReadonlyArray<ValidationIssue>;

  /** `errors` past MAX_ISSUES are left out (the message says how many there were). */
  constructor(errors: ReadonlyArray<ValidationIssue>, status: 400 | 404 = 400, message?: string) {
    super(status, message ?? describe(errors));
    this.name = 'ValidationError';
    this.errors = errors.length > MAX_ISSUES ? errors.slice(0, MAX_ISSUES) : errors;
  }
}

function describe(errors: ReadonlyArray<ValidationIssue>): string {
  if (errors.length === 0) return 'Invalid request input';
  const named = errors.slice(0, NAMED).map((e) => `${e.location}${e.path === '' ? '' : '.' + e.path}: ${cut(e.message)}`);
  const more = errors.length > NAMED ? `; and ${errors.length - NAMED} more` : '';
  return `Invalid request input: ${named.join('; ')}${more}`;
}

/** A message as the summary quotes it: at most 200 characters (a schema may quote the input). */
function cut(message: string): string {
  return message.length > 200 ? `${message.slice(0, 199)}…` : message;
}
