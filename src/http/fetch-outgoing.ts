import { Buffer } from 'node:buffer';
import { EventEmitter } from 'node:events';
import { RequestAbortedError } from '../lib/errors.js';
import type { FetchIncoming } from './fetch-incoming.js';

/** Headers about one connection: the runtime frames the response itself, and may refuse them (RFC 9113 §8.2.2 on h2). */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection']);
/** Statuses a web Response must have no body for (fetch's "null body status"). */
const NULL_BODY = new Set([101, 103, 204, 205, 304]);

/** What a failure after commit errors the body with: the runtime then cuts the response, never ends it cleanly (S5). */
export class TruncatedBodyError extends Error {
  constructor() {
    super('The response failed after it was committed; its body is cut short');
    this.name = 'TruncatedBodyError';
  }
}

type Write = () => void;

/**
 * The sink `app.fetch` gives the writer in place of node's ServerResponse:
 * it turns the writer's commit / write / end / destroy into a web
 * `Response`, resolved only at commit (lazy commit holds: until then an
 * error is still a real status).
 *
 * - A response ended in the tick of its commit (`sendBytes`) becomes a
 *   Response over its bytes, with the writer's Content-Length.
 * - A streamed one (a write, or `flushHeaders`) becomes a Response over a
 *   ReadableStream pulled on demand: `write` returns false until the
 *   consumer reads again (highWaterMark 0, so `pull` runs only for a
 *   waiting read), and 'drain' wakes the writer at that `pull`. The
 *   producer is never run ahead of the reader.
 * - `destroy` after commit errors the stream (the runtime then resets the
 *   response); the consumer's `cancel()`, or the request's own signal,
 *   is the client going away: 'close' without finish, as on a socket.
 *
 * A write's callback runs once the consumer has taken what was queued (its
 * next pull): the writer's last in-band chunk (`onStreamError`) is read
 * before the stream errors. A chunk whose buffer its source reuses after
 * that callback is copied first: the consumer may hold a chunk longer.
 */
export class FetchOutgoing extends EventEmitter {
  statusCode = 200;
  headersSent = false;
  /** No declared length: the runtime frames the stream (chunked on HTTP/1.1), so a cut shows (closeDelimited). */
  chunkedEncoding = false;
  destroyed = false;
  closed = false;
  writableEnded = false;
  writableFinished = false;
  readonly writableCorked = 0;
  /** No socket of its own: the writer's uncork-before-destroy has nothing to do. */
  readonly socket = null;
  readonly response: Promise<globalThis.Response>;
  #resolve!: (response: globalThis.Response) => void;
  #reject!: (err: unknown) => void;
  #settled = false;
  #reason: string | undefined;
  #headers: Array<[string, string]> = [];
  #controller: ReadableStreamDefaultController<Uint8Array> | undefined;
  /** The stream can take no more: closed, errored or cancelled. */
  #streamDone = false;
  /** Write callbacks owed at the consumer's next pull. */
  #callbacks: Write[] = [];
  readonly #incoming: FetchIncoming;
  readonly #head: boolean;
  #onFinish: (() => void) | undefined;

