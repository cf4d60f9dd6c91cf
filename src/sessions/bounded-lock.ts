import { timerMs } from './settings.js';
import { SessionLockTimeoutError, type SessionLock, type SessionStore } from './store.js';

/** What a store gets past `waitMs` to give up by itself before the tool gives up for it. */
const GRACE_MS = 1000;

/**
 * `store.lock`, but never a hang: a store (a user's own, or one whose
 * server stopped answering) that has neither granted nor refused the lock
 * shortly after `waitMs` is refused here, and a lock it grants after that
 * is released at once.
 */
export function lockWithin(store: SessionStore, id: string, waitMs: number, holdMs: number): Promise<SessionLock> {
  return new Promise<SessionLock>((resolve, reject) => {
    let late = false;
    const timer = setTimeout(() => {
      late = true;
      reject(new SessionLockTimeoutError(`The session store gave no lock within ${waitMs + GRACE_MS} ms`));
    }, timerMs(waitMs + GRACE_MS));
    store.lock(id, waitMs, holdMs).then(
      (lock) => {
        clearTimeout(timer);
        if (late) void lock.release().catch(() => undefined);
        else resolve(lock);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}
