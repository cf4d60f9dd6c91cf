import { isThenable } from './thenable.js';

/**
 * The request's life is written as a generator where `yield promise` means
 * `await promise`. `drive` runs it synchronously for as long as nothing is
 * really pending, so a request whose handler and hooks are synchronous
 * costs no promise and no microtask; the first real promise switches to an
 * asynchronous continuation. Code only yields values it knows are thenable,
 * or a `Wait`.
 */
export type Steps<T> = Generator<PromiseLike<unknown> | Wait, T, unknown>;

/** How a `Wait` resumes the steps: one of the two, once. */
export interface Resume {
  resume(value: unknown): void;
  fail(err: unknown): void;
}

/**
 * What a step may yield instead of a promise, for work that ends in a callback
 * (a request body's last chunk): `start` arranges for `to.resume(value)` or
 * `to.fail(err)`, and the steps go on from that callback, with no promise
 * made, resolved and awaited between the two.
 */
export abstract class Wait {
  abstract start(to: Resume): void;
}

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

type Step = IteratorResult<PromiseLike<unknown> | Wait, unknown>;

/** Run the steps to their end, then tell `end` (at once when nothing was pending). */
export function drive<A, B>(steps: Steps<unknown>, end: StepsEnd<A, B>, a: A, b: B): void {
  let step: Step;
  try {
    step = steps.next();
  } catch (err) {
    end.stepsFailed(err, a, b);
    return;
  }
  proceed(steps, step, end, a, b, undefined);
}

/** After a step: wait for what it yielded (a Wait through `resumer`, made once), or end. */
function proceed<A, B>(steps: Steps<unknown>, step: Step, end: StepsEnd<A, B>, a: A, b: B, resumer: Resumer<A, B> | undefined): void {
  if (!step.done) {
    if (step.value instanceof Wait) step.value.start(resumer ?? new Resumer(steps, end, a, b));
    else void continueAsync(steps, step.value, end, a, b);
  } else if (isThenable(step.value)) void settleAsync(step.value, end, a, b);
  else end.stepsDone();
}

/** The steps' side of a `Wait`: resumes them from the callback, synchronously. */
class Resumer<A, B> implements Resume {
  readonly #steps: Steps<unknown>;
  readonly #end: StepsEnd<A, B>;
  readonly #a: A;
  readonly #b: B;

  constructor(steps: Steps<unknown>, end: StepsEnd<A, B>, a: A, b: B) {
    this.#steps = steps;
    this.#end = end;
    this.#a = a;
    this.#b = b;
  }

  resume(value: unknown): void {
    this.#go(false, value);
  }

  fail(err: unknown): void {
    this.#go(true, err);
  }

  #go(failed: boolean, value: unknown): void {
    let step: Step;
    try {
      step = failed ? this.#steps.throw(value) : this.#steps.next(value);
    } catch (err) {
      this.#end.stepsFailed(err, this.#a, this.#b);
      return;
    }
    proceed(this.#steps, step, this.#end, this.#a, this.#b, this);
  }
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
    let step: Step;
    try {
      step = failed ? steps.throw(value) : steps.next(value);
    } catch (err) {
      end.stepsFailed(err, a, b);
      return;
    }
    if (step.done || step.value instanceof Wait) {
      proceed(steps, step, end, a, b, undefined);
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
