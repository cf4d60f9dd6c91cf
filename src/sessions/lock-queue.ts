// The locks the file and Redis stores take on session ids, in two halves. Within one process, a
// queue per id: waiters are served in the order they came, with no polling, and a holder that
// never gives the lock back loses it after `holdMs`. Across processes, the store's shared lock
// (a lock file, a Redis key with a token), which only the head of each process's queue polls,
// backing off, until the deadline: so a process with 100 waiting requests sends one probe, not 100.
import { setTimeout as sleep } from 'node:timers/promises';
import { SessionLockTimeoutError, type SessionLock } from './store.js';

/** The shared half of one lock on one id, as a store takes it. */
export interface SharedLock {
  /** Try once to take it, to expire by itself `holdMs` from now; `true` when taken. Throws when the store cannot answer. */
  tryTake(holdMs: number): Promise<boolean>;
  /** Give it back if it is still ours. Never rejects: a lock that cannot be given back expires by itself. */
  release(): Promise<void>;
}

/** Longest pause between two probes of a shared lock another process holds. */
const MAX_PROBE_PAUSE_MS = 20;

type Waiter = () => void;

export class LockQueue {
  /** Ids whose lock is held in this process, each with its waiters, first come first. */
  readonly #held = new Map<string, Waiter[]>();

  /** Take `id`'s lock: this process's turn first, then `shared`; at most `waitMs` in all. */
  async lock(id: string, waitMs: number, holdMs: number, shared: SharedLock): Promise<SessionLock> {
    const deadline = Date.now() + waitMs;
    await this.#enter(id, deadline, waitMs);
    let left = false;
    let expiry: NodeJS.Timeout | undefined;
    const leave = (): void => {
      if (left) return;
      left = true;
      clearTimeout(expiry);
      this.#leave(id);
    };
    try {
      await probe(shared, deadline, waitMs, holdMs);
    } catch (err) {
      leave();
      throw err;
    }
    // The shared lock expires by itself (its holder died); the local turn must too, or one lost
    // `release()` would block this process's later requests of the session for ever.
    expiry = setTimeout(leave, holdMs);
    expiry.unref();
    let released = false;
    return {
      async release(): Promise<void> {
        if (released) return;
        released = true;
        try {
          await shared.release();
        } finally {
          leave();
        }
      },
    };
  }

  /** Wait for this process's turn on `id` until `deadline`. */
  #enter(id: string, deadline: number, waitMs: number): Promise<void> {
    const queue = this.#held.get(id);
    if (queue === undefined) {
      this.#held.set(id, []);
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        const at = queue.indexOf(waiter);
        if (at >= 0) queue.splice(at, 1);
        reject(lockTimeout(waitMs));
      }, Math.max(0, deadline - Date.now()));
      queue.push(waiter);
    });
  }

  /** Hand `id`'s turn to the next waiter, or free it. */
  #leave(id: string): void {
    const queue = this.#held.get(id);
    if (queue === undefined) return;
    const next = queue.shift();
    if (next !== undefined) next();
    else this.#held.delete(id);
  }
}

/** Take the shared lock, probing with growing pauses until `deadline` (at least one probe). */
async function probe(shared: SharedLock, deadline: number, waitMs: number, holdMs: number): Promise<void> {
  let pause = 1;
  for (;;) {
    if (await shared.tryTake(holdMs)) return;
    const left = deadline - Date.now();
    if (left <= 0) throw lockTimeout(waitMs);
    await sleep(Math.min(pause, left));
    pause = Math.min(pause * 2, MAX_PROBE_PAUSE_MS);
  }
}

// The id is a session's secret: errors (which get logged) never name it.
function lockTimeout(waitMs: number): SessionLockTimeoutError {
  return new SessionLockTimeoutError(`the session's lock was still held by another request after ${waitMs} ms (tools.sessions.locking_timeout)`);
}
