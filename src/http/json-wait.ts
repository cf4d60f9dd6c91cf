import type { IncomingMessage } from 'node:http';
import { Wait, type Resume } from '../lib/drive.js';
import { readBodyInto, type BodySink } from './body-reader.js';
import { kJsonSettled, kParseJson } from './request-keys.js';

/** What a JsonWait reads the body of (a Request). */
export interface JsonWaitTarget {
  readonly raw: IncomingMessage;
  /** The body's bytes parsed as `json()` parses them (kept for `bytes()` and `text()`). */
  [kParseJson](body: Buffer): unknown;
  /** The read is over: `json()` from now on gives its `result()`. */
  [kJsonSettled](json: JsonWait): void;
}

/**
 * A declared JSON body, read and parsed for the pipeline as `request.json()`
 * would (the same limits and errors), but yielded to drive as a `Wait`: the
 * steps resume from the body's last chunk, with no promise made, resolved
 * and awaited in between. `json()` then gives the same value, or the same failure.
 */
export class JsonWait extends Wait implements BodySink<unknown> {
  readonly #target: JsonWaitTarget;
  readonly #limit: number;
  readonly #chunked: boolean;
  #to: Resume | undefined = undefined;
  #value: unknown = undefined;
  #failed = false;

  constructor(target: JsonWaitTarget, limit: number, chunked: boolean) {
    super();
    this.#target = target;
    this.#limit = limit;
    this.#chunked = chunked;
  }

  start(to: Resume): void {
    this.#to = to;
    readBodyInto(this.#target.raw, this.#limit, this.#chunked, true, this);
  }

  finish(body: Buffer): unknown {
    return this.#target[kParseJson](body);
  }

  done(value: unknown): void {
    this.#value = value;
    this.#target[kJsonSettled](this);
    this.#to!.resume(value);
  }

  failed(err: unknown): void {
    this.#value = err;
    this.#failed = true;
    this.#target[kJsonSettled](this);
    this.#to!.fail(err);
  }

  /** What `json()` gives once the read is over (made only if it is called: most handlers take the validated body). */
  result(): Promise<unknown> {
    return this.#failed ? Promise.reject(this.#value) : Promise.resolve(this.#value);
  }
}
