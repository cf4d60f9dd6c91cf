/**
 * RFC 9110 §7.2: `Host = uri-host [ ":" port ]`, where uri-host is RFC 3986's
 * IP-literal, IPv4address or reg-name (unreserved, percent-encoded and
 * sub-delims characters; empty allowed). node accepts any field value.
 */
const AUTHORITY = /^(?:\[(?:[0-9A-Fa-f:.]+|[vV][0-9A-Fa-f]+\.[\w\-.~!$&'()*+,;=:]+)\]|(?:[\w\-.~!$&'()*+,;=]|%[0-9A-Fa-f]{2})*)(?::[0-9]*)?$/;

/** The last value that passed: most requests repeat their connection's Host, and then skip the pattern. */
let lastGood = '';

/**
 * Why a request's Host field is unacceptable, or undefined (HOSTILE 34):
 * RFC 9112 §3.2 asks for a 400 when an HTTP/1.1 request has none, when there
 * is more than one, or when its value is not an authority.
 *
 * @param host the one Host value sent, undefined when none, null when more than one
 */
export function hostFieldError(host: string | null | undefined, http11: boolean): string | undefined {
  if (host === undefined) return http11 ? 'Missing Host header' : undefined;
  if (host === null) return 'More than one Host header';
  if (host === lastGood) return undefined;
  if (!AUTHORITY.test(host)) return 'Malformed Host header';
  lastGood = host;
  return undefined;
}
