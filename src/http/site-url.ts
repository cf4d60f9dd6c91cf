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
