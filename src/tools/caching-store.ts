import type { IncomingHttpHeaders } from 'node:http';

/** A response as tools.caching keeps it: what it needs to send it again. */
export interface CachedResponse {
  readonly status: number;
  /** A reason phrase the handler chose, or undefined for the standard one. */
  readonly reason: string | undefined;
  /** The response's own headers (not those the writer adds: Content-Length, Date, Server), in order, each name with its values. */
  readonly headers: readonly (readonly [string, readonly string[]])[];
  readonly body: Buffer;
  /** When it was stored, ms since the epoch: its `Age` counts from here. */
  readonly storedAt: number;
  /** Until when it may be served, ms since the epoch. */
  readonly freshUntil: number;
}

/** One stored variant of a URI. */
interface Slot {
  readonly uri: string;
  readonly key: string;
  readonly value: CachedResponse;
  /** What it counts against `maxsize`: body, key and headers. */
  readonly size: number;
}

/** What the cache knows of a URI: the request headers its responses vary on, and its stored variants. */
interface UriState {
  readonly vary: readonly string[];
  readonly keys: Set<string>;
}

export interface CacheBounds {
  /** Bytes all entries may hold together (bodies, keys and headers). */
  readonly maxsize: number;
  /** How many entries may be held. */
  readonly maxobjects: number;
}

/** Bookkeeping per entry beyond its bytes (the maps' own nodes), so that many tiny entries still count. */
const SLOT_OVERHEAD = 128;

/**
 * A request computing a response the cache does not hold. The first one
 * for a key leads: identical requests arriving meanwhile wait for it
 * (`done`) rather than compute the same response again.
 */
export class Miss {
  /** The URI was invalidated (an unsafe method) while this response was being computed: store nothing. */
  voided = false;
  readonly done: Promise<void> | undefined;
  #wake: (() => void) | undefined;

