import { DrupeError } from '../lib/errors.js';

/**
 * Resolve a URL against `base` (an absolute URL on this site), for a
 * redirect's `Location` and `request.url()`. `//host` and `\` tricks stay
 * on this site; only http and https leave it.
 */
export function siteUrl(url: string, base: string): URL {
  // Clean up as the URL parser (and browsers) will before looking at the start: it drops
  // tabs and newlines anywhere and C0 controls or spaces at the ends ('/\t/evil' is '//evil').
  // eslint-disable-next-line no-control-regex
  let u = url.replace(/[\t\n\r]/g, '').replace(/^[\x00-\x20]+|[\x00-\x20]+$/g, '');
  // '//evil', '/\evil', '\\evil' would be read by browsers as another host: keep them as paths here.
  if (/^[/\\]{2,}/.test(u)) u = '/' + u.replace(/^[/\\]+/, '');
  const resolved = new URL(u, base);
  if (resolved.protocol !== 'http:' && resolved.protocol !== 'https:') {
    throw new DrupeError('DRUPE_ERR_REDIRECT_URL', `Refusing to redirect to a ${resolved.protocol} URL`);
  }
  return resolved;
}

/** `siteUrl` as a string: an absolute redirect target. */
export function absoluteUrl(url: string, base: string): string {
  return siteUrl(url, base).href;
}

/** The origin an app-relative URL is resolved against before it is placed under the script name. */
const IN_APP = 'http://app.invalid';

/**
 * `request.url()`, as CherryPy's `cherrypy.url()` builds it: `path` '' is
 * the current path, taken the way its handler is meant to be reached (an
 * index handler's with a trailing slash, another's without); '/x' is the
 * app's own '/x', under its script name; a relative path resolves against
 * the current one, and '..' stops at the app's root. A full http(s) URL is
 * kept as it is.
 */
export function appUrl(base: string, scriptName: string, pathInfo: string, isIndex: boolean | null, path: string, qs: string): string {
  let current = pathInfo;
  if (isIndex === true && !current.endsWith('/')) current += '/';
  else if (isIndex === false && current.length > 1 && current.endsWith('/')) current = current.replace(/\/+$/, '') || '/';
  let url: URL;
  if (scriptName === '') url = siteUrl(path, base + current);
  else {
    const inApp = siteUrl(path, IN_APP + current);
    url = inApp.origin === IN_APP ? new URL(scriptName + inApp.pathname + inApp.search + inApp.hash, base) : inApp;
  }
  if (qs !== '') url.search = url.search.length > 1 ? `${url.search}&${qs}` : qs;
  return url.href;
}
