// A session's data as the file and Redis stores keep it: JSON text, its size checked before
// anything is written, and read back only when it is what a store wrote (anything else, a
// truncated file or a key some other program set, reads as no session, never as an error).
import { SessionTooLargeError, type SessionData } from './store.js';

/** `data` as JSON, refused with `SessionTooLargeError` past `maxSize` bytes (UTF-8). */
export function serialiseSession(data: SessionData, maxSize: number): string {
  const text = JSON.stringify(data);
  // Cheap test first: a UTF-8 byte is at least one UTF-16 unit and at most three.
  if (text.length > maxSize || (text.length * 3 > maxSize && Buffer.byteLength(text, 'utf8') > maxSize)) {
    throw new SessionTooLargeError(`the session's data is ${Buffer.byteLength(text, 'utf8')} bytes, over the store's bound of ${maxSize} (tools.sessions.max_size)`);
  }
  return text;
}

/** The data in `text`, or `undefined` when it is not a JSON object. */
export function parseSession(text: string): SessionData | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  return value as SessionData;
}
