// The locks the session stores take on session ids, in two halves (the RAM store needs only the first). Within one process, a
// queue per id: waiters are served in the order they came, with no polling, and a holder that
// never gives the lock back loses it after `holdMs`. Across processes, the store's shared lock
// (a lock file, a Redis key with a token), which only the head of each process's queue polls,
// backing off, until the deadline: so a process with 100 waiting requests sends one probe, not 100.
// A head whose probe fails leaves a mark that its process waits; a process that releases the lock
// and sees another's mark makes its next local waiter pause for one probe interval before taking
// it again, so a process with a long queue of its own does not keep the lock from the others.
import { setTimeout as sleep } from 'node:timers/promises';
import { SessionLockTimeoutError, type SessionLock } from './store.js';

/** The shared half of one lock on one id, as a store takes it. */
export interface SharedLock {
  /**
   * Try once to take it, to expire by itself `holdMs` from now; `true` when taken. When it is
   * held, leave a mark that this process waits (for `WAITING_MARK_MS`). Throws when the store
   * cannot answer.
   */
  tryTake(holdMs: number): Promise<boolean>;
  /**
   * Give it back if it is still ours; `true` when another process's mark says it waits. Never
   * rejects: a lock that cannot be given back expires by itself.
   */
  release(): Promise<boolean>;
}

/** Longest pause between two probes of a shared lock another process holds. */
const MAX_PROBE_PAUSE_MS = 20;
/** How long the mark of a waiting process lasts: a few of its probes, so a live waiter keeps it. */
export const WAITING_MARK_MS = 5 * MAX_PROBE_PAUSE_MS;
/** The pause that leaves another process's waiting head one probe at a free lock. */
const YIELD_MS = MAX_PROBE_PAUSE_MS + 5;
/** The longest delay a node timer takes (a longer one would fire at once). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Called with `true` when the turn comes with a pause first (another process waits). */
type Waiter = (yieldFirst: boolean) => void;

export class LockQueue {
  /** Ids whose lock is held in this process, each with its waiters, first come first. */
  readonly #held = new Map<string, Waiter[]>();

  /** Take `id`'s lock: this process's turn first, then `shared`; at most `waitMs` in all. */
  async lock(id: string, waitMs: number, holdMs: number, shared: SharedLock): Promise<SessionLock> {
    const deadline = Date.now() + waitMs;
    const yieldFirst = await this.#enter(id, deadline, waitMs);
    let left = false;
    let expiry: NodeJS.Timeout | undefined;
    const leave = (othersWait = false): void => {
      if (left) return;
      left = true;
      clearTimeout(expiry);
      this.#leave(id, othersWait);
    };
    try {
      if (yieldFirst) await sleep(Math.min(YIELD_MS, Math.max(0, deadline - Date.now())));
      await probe(shared, deadline, waitMs, holdMs);
    } catch (err) {
      leave();
      throw err;
    }
    // The shared lock expires by itself (its holder died); the local turn must too, or one lost
    // `release()` would block this process's later requests of the session for ever.
    expiry = setTimeout(() => leave(), Math.min(holdMs, MAX_TIMER_MS));
    expiry.unref();
    let released = false;
    return {
      async release(): Promise<void> {
        if (released) return;
        released = true;
        let othersWait = false;
        try {
          othersWait = await shared.release();
        } finally {
          leave(othersWait);
        }
      },
    };
  }

  /** Wait for this process's turn on `id` until `deadline`. */
  #enter(id: string, deadline: number, waitMs: number): Promise<boolean> {
    const queue = this.#held.get(id);
    if (queue === undefined) {
      this.#held.set(id, []);
      return Promise.resolve(false);
    }
    return new Promise<boolean>((resolve, reject) => {
      const waiter: Waiter = (yieldFirst) => {
        clearTimeout(timer);
        resolve(yieldFirst);
      };
      const timer = setTimeout(() => {
        const at = queue.indexOf(waiter);
        if (at >= 0) queue.splice(at, 1);
        reject(lockTimeout(waitMs));
      }, Math.min(Math.max(0, deadline - Date.now()), MAX_TIMER_MS));
      queue.push(waiter);
    });
  }

  /** Hand `id`'s turn to the next waiter (to pause first when another process waits), or free it. */
  #leave(id: string, othersWait: boolean): void {
    const queue = this.#held.get(id);
    if (queue === undefined) return;
    const next = queue.shift();
    if (next !== undefined) next(othersWait);
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
