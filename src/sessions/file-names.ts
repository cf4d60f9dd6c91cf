// Where the file store keeps one session: a name made from the id by SHA-256, so that no id,
// whatever it holds (`../../etc/passwd`, `/`, NUL, 10,000 characters), can name a path outside
// `storage_path` or a name too long for the file system (HOSTILE 55). Hex rather than the id's
// own base64url: a case-insensitive file system would fold two ids into one file.
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';

/** A session file, `<64 hex>.session`: its mtime is the session's expiry. */
export const SESSION_EXT = '.session';
/** A lock file, `<64 hex>.lock`: `<token> <expiry ms>`. */
export const LOCK_EXT = '.lock';
/** The mark of a process waiting for the lock, `<64 hex>.wait`: `<store instance> <ms written>`. */
export const WAIT_EXT = '.wait';
/** A file being written (or moved aside), `<64 hex>.<12 hex>.tmp`. */
export const TEMP_EXT = '.tmp';

/** The names this store writes, and so the only ones `clean()` may remove. */
export const OWN_NAME = /^([0-9a-f]{64})(?:\.session|\.lock|\.wait|\.[0-9a-f]{12}\.tmp)$/;

/** The file name stem of `id` (the UTF-16 units hashed, so ids that differ in a lone surrogate stay apart). */
export function stemOf(id: string): string {
  return createHash('sha256').update(id, 'utf16le').digest('hex');
}

/** A fresh temporary name beside `stem`'s files, in `dir`. */
export function tempPath(dir: string, stem: string): string {
  return join(dir, `${stem}.${randomBytes(6).toString('hex')}${TEMP_EXT}`);
}