  constructor(readonly uri: string, readonly key: string, readonly leads: boolean) {
    if (leads) this.done = new Promise<void>((resolve) => { this.#wake = resolve; });
  }

  /** Let the requests waiting for this one go on (to the stored copy, or to compute their own). */
  wake(): void {
    const w = this.#wake;
    this.#wake = undefined;
    w?.();
  }
}

/**
 * CherryPy's MemoryCache with its AntiStampedeCache: entries per URI, one
 * per combination of the values of the request headers the URI's
 * responses `Vary` on; least recently used evicted first once `maxsize`
 * bytes or `maxobjects` entries are passed; an expired entry is dropped
 * when it is next looked up (or evicted first, being the least used).
 */
export class MemoryCache {
  /** Every entry, least recently used first (a Map keeps insertion order; a hit re-inserts). */
  readonly #slots = new Map<string, Slot>();
  readonly #uris = new Map<string, UriState>();
  /** key → the miss identical requests wait for. */
  readonly #leaders = new Map<string, Miss>();
  /** uri → the misses computing one of its responses now, voided by an invalidation. */
  readonly #inflight = new Map<string, Set<Miss>>();
  #size = 0;

  constructor(readonly bounds: CacheBounds) {}

  /** Bytes held and entries held. */
  get size(): number {
    return this.#size;
  }

  get count(): number {
    return this.#slots.size;
  }

  /** The key of the variant a request selects among the URI's stored ones. */
  keyFor(uri: string, headers: IncomingHttpHeaders): string {
    return variantKey(uri, this.#uris.get(uri)?.vary ?? NO_VARY, headers);
  }

  /** The fresh entry under `key`, now the most recently used; an expired one is dropped. */
  get(key: string, now: number): CachedResponse | undefined {
    const slot = this.#slots.get(key);
    if (slot === undefined) return undefined;
    this.#slots.delete(key);
    if (now >= slot.value.freshUntil) {
      this.#forget(slot);
      return undefined;
    }
    this.#slots.set(key, slot);
    return slot.value;
  }

  /** The miss identical requests would wait for, if one is running. */
  leaderFor(key: string): Miss | undefined {
    return this.#leaders.get(key);
  }

  /** A request starts computing the response for `key` (leading if none does yet). */
  begin(uri: string, key: string): Miss {
    const miss = new Miss(uri, key, !this.#leaders.has(key));
    if (miss.leads) this.#leaders.set(key, miss);
    let set = this.#inflight.get(uri);
    if (set === undefined) this.#inflight.set(uri, (set = new Set()));
    set.add(miss);
    return miss;
  }

  /** The miss will store nothing soon (a stream, a failure): the requests waiting for it go on now. */
  release(miss: Miss): void {
    if (this.#leaders.get(miss.key) === miss) this.#leaders.delete(miss.key);
    miss.wake();
  }

  /** The miss is over, stored or not. */
  end(miss: Miss): void {
    this.release(miss);
    const set = this.#inflight.get(miss.uri);
    if (set !== undefined && set.delete(miss) && set.size === 0) this.#inflight.delete(miss.uri);
  }

  /**
   * Store a miss's response under the variant its request selects by
   * `vary` (the response's Vary names). A URI whose responses now vary on
   * other headers loses its older variants. False when nothing was stored
   * (voided, or bigger than the whole cache).
   */
  put(miss: Miss, vary: readonly string[], headers: IncomingHttpHeaders, value: CachedResponse): boolean {
    if (miss.voided) return false;
    const uri = miss.uri;
    const key = variantKey(uri, vary, headers);
    const size = SLOT_OVERHEAD + value.body.length + 2 * key.length + headersSize(value.headers);
    if (size > this.bounds.maxsize) return false;
    const known = this.#uris.get(uri);
    if (known !== undefined && !sameNames(known.vary, vary)) this.invalidate(uri, false);
    const old = this.#slots.get(key);
    if (old !== undefined) this.#forget(old);
    // Looked up after the forgetting above, which drops the URI's state with its last entry.
    let state = this.#uris.get(uri);
    if (state === undefined) this.#uris.set(uri, (state = { vary, keys: new Set() }));
    this.#slots.set(key, { uri, key, value, size });
    state.keys.add(key);
    this.#size += size;
    // Least recently used first, until within both bounds.
    for (const oldest of this.#slots.values()) {
      if (this.#size <= this.bounds.maxsize && this.#slots.size <= this.bounds.maxobjects) break;
      this.#forget(oldest);
    }
    return true;
  }

  /**
   * Drop every stored variant of a URI (CherryPy's `delete`, on POST, PUT,
   * PATCH or DELETE). With `inflight`, responses being computed for it now
   * are not stored either: they may predate the change.
   */
  invalidate(uri: string, inflight = true): void {
    const state = this.#uris.get(uri);
    if (state !== undefined) {
      for (const key of state.keys) {
        const slot = this.#slots.get(key);
        if (slot !== undefined) this.#forget(slot);
      }
      this.#uris.delete(uri);
    }
    if (inflight) for (const miss of this.#inflight.get(uri) ?? []) miss.voided = true;
  }

  #forget(slot: Slot): void {
    if (this.#slots.get(slot.key) === slot) this.#slots.delete(slot.key);
    this.#size -= slot.size;
    const state = this.#uris.get(slot.uri);
    if (state !== undefined && state.keys.delete(slot.key) && state.keys.size === 0) this.#uris.delete(slot.uri);
  }
}

const NO_VARY: readonly string[] = Object.freeze([]);

/** The URI, then each varied-on header's value (absent and empty told apart): header values hold no newline. */
function variantKey(uri: string, vary: readonly string[], headers: IncomingHttpHeaders): string {
  let key = uri;
  for (const name of vary) {
    const v = headers[name];
    key += v === undefined ? '\n\0' : '\n' + (Array.isArray(v) ? v.join(', ') : v);
  }
  return key;
}

function sameNames(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((n, i) => n === b[i]);
}

function headersSize(headers: readonly (readonly [string, readonly string[]])[]): number {
  let n = 0;
  for (const [name, values] of headers) for (const v of values) n += name.length + v.length + 4;
  return n;
}
