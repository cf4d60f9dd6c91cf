import { kIsIndex } from '../http/request.js';
import { HTTPRedirect } from '../lib/errors.js';
import { optionError, type ToolBehaviour } from '../core/tool.js';

export interface TrailingSlashOptions {
  /** Redirect an index reached without its slash. */
  missing: boolean;
  /** Redirect a handler reached with a slash it does not take. */
  extra: boolean;
  /** The redirect status. */
  status: number;
}

/**
 * CherryPy's trailing-slash rule (on by default): an index is reached at
 * '/a/', so '/a' redirects there. With `extra` (off by default, as in
 * CherryPy) any other handler lives without the slash, so '/a/page/'
 * redirects to '/a/page'; without it '/a/page/' is served. The query
 * string is kept. The path alone decides it, so it is decided once per
 * route: requests of a route that can never redirect do not call the tool
 * at all.
 */
export const trailingSlash: ToolBehaviour<TrailingSlashOptions> = {
  defaults: { missing: true, extra: false, status: 301 },
  prepare(o) {
    if (!Number.isInteger(o.status) || o.status < 300 || o.status > 308) throw optionError('trailing_slash', 'status', 'a redirect status 300-308', o.status);
    return o;
  },
  appliesTo: ({ path, isIndex }, options) => redirectPath(path, isIndex, options) !== null,
  run({ request }, options) {
    if (request.handler === null) return; // a tool answered the request itself (a CORS preflight, a static file)
    const to = redirectPath(request.path, request[kIsIndex], options);
    if (to !== null) throw new HTTPRedirect(request.scriptName + to + queryPart(request.queryString), options.status);
  },
};

/** Where the rule sends `path`, or null when it stays. */
function redirectPath(path: string, isIndex: boolean | null, { missing, extra }: Readonly<TrailingSlashOptions>): string | null {
  const slash = path.endsWith('/');
  if (isIndex === true && missing && !slash) return path + '/';
  if (isIndex === false && extra && slash && path !== '/') return path.replace(/\/+$/, '');
  return null;
}

/** Built only for a redirect. */
function queryPart(queryString: string): string {
  return queryString === '' ? '' : '?' + queryString;
}
