/**
 * The items of a list that fills as they arrive, each yielded once it is there; the end comes
 * when `ended()` says no more will. `wait` resolves once its condition holds (or rejects on the
 * client's timeout): the stream clients' `chunks()`.
 */
export async function* asTheyArrive<T>(
  items: readonly T[],
  ended: () => boolean,
  wait: (ready: () => boolean, what: string) => Promise<void>,
  what: string,
): AsyncGenerator<T, void, undefined> {
  for (let i = 0; ; i++) {
    await wait(() => i < items.length || ended(), what);
    const item = items[i];
    if (item === undefined) return;
    yield item;
  }
}
