import { HTTPRedirect } from '../lib/errors.js';
import { defineTool } from '../core/tool.js';

interface Options { missing: boolean; extra: boolean; status: number }

/**
 * CherryPy's trailing-slash rule (on by default): an index is reached at
 * '/a/', so '/a' redirects there; any other handler lives without the
 * slash, so '/a/page/' redirects to '/a/page'. The query string is kept.
 * The path alone decides it, so it is decided once per route: requests of
 * a route that can never redirect do not call the tool at all.
 */
export const trailingSlash = defineTool({
  name: 'trailing_slash',
  point: 'before_handler',
  priority: 20,
  defaults: { missing: true, extra: true, status: 301 },
  appliesTo: ({ path, isIndex }, options) => redirectPath(path, isIndex, options) !== null,
  run({ request }, options) {
    if (request.handler === null) return; // a tool answered the request itself (a CORS preflight, a static file)
    const to = redirectPath(request.path, request.isIndex, options);
    if (to !== null) throw new HTTPRedirect(to + queryPart(request.queryString), options.status);
  },
});

/** Where the rule sends `path`, or null when it stays. */
function redirectPath(path: string, isIndex: boolean | null, { missing, extra }: Options): string | null {
  const slash = path.endsWith('/');
  if (isIndex === true && missing && !slash) return path + '/';
  if (isIndex === false && extra && slash && path !== '/') return path.replace(/\/+$/, '');
  return null;
}

/** Built only for a redirect. */
function queryPart(queryString: string): string {
  return queryString === '' ? '' : '?' + queryString;
}
