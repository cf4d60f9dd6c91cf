import type { IncomingMessage } from 'node:http';
import { Wait, type Resume } from '../lib/drive.js';
import { readBodyInto, type BodySink } from './body-reader.js';
import { kJsonSettled, kParseJson } from './request-keys.js';

/** What a JsonWait reads the body of (a Request). */
export interface JsonWaitTarget {
  readonly raw: IncomingMessage;
  /** The body's bytes parsed as `json()` parses them (kept for `bytes()` and `text()`). */
  [kParseJson](body: Buffer): unknown;
  /** What `json()` gives from now on. */
  [kJsonSettled](json: Promise<unknown>): void;
}

const ignore = (): void => {};

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
    this.#target[kJsonSettled](Promise.resolve(value));
    this.#to!.resume(value);
  }

  failed(err: unknown): void {
    const failure = Promise.reject(err);
    failure.catch(ignore); // the pipeline answers this failure; json() called later rejects with it too
    this.#target[kJsonSettled](failure);
    this.#to!.fail(err);
  }
}
