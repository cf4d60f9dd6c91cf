// The file store's lock between processes: one lock file per session, `<token> <expiry ms>`.
// A lock file is written whole under a temporary name and then linked into place, so it appears
// complete or not at all, and `link` fails if one is there already (the exclusive step). An
// expired lock (its holder died, HOSTILE 57) is moved aside and checked before it is removed, so a
// lock taken anew in between is put back, not lost. A waiting process's mark (lock-queue.ts) is
// `<stem>.wait`, written when a probe finds the lock held and read when a holder releases it.
import { randomBytes } from 'node:crypto';
import { link, lstat, rename, rm, writeFile } from 'node:fs/promises';
import { isErrno, readPlain, writeNew } from './file-io.js';
import { WAITING_MARK_MS, type SharedLock } from './lock-queue.js';
import { tempPath } from './file-names.js';

/** How old a lock file this store cannot read must be before it counts as expired. */
const UNREADABLE_LOCK_GRACE_MS = 60_000;
/** A holder releasing its lock this long before it expires removes it without checking it is still its own. */
const RELEASE_MARGIN_MS = 1000;

/**
 * The shared half of one lock on the session whose files are `dir/stem.*`, taken by the store
 * `instance` (a token of its own among the processes sharing the directory).
 */
export function fileLock(dir: string, stem: string, lockPath: string, waitPath: string, instance: string): SharedLock {
  const token = randomBytes(16).toString('hex');
  /** When the lock we hold expires (0: not held). */
  let expires = 0;
  /** Whether this lock left a waiting mark, to take back once it has the lock. */
  let marked = false;
  const taken = async (until: number): Promise<true> => {
    expires = until;
    if (marked && (await readMark(waitPath))?.instance === instance) await rm(waitPath, { force: true });
    return true;
  };
  const held = async (): Promise<false> => {
    marked = true;
    await writeFile(waitPath, `${instance} ${Date.now()}\n`, { mode: 0o600 });
    return false;
  };
  return {
    async tryTake(holdMs: number): Promise<boolean> {
      const until = Date.now() + holdMs;
      const temp = tempPath(dir, stem);
      await writeNew(dir, temp, `${token} ${until}\n`);
      try {
        try {
          await link(temp, lockPath);
          return await taken(until);
        } catch (err) {
          if (!isErrno(err, 'EEXIST')) throw err;
        }
        // Held: taken now only if the holder's time is up.
        if (!(await removeExpiredLock(dir, stem, lockPath, holdMs))) return await held();
        try {
          await link(temp, lockPath);
          return await taken(until);
        } catch (err) {
          if (isErrno(err, 'EEXIST')) return await held();
          throw err;
        }
      } finally {
        await rm(temp, { force: true });
      }
    },
    async release(): Promise<boolean> {
      try {
        if (Date.now() < expires - RELEASE_MARGIN_MS) {
          // Well within its time, the lock file is ours: no one else removes a lock before it expires.
          await rm(lockPath, { force: true });
        } else {
          // It may have expired, and be someone else's by now: only our own token is removed.
          const text = await readPlain(lockPath);
          if (text.startsWith(`${token} `)) await removeIfUnchanged(dir, stem, lockPath, text);
        }
      } catch {
        // Gone already, or unreadable: either way it expires by itself.
      }
      expires = 0;
      const mark = await readMark(waitPath).catch(() => undefined);
      return mark !== undefined && mark.instance !== instance && Date.now() - mark.at < WAITING_MARK_MS;
    },
  };
}

/** The mark of a waiting process, or `undefined` when there is none (or it is half-written). */
async function readMark(path: string): Promise<{ instance: string; at: number } | undefined> {
  let text: string;
  try {
    text = await readPlain(path);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return undefined;
    throw err;
  }
  const match = /^([0-9a-f]{16}) ([0-9]{1,16})\n$/.exec(text);
  return match === null ? undefined : { instance: match[1]!, at: Number(match[2]) };
}

/**
 * Remove the lock file at `lockPath` if its time is up; `true` when no lock is there after.
 * A file that does not read as a lock counts as expired once it is `graceMs` old.
 */
export async function removeExpiredLock(dir: string, stem: string, lockPath: string, graceMs = UNREADABLE_LOCK_GRACE_MS): Promise<boolean> {
  let text: string;
  try {
    text = await readPlain(lockPath);
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
    if ((await readPlain(aside)) === text) return true;
    await link(aside, path).catch(() => undefined);
    return false;
  } finally {
    await rm(aside, { force: true });
  }
}
