import { timerMs } from './settings.js';
import type { SessionLock } from './store.js';

/** In-process locks by session id, taken in turn. */
export interface LockTable {
  /** Take `id`'s lock, waiting at most `waitMs` (then the error `timedOut` makes); it expires by itself `holdMs` after it was taken. */
  take(id: string, waitMs: number, holdMs: number, timedOut: () => Error): Promise<SessionLock>;
  /** Drop every lock (the store is closing; a waiter still times out as bounded). */
  clear(): void;
}

interface Waiter {
  grant(): void;
  timer: NodeJS.Timeout | undefined;
}

interface Held {
  token: object;
  expiry: NodeJS.Timeout;
  readonly queue: Waiter[];
}

/**
 * A lock per id with a queue of waiters: release hands the lock to the
 * first waiter still waiting. Every wait is bounded (its timer keeps the
 * process up while someone waits); a held lock's expiry timer never does.
 */
export function waitingLocks(): LockTable {
  const held = new Map<string, Held>();

  function grantNext(id: string, h: Held): void {
    clearTimeout(h.expiry);
    const next = h.queue.shift();
    if (next === undefined) {
      held.delete(id);
      return;
    }
    next.grant();
  }

  function acquire(id: string, h: Held | undefined, holdMs: number, queue: Waiter[]): SessionLock {
    const token = {};
    const entry: Held = h ?? { token, expiry: undefined as unknown as NodeJS.Timeout, queue };
    entry.token = token;
    // A holder that never lets go (a hung handler) loses the lock after holdMs.
    entry.expiry = setTimeout(() => { if (entry.token === token) grantNext(id, entry); }, timerMs(holdMs));
    entry.expiry.unref();
    held.set(id, entry);
    let released = false;
    return {
      release(): Promise<void> {
        if (!released) {
          released = true;
          if (entry.token === token && held.get(id) === entry) grantNext(id, entry);
        }
        return Promise.resolve();
      },
    };
  }

  return {
    take(id, waitMs, holdMs, timedOut) {
      const h = held.get(id);
      if (h === undefined) return Promise.resolve(acquire(id, undefined, holdMs, []));
      return new Promise<SessionLock>((resolve, reject) => {
        const waiter: Waiter = {
          timer: undefined,
          grant() {
            clearTimeout(waiter.timer);
            resolve(acquire(id, h, holdMs, h.queue));
          },
        };
        waiter.timer = setTimeout(() => {
          const i = h.queue.indexOf(waiter);
          if (i >= 0) h.queue.splice(i, 1);
          reject(timedOut());
        }, timerMs(waitMs));
        h.queue.push(waiter);
      });
    },
    clear() {
      for (const h of held.values()) clearTimeout(h.expiry);
      held.clear();
    },
  };
}
