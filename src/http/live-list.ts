/** What a `LiveList` links through: two fields its members declare (undefined when not in a list). */
export interface Linkable<T> {
  livePrev: T | undefined;
  liveNext: T | undefined;
  /** The list it is in (a member is in one at most). */
  liveIn: object | undefined;
}

/**
 * The exchanges a server must reach at shutdown (streamed responses,
 * WebSocket sessions): a list linked through its members, with a Set's
 * `add`, `delete`, `has`, `size` and iteration. Not a Set: the list lives
 * as long as the server, and a long-lived Set that takes and drops a young
 * object per request makes every young-generation collection work through
 * its table (docs/benchmarks.md, HTTP/2 section). Iteration walks a copy,
 * so a member may leave the list while it is being walked.
 */
export class LiveList<T extends Linkable<T>> {
  #head: T | undefined = undefined;
  #size = 0;

  get size(): number {
    return this.#size;
  }

  has(item: T): boolean {
    return item.liveIn === this;
  }

  add(item: T): this {
    if (item.liveIn !== undefined) return this;
    item.liveIn = this;
    item.livePrev = undefined;
    item.liveNext = this.#head;
    if (this.#head !== undefined) this.#head.livePrev = item;
    this.#head = item;
    this.#size++;
    return this;
  }

  delete(item: T): boolean {
    if (item.liveIn !== this) return false;
    const { livePrev: prev, liveNext: next } = item;
    if (prev === undefined) this.#head = next;
    else prev.liveNext = next;
    if (next !== undefined) next.livePrev = prev;
    item.livePrev = item.liveNext = item.liveIn = undefined;
    this.#size--;
    return true;
  }

  *[Symbol.iterator](): IterableIterator<T> {
    const items: T[] = [];
    for (let item = this.#head; item !== undefined; item = item.liveNext) items.push(item);
    yield* items;
  }
}
