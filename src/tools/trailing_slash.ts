import { HTTPRedirect } from '../errors.js';
import { defineTool } from '../tool.js';

/**
 * CherryPy's trailing-slash rule (on by default): an index is reached at
 * '/a/', so '/a' redirects there; any other handler lives without the
 * slash, so '/a/page/' redirects to '/a/page'. The query string is kept.
 */
export const trailingSlash = defineTool({
  name: 'trailing_slash',
  point: 'before_handler',
  priority: 20,
  defaults: { missing: true, extra: true, status: 301 },
  run({ request }, { missing, extra, status }) {
    if (request.handler === null) return; // a tool answered the request itself (a CORS preflight, a static file)
    const { path } = request;
    const slash = path.charCodeAt(path.length - 1) === 47; // endsWith('/'), without a builtin call per request
    if (request.isIndex === true && missing && !slash) {
      throw new HTTPRedirect(path + '/' + queryPart(request.queryString), status);
    }
    if (request.isIndex === false && extra && slash && path !== '/') {
      throw new HTTPRedirect(path.replace(/\/+$/, '') + queryPart(request.queryString), status);
    }
  },
});

/** Built only for a redirect: most requests pass this tool untouched. */
function queryPart(queryString: string): string {
  return queryString === '' ? '' : '?' + queryString;
}