  constructor(incoming: FetchIncoming, onFinish: () => void) {
    super();
    this.#incoming = incoming;
    this.#head = incoming.method === 'HEAD';
    this.#onFinish = onFinish;
    this.response = new Promise((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
  }

  get writable(): boolean {
    return !this.destroyed && !this.writableEnded;
  }

  writeHead(status: number, reason: string | undefined, head: Array<string | string[]>): this {
    this.statusCode = status;
    this.#reason = reason;
    const headers: Array<[string, string]> = [];
    let length = false;
    for (let i = 0; i < head.length; i += 2) {
      const name = head[i] as string;
      const lower = name.toLowerCase();
      if (HOP_BY_HOP.has(lower)) continue;
      if (lower === 'content-length') length = true;
      const value = head[i + 1]!;
      if (typeof value === 'string') headers.push([name, value]);
      else for (const v of value) headers.push([name, v]);
    }
    this.#headers = headers;
    this.chunkedEncoding = !length;
    this.headersSent = true;
    return this;
  }

  /** The head goes now and the body will be streamed. */
  flushHeaders(): void {
    if (this.headersSent && !this.#settled) this.#startStream();
  }

  writeContinue(): void {
    // A runtime answers `Expect: 100-continue` itself, or reads the body it was given.
  }

  cork(): void {}
  uncork(): void {}

  write(chunk: string | Uint8Array, callback?: Write): boolean {
    if (this.destroyed || this.writableEnded) return false;
    if (!this.#settled) this.#startStream();
    if (this.#controller === undefined || this.#streamDone) {
      if (callback !== undefined) queueMicrotask(callback);
      return false;
    }
    let bytes: Uint8Array;
    if (typeof chunk === 'string') bytes = Buffer.from(chunk, 'utf8');
    else bytes = callback !== undefined ? new Uint8Array(chunk) : chunk;
    if (callback !== undefined) this.#callbacks.push(callback);
    this.#controller.enqueue(bytes);
    return (this.#controller.desiredSize ?? 0) > 0;
  }

  end(data?: string | Uint8Array): this {
    if (this.destroyed || this.writableEnded) return this;
    if (!this.#settled) {
      this.writableEnded = true;
      const body = data === undefined || this.#bodyless() ? this.#headBody() : typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
      this.#settle(body);
    } else {
      if (data !== undefined) this.write(data);
      this.writableEnded = true;
      if (!this.#streamDone) {
        this.#streamDone = true;
        this.#controller?.close();
      }
    }
    this.writableFinished = true;
    this.#closed();
    return this;
  }

  /** The writer's abort: a failure after commit (the stream errors), or an exchange nobody can answer. */
  destroy(): this {
    if (this.destroyed) return this;
    this.destroyed = true;
    if (!this.#settled) {
      if (this.headersSent) {
        // Committed, then failed before any byte left: the runtime gets a body that fails at once.
        this.#settled = true;
        this.#resolve(this.#response(new ReadableStream<Uint8Array>({ start: (c) => c.error(new TruncatedBodyError()) })));
      } else this.#fail(new RequestAbortedError('DRUPE_CLIENT_CLOSED', 'The response was abandoned before it was committed'));
    } else if (!this.#streamDone) {
      this.#streamDone = true;
      this.#controller?.error(new TruncatedBodyError());
    }
    this.#closed();
    return this;
  }

  /** The client went away (the request's signal, or the consumer cancelled the body): as a socket closing under a response. */
  gone(reason?: unknown): void {
    if (this.writableFinished || this.destroyed) return;
    this.destroyed = true;
    const why = reason ?? new RequestAbortedError('DRUPE_CLIENT_CLOSED', 'The client closed the connection');
    if (!this.#settled) this.#fail(why);
    else if (!this.#streamDone) this.#controller?.error(why); // a read still pending settles: nothing more will come
    this.#streamDone = true;
    this.#closed();
  }

  /**
   * The body of a response sent without one. A HEAD whose GET would be
   * streamed with no declared length gets an empty stream, not null: a
   * runtime answers a null body with `Content-Length: 0`, which tells the
   * client the GET's body is empty; over a stream it frames the head as
   * the GET's would be (B6, S7). Nothing is ever written into it.
   */
  #headBody(): ReadableStream<Uint8Array> | null {
    if (!this.#head || NULL_BODY.has(this.statusCode) || !this.chunkedEncoding) return null;
    return new ReadableStream<Uint8Array>({ start: (c) => c.close() });
  }

  #bodyless(): boolean {
    return this.#head || NULL_BODY.has(this.statusCode);
  }

  #startStream(): void {
    if (this.#bodyless()) {
      // HEAD or a null-body status: the head alone; anything written is dropped, never pulled for.
      this.#streamDone = true;
      this.#settle(this.#headBody());
      return;
    }
    const stream = new ReadableStream<Uint8Array>({
      start: (controller) => {
        this.#controller = controller;
      },
      pull: () => {
        const owed = this.#callbacks;
        if (owed.length > 0) {
          this.#callbacks = [];
          for (const cb of owed) cb();
        }
        this.emit('drain');
      },
      cancel: () => {
        this.#streamDone = true;
        this.gone(new RequestAbortedError('DRUPE_CLIENT_CLOSED', 'The client cancelled the response body'));
      },
    }, { highWaterMark: 0 });
    this.#settle(stream);
  }

  #response(body: Uint8Array | ReadableStream<Uint8Array> | null): globalThis.Response {
    const init: ResponseInit = { status: this.statusCode, headers: this.#headers };
    try {
      return new Response(body, this.#reason === undefined ? init : { ...init, statusText: this.#reason });
    } catch (err) {
      // A reason phrase fetch will not carry (a character past Latin-1): the status alone.
      if (this.#reason === undefined) throw err;
      return new Response(body, init);
    }
  }

  #settle(body: Uint8Array | ReadableStream<Uint8Array> | null): void {
    this.#settled = true;
    try {
      this.#resolve(this.#response(body));
    } catch (err) {
      this.#reject(err);
    }
  }

  #fail(err: unknown): void {
    this.#settled = true;
    this.#reject(err);
  }

  #closed(): void {
    if (this.closed) return;
    this.closed = true;
    this.#incoming.discard();
    const finish = this.#onFinish;
    this.#onFinish = undefined;
    finish?.();
    this.emit('close');
  }
}
