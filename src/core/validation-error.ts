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

/** How many issues the message names before it says "and N more" (the `errors` list has them all). */
const NAMED = 5;

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

  constructor(errors: ReadonlyArray<ValidationIssue>, status: 400 | 404 = 400, message?: string) {
    super(status, message ?? describe(errors));
    this.name = 'ValidationError';
    this.errors = errors;
  }
}

function describe(errors: ReadonlyArray<ValidationIssue>): string {
  if (errors.length === 0) return 'Invalid request input';
  const named = errors.slice(0, NAMED).map((e) => `${e.location}${e.path === '' ? '' : '.' + e.path}: ${e.message}`);
  const more = errors.length > NAMED ? `; and ${errors.length - NAMED} more` : '';
  return `Invalid request input: ${named.join('; ')}${more}`;
}
