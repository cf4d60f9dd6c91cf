/**
 * Whether a value is a promise or promise-like: the hot path awaits only
 * values for which this holds, so synchronous work stays synchronous.
 */
export function isThenable<T = unknown>(v: unknown): v is PromiseLike<T> {
  return typeof v === 'object' && v !== null && typeof (v as PromiseLike<T>).then === 'function';
}
