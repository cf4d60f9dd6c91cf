import { Buffer } from 'node:buffer';
import type { Chunk, ChunkSource } from './chunk-source.js';
import { DrupeError, RequestAbortedError } from '../lib/errors.js';
import { kHasLatin1 } from './headers.js';
import { isBodyless } from '../lib/status.js';
import { kAbort } from './request.js';
import { kCustomReason } from './response.js';
import { closedEarly, isClosed } from './h2-stream.js';
import { abort, commit, declaredLength, hasNonAscii, truncate, type Exchange, type WriterHost } from './writer.js';

/**
 * A producer that never awaits may write this many bytes, or this many
 * chunks, before the writer yields one event-loop turn (S4 fairness).
 */
export const FAIRNESS_BYTES = 256 * 1024;
export const FAIRNESS_CHUNKS = 512;

/** What a writer is waiting for. */
const RUNNING = 0;
const CHUNK = 1;
const DRAIN = 2;
const TURN = 3;
const DONE = 4;

/** A writer's flags. TEXT: UTF-8 text goes to node as a string; MEASURE: string chunks are measured (see `start`). */
const TEXT = 1;
const MEASURE = 2;
/** A string chunk went out unmeasured: `sent` no longer counts every byte. */
const UNMEASURED = 4;
/** `start` returned with the body still streaming: its end goes to `host.streamEnded`. */
const DETACHED = 8;

type Pulled = Chunk | null | undefined | Promise<Chunk | null>;

/** What follows a streamed body, whichever way it ended (the pipeline's end of the request). */
type After = (host: WriterHost, ctx: Exchange) => void | Promise<void>;

/**
 * A streamed body (S1–S8): commit at the first chunk, write each chunk as
 * it comes, pull the next only once the socket took the last, and end so
 * the client can tell a complete body from a cut one; then `after`. The
 * writer calls `after` itself, so that the caller need not wait with a
 * frame of its own for as long as the body streams. Returns what `after`
 * returns when the whole body went out at once (only `after` may throw).
 * Otherwise it returns nothing once the stream is under way, having told
 * the host (`streamStarted`), and hands what `after` returns, or a promise
 * rejected with what it threw, to `host.streamEnded` at the end: no
 * promise is held for as long as the body streams.
 */
export function sendStream<H extends WriterHost, X extends Exchange>(
  host: H,
  ctx: X,
  source: ChunkSource,
  first: Buffer | null | undefined | Promise<Buffer | null>,
  after: (host: H, ctx: X) => void | Promise<void>,
): void | Promise<void> {
  return new StreamWriter(host, ctx, source, after as After).start(first);
}

/** The write callback that hands a written chunk back to its source (node calls it once the socket is done with it). */
function releaseLater(source: ChunkSource, chunk: Buffer): () => void {
  return () => source.release!(chunk);
}

function quietly(p: void | Promise<void>): void {
  if (p instanceof Promise) p.catch(() => undefined);
}

function nextTurn(writer: StreamWriter): void {
  writer.turned();
}

/**
 * One streamed body in flight, as a state machine rather than an async
 * function: the pump runs synchronously until it must wait (a pending
 * chunk, a drain, a fairness turn) and the event resumes it. Every
 * young-generation collection copies what each stream in flight holds:
 * this way a stream holds this one object and its two listeners — no
 * suspended async frame, no context of closures, no promise per drain
 * and none for its end.
 */
class StreamWriter {
  readonly #host: WriterHost;
  readonly #ctx: Exchange;
  readonly #source: ChunkSource;
  readonly #after: After;
  #state = RUNNING;
  #gone: boolean;
  #declared: number | null = null;
  /** TEXT, MEASURE, UNMEASURED, DETACHED: one field, not four (a stream in flight is copied whole by each scavenge). */
  #flags = 0;
  /** Bytes written, as long as every chunk was measured (no UNMEASURED string yet); and chunks. */
  #sent = 0;
  #written = 0;
  /** Fairness (S4): bytes and chunks since the writer last yielded a turn. */
  #burst = 0;
  #burstChunks = 0;
  /**
   * The response's 'close' and 'drain' listeners. Two, not one that asks the response which
   * event it was: node:http on other runtimes (Deno) need not report a connection closed by
   * the time its 'close' fires.
   */
  readonly #onClose: () => void;
  readonly #onDrain: () => void;
  #onChunk: ((chunk: Chunk | null) => void) | undefined;
  #onChunkError: ((err: unknown) => void) | undefined;

