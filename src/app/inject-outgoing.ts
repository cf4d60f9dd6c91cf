import { Buffer } from 'node:buffer';
import { EventEmitter } from 'node:events';
import { STATUS_CODES } from 'node:http';
import { RequestAbortedError } from '../lib/errors.js';
import type { InjectIncoming } from './inject-incoming.js';
import { InjectResult } from './inject-result.js';

type Write = () => void;

/**
 * The sink `app.inject` gives the writer in place of node's
 * ServerResponse: it keeps the head and every chunk as the writer wrote
 * it, and settles once the response is over — ended (complete), or
 * destroyed after commit (truncated: the app failed mid-stream, or the
 * injection's signal aborted it). A response abandoned before commit, or
 * aborted by the signal before it, rejects.
 *
 * Nothing is in the way of the writer: every write is taken at once
 * (`write` returns true), a write's callback runs in the next microtask. A
 * chunk written with a callback may be a buffer its source reuses after
 * that callback, so it is copied; one without is kept as it is.
 */
export class InjectOutgoing extends EventEmitter {
  statusCode = 200;
  headersSent = false;
  chunkedEncoding = false;
  destroyed = false;
  closed = false;
  writableEnded = false;
  writableFinished = false;
  readonly writableCorked = 0;
  /** No socket of its own: the writer's uncork-before-destroy has nothing to do. */
  readonly socket = null;
  readonly result: Promise<InjectResult>;
  #resolve!: (result: InjectResult) => void;
  #reject!: (err: unknown) => void;
  #reason: string | undefined;
  #head: string[] = [];
  #chunks: Buffer[] = [];
  /** Written with `write` (a streamed body), not in one `end`. */
  #streamed = false;
  readonly #incoming: InjectIncoming;
  #onClose: (() => void) | undefined;

  constructor(incoming: InjectIncoming, onClose: (() => void) | undefined) {
    super();
    this.#incoming = incoming;
    this.#onClose = onClose;
    this.result = new Promise((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
  }

  get writable(): boolean {
    return !this.destroyed && !this.writableEnded;
  }

  /** The writer gives its head as a flat [name, value, …] list; a Tree's plain 404 as an object. */
  writeHead(status: number, reason?: string, head?: Array<string | string[]> | Record<string, string>): this {
    this.statusCode = status;
    this.#reason = reason;
    const flat: string[] = [];
    if (Array.isArray(head)) {
      for (let i = 0; i < head.length; i += 2) {
        const name = head[i] as string;
        const value = head[i + 1]!;
        if (typeof value === 'string') flat.push(name, value);
        else for (const v of value) flat.push(name, v);
      }
    } else if (head !== undefined) {
      for (const name of Object.keys(head)) flat.push(name, head[name]!);
    }
    let length = false;
    for (let i = 0; i < flat.length; i += 2) if (flat[i]!.toLowerCase() === 'content-length') length = true;
    this.chunkedEncoding = !length;
    this.#head = flat;
    this.headersSent = true;
    return this;
  }

  flushHeaders(): void {
    this.#streamed = true;
  }

  writeContinue(): void {
    // Nothing waits for 100 Continue: the body is in hand.
  }

  cork(): void {}
  uncork(): void {}

  write(chunk: string | Uint8Array, callback?: Write): boolean {
    if (this.destroyed || this.writableEnded) return false;
    this.#streamed = true;
    if (typeof chunk === 'string') this.#chunks.push(Buffer.from(chunk, 'utf8'));
    else if (callback !== undefined) this.#chunks.push(Buffer.from(chunk));
    else this.#chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    if (callback !== undefined) queueMicrotask(callback);
    return true;
  }

  end(data?: string | Uint8Array): this {
    if (this.destroyed || this.writableEnded) return this;
    if (data !== undefined && data.length > 0) {
      this.#chunks.push(typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.isBuffer(data) ? data : Buffer.from(data));
    }
    this.writableEnded = true;
    this.writableFinished = true;
    this.#settle(true);
    this.#closed();
    return this;
  }

  /** The writer's abort: a failure after commit (the body is cut), or an exchange nobody can answer. */
  destroy(): this {
    if (this.destroyed) return this;
    this.destroyed = true;
    if (this.headersSent) this.#settle(false);
    else this.#reject(new RequestAbortedError('DRUPE_CLIENT_CLOSED', 'The response was abandoned before it was committed'));
    this.#closed();
    return this;
  }

  /** The injection's signal aborted: as a client closing its connection under the response. */
  gone(reason: unknown): void {
    if (this.writableFinished || this.destroyed) return;
    this.destroyed = true;
    if (this.headersSent) this.#settle(false);
    else this.#reject(reason);
    this.#closed();
  }

  #settle(completed: boolean): void {
    const status = this.statusCode;
    this.#resolve(new InjectResult(status, this.#reason ?? STATUS_CODES[status] ?? '', this.#head, this.#chunks, this.#streamed, completed));
  }

  #closed(): void {
    if (this.closed) return;
    this.closed = true;
    this.#incoming.discard();
    const onClose = this.#onClose;
    this.#onClose = undefined;
    onClose?.();
    this.emit('close');
  }
}
