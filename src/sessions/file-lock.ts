// The file store's lock between processes: one lock file per session, `<token> <expiry ms>`.
// A lock file is written whole under a temporary name and then linked into place, so it appears
// complete or not at all, and `link` fails if one is there already (the exclusive step). An
// expired lock (its holder died, HOSTILE 57) is moved aside and checked before it is removed, so a
// lock taken anew in between is put back, not lost.
import { randomBytes } from 'node:crypto';
import { link, lstat, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import type { SharedLock } from './lock-queue.js';
import { tempPath } from './file-names.js';

/** How old a lock file this store cannot read must be before it counts as expired. */
const UNREADABLE_LOCK_GRACE_MS = 60_000;

export function isErrno(err: unknown, code: string): boolean {
  return err instanceof Error && (err as NodeJS.ErrnoException).code === code;
}

/** The shared half of one lock on the session whose files are `dir/stem.*`. */
export function fileLock(dir: string, stem: string, lockPath: string): SharedLock {
  const token = randomBytes(16).toString('hex');
  return {
    async tryTake(holdMs: number): Promise<boolean> {
      await mkdir(dir, { recursive: true, mode: 0o700 });
      const temp = tempPath(dir, stem);
      await writeFile(temp, `${token} ${Date.now() + holdMs}\n`, { flag: 'wx', mode: 0o600 });
      try {
        try {
          await link(temp, lockPath);
          return true;
        } catch (err) {
          if (!isErrno(err, 'EEXIST')) throw err;
        }
        // Held: taken now only if the holder's time is up.
        if (!(await removeExpiredLock(dir, stem, lockPath, holdMs))) return false;
        try {
          await link(temp, lockPath);
          return true;
        } catch (err) {
          if (isErrno(err, 'EEXIST')) return false;
          throw err;
        }
      } finally {
        await rm(temp, { force: true });
      }
    },
    async release(): Promise<void> {
      try {
        const text = await readFile(lockPath, 'utf8');
        // A lock that expired may be someone else's by now: only our own token is removed.
        if (text.startsWith(`${token} `)) await removeIfUnchanged(dir, stem, lockPath, text);
      } catch {
        // Gone already, or unreadable: either way it expires by itself.
      }
    },
  };
}

/**
 * Remove the lock file at `lockPath` if its time is up; `true` when no lock is there after.
 * A file that does not read as a lock counts as expired once it is `graceMs` old.
 */
export async function removeExpiredLock(dir: string, stem: string, lockPath: string, graceMs = UNREADABLE_LOCK_GRACE_MS): Promise<boolean> {
  let text: string;
  try {
    text = await readFile(lockPath, 'utf8');
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return true;
    throw err;
  }
  const now = Date.now();
  const expires = expiryOf(text) ?? (await lstat(lockPath).then((s) => s.mtimeMs + graceMs, () => 0));
  if (expires > now) return false;
  return removeIfUnchanged(dir, stem, lockPath, text);
}

/** `<token> <expiry ms>` → the expiry, or `undefined` for anything else. */
function expiryOf(text: string): number | undefined {
  const match = /^[0-9a-f]{32} ([0-9]{1,16})\n$/.exec(text);
  return match === null ? undefined : Number(match[1]);
}

/**
 * Remove the file at `path` if it still holds `text`: moved aside first (one atomic step), read
 * there, and put back if it turned out to be a newer one. `true` when it was removed.
 */
export async function removeIfUnchanged(dir: string, stem: string, path: string, text: string): Promise<boolean> {
  const aside = tempPath(dir, stem);
  try {
    await rename(path, aside);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return true;
    throw err;
  }
  try {
    if ((await readFile(aside, 'utf8')) === text) return true;
    await link(aside, path).catch(() => undefined);
    return false;
  } finally {
    await rm(aside, { force: true });
  }
}
