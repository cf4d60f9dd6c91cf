/**
 * The media type of a Content-Type value, lower-cased, parameters dropped:
 * `application/JSON; charset=utf-8` → `application/json`. Only the exact
 * type counts, so `application/jsonx` never reaches the JSON parser.
 */
export function mediaType(contentType: string | undefined): string {
  if (contentType === undefined) return '';
  const semi = contentType.indexOf(';');
  return (semi < 0 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
}

const CHARSET = /;\s*charset\s*=\s*(?:"([^"]*)"|([^\s;]+))/i;

/** The charset parameter of a Content-Type value, lower-cased, or undefined. */
export function charsetOf(contentType: string | undefined): string | undefined {
  if (contentType === undefined) return undefined;
  const m = CHARSET.exec(contentType);
  if (m === null) return undefined;
  return (m[1] ?? m[2])!.toLowerCase();
}

const NODE_ENCODINGS: Record<string, BufferEncoding> = {
  'utf-8': 'utf8', utf8: 'utf8',
  'iso-8859-1': 'latin1', latin1: 'latin1', 'us-ascii': 'latin1', ascii: 'latin1',
  'utf-16le': 'utf16le', utf16le: 'utf16le',
};

/** The Buffer encoding that writes a charset, or undefined when Node cannot encode it. */
export function encodingFor(charset: string): BufferEncoding | undefined {
  return NODE_ENCODINGS[charset];
}
