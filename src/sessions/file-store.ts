// One file per session under `storage_path` (CherryPy's FileSession). A file's name comes from
// the id by SHA-256 (src/sessions/file-names.ts), never from the id itself, so no id reaches a path
// outside the directory (HOSTILE 55). A save writes a temporary file and renames it over the old
// one, so a reader sees the old data or the new, never half of either; the session's expiry is the
// file's mtime, so `touch` moves it without rewriting the data (and cannot race a save into
// bringing old data back). Locks are lock files (src/sessions/file-lock.ts) behind a queue per id
// in this process (src/sessions/lock-queue.ts).
import { randomBytes } from 'node:crypto';
import { link, lstat, lutimes, open, readdir, rename, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { OWN_NAME, LOCK_EXT, SESSION_EXT, WAIT_EXT, stemOf, tempPath } from './file-names.js';
import { READ_FLAGS, isErrno, writeNew } from './file-io.js';
import { fileLock, removeExpiredLock } from './file-lock.js';
import { LockQueue } from './lock-queue.js';
import { parseSession, serialiseSession } from './stored-data.js';
import type { SessionData, SessionLock, SessionStore } from './store.js';

/** Options of the file store (`tools.sessions.storage_type: 'file'`). */
export interface FileStoreOptions {
  /** `tools.sessions.storage_path`: the directory, one file per session (made, mode 0700, if missing). */
  path: string;
  /** `tools.sessions.max_size`: bytes of serialised data a session may hold. */
  maxSize: number;
}

/** A temporary file left by a crash mid-save, or a waiting mark, is removed by `clean()` once it is this old. */
const STALE_TEMP_MS = 10 * 60_000;

/** One file per session under `options.path`. */
export function fileStore(options: FileStoreOptions): SessionStore {
  if (typeof options.path !== 'string' || options.path === '') throw new TypeError('fileStore: `path` (tools.sessions.storage_path) must name a directory');
  if (!Number.isInteger(options.maxSize) || options.maxSize <= 0) throw new TypeError('fileStore: `maxSize` must be a positive whole number of bytes');
  return new FileStore(resolve(options.path), options.maxSize);
}

class FileStore implements SessionStore {
  readonly #dir: string;
  readonly #maxSize: number;
  readonly #locks = new LockQueue();
  /** This store among the processes sharing the directory, in the marks of waiting processes. */
  readonly #instance = randomBytes(8).toString('hex');

  constructor(dir: string, maxSize: number) {
    this.#dir = dir;
    this.#maxSize = maxSize;
  }

  #path(stem: string, ext: string): string {
    return join(this.#dir, stem + ext);
  }

  async load(id: string): Promise<SessionData | undefined> {
    let handle;
    try {
      handle = await open(this.#path(stemOf(id), SESSION_EXT), READ_FLAGS);
    } catch (err) {
      if (isErrno(err, 'ENOENT') || isErrno(err, 'ELOOP')) return undefined;
      throw err;
    }
    try {
      const stat = await handle.stat();
      if (!stat.isFile() || stat.mtimeMs <= Date.now()) return undefined;
      return parseSession(await handle.readFile('utf8'));
    } finally {
      await handle.close();
    }
  }

  async save(id: string, data: SessionData, ttlMs: number): Promise<void> {
    // Refused before anything touches the disk: a session too large leaves the old file as it was.
    const text = serialiseSession(data, this.#maxSize);
    const stem = stemOf(id);
    const temp = tempPath(this.#dir, stem);
    try {
      await writeNew(this.#dir, temp, text);
      const now = Date.now();
      await lutimes(temp, now / 1000, (now + ttlMs) / 1000);
      await rename(temp, this.#path(stem, SESSION_EXT));
    } catch (err) {
      await rm(temp, { force: true });
      throw err;
    }
  }

  async touch(id: string, ttlMs: number): Promise<void> {
    const path = this.#path(stemOf(id), SESSION_EXT);
    const now = Date.now();
    try {
      const stat = await lstat(path);
      // An expired session stays expired: touch never brings one back.
      if (!stat.isFile() || stat.mtimeMs <= now) return;
      await lutimes(path, now / 1000, (now + ttlMs) / 1000);
    } catch (err) {
      if (!isErrno(err, 'ENOENT')) throw err;
    }
  }

  async delete(id: string): Promise<void> {
    await rm(this.#path(stemOf(id), SESSION_EXT), { force: true });
  }

  lock(id: string, waitMs: number, holdMs: number): Promise<SessionLock> {
    const stem = stemOf(id);
    return this.#locks.lock(stem, waitMs, holdMs, fileLock(this.#dir, stem, this.#path(stem, LOCK_EXT), this.#path(stem, WAIT_EXT), this.#instance));
  }

  /** Remove expired sessions and locks, temporary files a crash left and old waiting marks; only names this store writes. */
  async clean(): Promise<void> {
    let names: string[];
    try {
      names = await readdir(this.#dir);
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return;
      throw err;
    }
    for (const name of names) {
      const stem = OWN_NAME.exec(name)?.[1];
      if (stem === undefined) continue;
      const path = join(this.#dir, name);
      try {
        if (name.endsWith(SESSION_EXT)) await this.#removeExpired(stem, path);
        else if (name.endsWith(LOCK_EXT)) await removeExpiredLock(this.#dir, stem, path);
        else await removeStale(path);
      } catch (err) {
        // Removed by another process's clean() meanwhile, or a save in between: not ours to fix.
        if (!isErrno(err, 'ENOENT')) throw err;
      }
    }
  }

  /** Remove an expired session file, unless a save replaced it in the meantime. */
  async #removeExpired(stem: string, path: string): Promise<void> {
    const stat = await lstat(path);
    if (stat.mtimeMs > Date.now()) return;
    // Moved aside before it is removed: a fresh save that landed between the check and the
    // removal is put back (its expiry tells), so clean() never eats a live session.
    const aside = tempPath(this.#dir, stem);
    await rename(path, aside);
    try {
      const moved = await lstat(aside);
      // `link` (not `rename`) to put it back: it never replaces a still newer save.
      if (moved.mtimeMs > Date.now()) await link(aside, path).catch(() => undefined);
    } finally {
      await rm(aside, { force: true });
    }
  }

  async close(): Promise<void> {
    // Nothing is held open between calls.
  }
}

/** A temporary file or a waiting mark, left by a crash or a process gone: removed once it is old. */
async function removeStale(path: string): Promise<void> {
  const stat = await lstat(path);
  if (stat.ctimeMs + STALE_TEMP_MS < Date.now()) await rm(path, { force: true });
}
