import { isThenable } from './thenable.js';

/**
 * The request's life is written as a generator where `yield promise` means
 * `await promise`. `drive` runs it synchronously for as long as nothing is
 * really pending, so a request whose handler and hooks are synchronous
 * costs no promise and no microtask; the first real promise switches to an
 * asynchronous continuation. Code only yields values it knows are thenable.
 */
export type Steps<T> = Generator<PromiseLike<unknown>, T, unknown>;

/**
 * Who hears that the steps are over: told directly, so a request that went
 * asynchronous costs no `then` (a derived promise, its reactions and a
 * closure over the request) on the continuation's promise. `a` and `b` are
 * what `drive` was given, handed back to a failure with no closure to hold them.
 */
export interface StepsEnd<A, B> {
  stepsDone(): void;
  /** What the steps threw, or a promise they returned rejected with. */
  stepsFailed(err: unknown, a: A, b: B): void;
}

/** Run the steps to their end, then tell `end` (at once when nothing was pending). */
export function drive<A, B>(steps: Steps<unknown>, end: StepsEnd<A, B>, a: A, b: B): void {
  let step: IteratorResult<PromiseLike<unknown>, unknown>;
  try {
    step = steps.next();
  } catch (err) {
    end.stepsFailed(err, a, b);
    return;
  }
  if (!step.done) void continueAsync(steps, step.value, end, a, b);
  else if (isThenable(step.value)) void settleAsync(step.value, end, a, b);
  else end.stepsDone();
}

/**
 * The rest of the steps, once one was really pending: an async function,
 * whose awaits V8 runs without the closures and the promise per step that
 * `then(onValue, onError)` chaining would allocate. A rejection is thrown
 * into the steps. Its own promise never rejects: what the steps throw goes to `end`.
 */
async function continueAsync<A, B>(steps: Steps<unknown>, pending: PromiseLike<unknown>, end: StepsEnd<A, B>, a: A, b: B): Promise<void> {
  for (;;) {
    let value: unknown;
    let failed = false;
    try {
      value = await pending;
    } catch (err) {
      value = err;
      failed = true;
    }
    let step: IteratorResult<PromiseLike<unknown>, unknown>;
    try {
      step = failed ? steps.throw(value) : steps.next(value);
    } catch (err) {
      end.stepsFailed(err, a, b);
      return;
    }
    if (step.done) {
      if (isThenable(step.value)) return settleAsync(step.value, end, a, b);
      end.stepsDone();
      return;
    }
    pending = step.value;
  }
}

/** Steps that returned a promise (a body still streaming) end when it settles. */
async function settleAsync<A, B>(last: PromiseLike<unknown>, end: StepsEnd<A, B>, a: A, b: B): Promise<void> {
  try {
    await last;
  } catch (err) {
    end.stepsFailed(err, a, b);
    return;
  }
  end.stepsDone();
}
