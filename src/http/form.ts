import { HTTPError } from '../lib/errors.js';
import { UploadedFile } from './upload.js';

export type ParamValue = string | UploadedFile | Array<string | UploadedFile>;
/** Query and form parameters. Always made by createParams(): no prototype, so no key can reach Object.prototype. */
export type Params = Record<string, ParamValue>;

export function createParams(): Params {
  // Not Object.create(null), which V8 makes a slow dictionary-mode object: an empty literal
  // cut loose before its first key keeps fast properties (docs/benchmarks.md, "`params`
  // without a prototype, cheaper").
  return Object.setPrototypeOf({}, null) as Params;
}

export interface FormLimits {
  /** How many key=value pairs are accepted; one more is a 400. */
  maxParams: number;
}

/**
 * Parse `a=1&b=2&a=3` into `into`. Keys are literal (no `a[b]` nesting): that
 * is what keeps `__proto__[x]=1` and `constructor[prototype][x]=1` harmless.
 */
export function parseFormInto(
  into: Params,
  text: string,
  limits: FormLimits,
  where: 'query string' | 'form body' = 'query string',
): void {
  const len = text.length;
  let count = 0;
  // Position of the next '=' at or after `start`, cached so a run of pairs
  // without '=' (`a&a&a…`) costs one scan in total, not one per pair.
  let eq = -1;
  let start = 0;
  while (start < len) {
    let amp = text.indexOf('&', start);
    if (amp === -1) amp = len;
    if (amp > start) {
      // Counted before decoding, so 100,000 pairs stop after maxParams of them.
      if (++count > limits.maxParams) throw new HTTPError(400, `Too many parameters (limit ${limits.maxParams})`);
      if (eq < start) {
        eq = text.indexOf('=', start);
        if (eq === -1) eq = len;
      }
      if (eq < amp) {
        addParam(into, decode(text.slice(start, eq), where), decode(text.slice(eq + 1, amp), where));
      } else {
        addParam(into, decode(text.slice(start, amp), where), '');
      }
    }
    start = amp + 1;
  }
}

function decode(raw: string, where: string): string {
  // Keys and values are short and mostly plain: one pass in JS beats two builtin searches.
  let plain = true;
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c === 43 /* + */ || c === 37 /* % */) { plain = false; break; }
  }
  if (plain) return raw;
  const s = raw.indexOf('+') === -1 ? raw : raw.replace(/\+/g, ' ');
  if (s.indexOf('%') === -1) return s;
  try {
    // decodeURIComponent rejects bad escapes, truncated sequences and invalid
    // UTF-8 (overlong forms, lone surrogates) with a URIError.
    return decodeURIComponent(s);
  } catch {
    throw new HTTPError(400, `Invalid percent-encoding in ${where}`);
  }
}

/** Add one value under `key`: the second value turns it into an array, later ones append. */
export function addParam(into: Params, key: string, value: string | UploadedFile): void {
  // `into` has no prototype (createParams): a plain read sees own keys only, and
  // `__proto__` is stored as an ordinary key, since no Object.prototype accessor is in reach.
  const existing = into[key];
  if (existing === undefined) {
    into[key] = value;
  } else if (Array.isArray(existing)) {
    existing.push(value);
  } else {
    into[key] = [existing, value];
  }
}

/** Back to `a=1&a=2&b=x` (InternalRedirect turning a POST into a GET). Files are skipped. */
export function stringifyParams(params: Readonly<Record<string, string | readonly string[] | ParamValue>>): string {
  const out: string[] = [];
  for (const key of Object.keys(params)) {
    const value = params[key];
    if (value === undefined || value instanceof UploadedFile) continue;
    const list: readonly (string | UploadedFile)[] = typeof value === 'string' ? [value] : value;
    const k = encode(key);
    for (const v of list) {
      if (typeof v === 'string') out.push(`${k}=${encode(v)}`);
    }
  }
  return out.join('&');
}

// encodeURIComponent throws on a lone surrogate (possible in a user-built
// params object); send U+FFFD instead, as TextEncoder would.
const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
function encode(s: string): string {
  try {
    return encodeURIComponent(s);
  } catch {
    return encodeURIComponent(s.replace(loneSurrogate, '\uFFFD'));
  }
}
