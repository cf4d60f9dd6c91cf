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

function continueAsync<T>(steps: Steps<T>, pending: PromiseLike<unknown>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const advance = (step: IteratorResult<PromiseLike<unknown>, T>): void => {
      if (step.done) resolve(step.value);
      else Promise.resolve(step.value).then(onValue, onError);
    };
    const resume = (move: () => IteratorResult<PromiseLike<unknown>, T>): void => {
      let step: IteratorResult<PromiseLike<unknown>, T>;
      try {
        step = move();
      } catch (err) {
        reject(err);
        return;
      }
      advance(step);
    };
    const onValue = (value: unknown): void => resume(() => steps.next(value));
    const onError = (err: unknown): void => resume(() => steps.throw(err));
    Promise.resolve(pending).then(onValue, onError);
  });
}
