/**
 * The request's life is written as a generator where `yield promise` means
 * `await promise`. `drive` runs it synchronously for as long as nothing is
 * really pending, so a request whose handler and hooks are synchronous
 * costs no promise and no microtask; the first real promise switches to an
 * asynchronous continuation. Code only yields values it knows are thenable.
 */
export type Steps<T> = Generator<PromiseLike<unknown>, T, unknown>;

export function drive<T>(steps: Steps<T>): T | Promise<T> {
  const step = steps.next();
  return step.done ? step.value : continueAsync(steps, step.value);
}

/**
 * The rest of the steps, once one was really pending: an async function,
 * whose awaits V8 runs without the closures and the promise per step that
 * `then(onValue, onError)` chaining would allocate. A rejection is thrown
 * into the steps; what the steps throw rejects the result.
 */
async function continueAsync<T>(steps: Steps<T>, pending: PromiseLike<unknown>): Promise<T> {
  for (;;) {
    let value: unknown;
    let failed = false;
    try {
      value = await pending;
    } catch (err) {
      value = err;
      failed = true;
    }
    const step = failed ? steps.throw(value) : steps.next(value);
    if (step.done) return step.value;
    pending = step.value;
  }
}