  /** What `after` returned when the body ended before `start` did. */
  #ending: void | Promise<void> = undefined;

  constructor(host: WriterHost, ctx: Exchange, source: ChunkSource, after: After) {
    this.#host = host;
    this.#ctx = ctx;
    this.#source = source;
    this.#after = after;
    this.#gone = ctx.h2 ? isClosed(ctx.res, true) : ctx.res.destroyed;
    this.#onClose = () => this.#closed();
    this.#onDrain = () => this.#drained();
  }

  start(first: Buffer | null | undefined | Promise<Buffer | null>): void | Promise<void> {
    const { request, response } = this.#ctx;
    const res = this.#ctx.res;
    res.on('close', this.#onClose);
    res.on('drain', this.#onDrain);
    this.#host.streams.add(this.#ctx);
    try {
      if (this.#gone) {
        this.#ctx.outcome = 'client-closed';
        quietly(this.#source.close());
        return this.#finish();
      }
      const declared = (this.#declared = declaredLength(this.#ctx));
      const committing = !response.committed;
      if (committing) commit(this.#host, this.#ctx, declared);
      if (request.method === 'HEAD' || isBodyless(response.status)) {
        // S7: headers only; the producer was pulled no further than its commit point (finalize), and stops here.
        quietly(this.#source.close());
        res.end();
        return this.#finish();
      }
      // Nothing in hand yet ('immediately', or N ms without a chunk): node holds
      // the head until the first write unless told to send it now (S1).
      if (committing && this.#ctx.streamed && (first === undefined || first instanceof Promise)) res.flushHeaders();
      // UTF-8 text goes to node as a string, which it encodes as it writes, with no Buffer per chunk —
      // unless the head may still travel glued to it: node would encode that head as UTF-8 too.
      if (!(response.headers[kHasLatin1] || hasNonAscii(response[kCustomReason]))) this.#flags |= TEXT;
      // A string's bytes are counted only for a reader of the count, a declared length or the access
      // line: node counts them again as it writes the string, and the count is a scan of the whole string.
      if (declared !== null || this.#ctx.started !== 0) this.#flags |= MEASURE;
      this.#pump(first);
    } catch (err) {
      this.#fail(err);
    }
    if (this.#state === DONE) return this.#ending;
    this.#flags |= DETACHED;
    this.#host.streamStarted();
  }

  /**
   * Pull and write until something must be waited for. Fairness (S4): a producer that never
   * waits for I/O must not starve other connections. Neither a settled chunk nor a drain is
   * sure to give the event loop a turn (both may come as microtasks while a fast reader keeps
   * up), so only the writer's own turn (`nextTurn`) resets the counts.
   */
  #pump(chunk: Pulled): void {
    for (;;) {
      if (chunk === undefined) chunk = this.#source.next((this.#flags & TEXT) !== 0);
      // A source's promises are native (chunk-source.ts): a type test, not a `.then` lookup per chunk.
      if (chunk instanceof Promise) {
        this.#state = CHUNK;
        chunk.then((this.#onChunk ??= (c) => this.#resume(c)), (this.#onChunkError ??= (err) => this.#fail(err)));
        return;
      }
      if (this.#gone || chunk === null) return this.#end();
      if (chunk.length > 0 && !this.#write(chunk)) {
        this.#state = DRAIN;
        return;
      }
      if (!this.#fair()) return;
      chunk = undefined;
    }
  }

  /** Write one chunk; false: wait for 'drain'. */
  #write(chunk: Chunk): boolean {
    // Bytes, not UTF-16 units: a string is measured as UTF-8.
    let size = chunk.length;
    if (typeof chunk === 'string') {
      if ((this.#flags & MEASURE) !== 0) size = Buffer.byteLength(chunk);
      else this.#flags |= UNMEASURED;
    }
    const declared = this.#declared;
    if (declared !== null && this.#sent + size > declared) {
      throw new DrupeError('DRUPE_ERR_CONTENT_LENGTH', `The streamed body produced more than its declared Content-Length (${declared} bytes)`);
    }
    if ((this.#flags & UNMEASURED) === 0) this.#sent += size;
    this.#written++;
    this.#burst += size;
    const source = this.#source;
    return this.#ctx.res.write(chunk, typeof chunk === 'string' || source.release === undefined ? undefined : releaseLater(source, chunk));
  }

  /** Count a chunk (empty ones too: a producer yielding '' forever must not hold the loop); false: a turn is due first. */
  #fair(): boolean {
    if (++this.#burstChunks < FAIRNESS_CHUNKS && this.#burst < FAIRNESS_BYTES) return true;
    this.#state = TURN;
    setImmediate(nextTurn, this);
    return false;
  }

  /** The fairness turn came: go on. */
  turned(): void {
    this.#burst = this.#burstChunks = 0;
    this.#state = RUNNING;
    this.#resume(undefined);
  }

  /** Go on with `chunk` (a settled one, or undefined to pull the next). */
  #resume(chunk: Chunk | null | undefined): void {
    this.#state = RUNNING;
    try {
      if (this.#gone) this.#end();
      else this.#pump(chunk);
    } catch (err) {
      this.#fail(err);
    }
  }

  /** 'close' on the response: if the client left, stop the producer, and wake the writer if it waits for a drain. */
  #closed(): void {
    if (!closedEarly(this.#ctx.res, this.#ctx.h2)) return;
    this.#gone = true;
    this.#ctx.request[kAbort](new RequestAbortedError('DRUPE_CLIENT_CLOSED', 'The client closed the connection'));
    // An async generator runs return() after its pending next() settles (S6).
    quietly(this.#source.close());
    this.#drained();
  }

  /** 'drain' on the response (or the client left): a writer waiting for it goes on. */
  #drained(): void {
    if (this.#state !== DRAIN) return;
    // After a drain, the chunk it held up counts towards fairness before the next is pulled.
    this.#state = RUNNING;
    try {
      if (this.#gone) this.#end();
      else if (this.#fair()) this.#pump(undefined);
    } catch (err) {
      this.#fail(err);
    }
  }

  /** The body ended, or the client left. */
  #end(): void {
    if (this.#gone) {
      this.#ctx.outcome = 'client-closed';
      return this.#finish();
    }
    const declared = this.#declared;
    if (declared !== null && this.#sent !== declared) {
      throw new DrupeError('DRUPE_ERR_CONTENT_LENGTH', `The streamed body ended after ${this.#sent} of its declared ${declared} bytes`);
    }
    this.#ctx.res.end();
    this.#finish();
  }

  /** The body failed (S5): truncate it visibly, unless the client left first. */
  #fail(err: unknown): void {
    if (this.#state === DONE) return;
    const ctx = this.#ctx;
    try {
      if (this.#gone) ctx.outcome = 'client-closed';
      else {
        ctx.outcome = 'error';
        const { request } = ctx;
        const after = (this.#flags & UNMEASURED) === 0 ? `${this.#sent} bytes` : `${this.#written} chunks`;
        this.#host.logError(`Stream of ${request.method} ${request.scriptName}${request.path} failed after ${after}; response truncated`, err, request.id);
        quietly(this.#source.close());
        truncate(ctx, err, this.#host);
      }
    } catch (again) {
      // As for any writing that failed: log it, and cut the response.
      this.#host.logError('Writing the response failed', again, ctx.request.id);
      abort(ctx);
    }
    this.#finish();
  }

  /** Done, whichever way: record what was sent, let go of the response, then `after`. */
  #finish(): void {
    this.#state = DONE;
    const ctx = this.#ctx;
    ctx.bytesSent = this.#sent;
    this.#ctx.res.off('close', this.#onClose);
    this.#ctx.res.off('drain', this.#onDrain);
    this.#host.streams.delete(ctx);
    this.#onChunk = this.#onChunkError = undefined;
    if ((this.#flags & DETACHED) === 0) {
      this.#ending = this.#after(this.#host, ctx); // still in `start`: it returns this
      return;
    }
    let ending: void | Promise<void>;
    try {
      ending = this.#after(this.#host, ctx);
    } catch (err) {
      ending = Promise.reject(err);
    }
    this.#host.streamEnded(ctx, ending);
  }
}
