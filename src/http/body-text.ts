import { HTTPError } from '../lib/errors.js';
import { charsetOf } from '../lib/media-type.js';

/**
 * A body's bytes as text, by the charset of its Content-Type (UTF-8 by
 * default); an unknown charset is a 415. UTF-8, nearly every body, is
 * decoded without making a TextDecoder per request, with the decoder's
 * result: a leading byte order mark dropped, bad bytes as U+FFFD.
 */
export function bodyText(buf: Buffer, contentType: string | undefined): string {
  // No parameters (`application/json`, as most clients send it): no charset to look for.
  const charset = (contentType === undefined || !contentType.includes(';') ? undefined : charsetOf(contentType)) ?? 'utf-8';
  if (charset === 'utf-8' || charset === 'utf8') {
    return buf.length >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf ? buf.toString('utf8', 3) : buf.toString('utf8');
  }
  try {
    return new TextDecoder(charset).decode(buf);
  } catch {
    throw new HTTPError(415, `Unsupported charset '${charset}'`);
  }
}
