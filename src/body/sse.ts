import { DrupeError } from '../lib/errors.js';
import { shapeSelf, type BodyShape, type ChunkSource, type SelfShapingBody } from './body.js';
import type { Context } from '../http/request.js';

/** One server-sent event. `data` that is not a string is sent as JSON. */
export interface SseMessage {
  data: unknown;
  event?: string;
  id?: string;
  /** Reconnection delay for the client, in ms. */
  retry?: number;
}

export interface SseOptions {
  /** A comment line after this many ms without an event, so proxies keep the connection (0: none). Default 15000. */
  heartbeat?: number;
  /** A `retry:` field sent first. */
  retry?: number;
  /**
   * The name of the event sent in-band when the stream fails after it
   * started (data: 'The stream failed'). Default 'stream-error': a browser
   * hands an event named 'error' to `EventSource.onerror`, where it cannot be
   * told from a lost connection.
   */
  errorEvent?: string;
  /** The event sent in-band when the stream fails after it started (overrides `errorEvent`); return undefined to send none. */
  onError?: (err: unknown) => SseMessage | undefined;
}

/** The default name of sse()'s in-band error event (see `SseOptions.errorEvent`). */
export const SSE_ERROR_EVENT = 'stream-error';

const HEARTBEAT = Buffer.from(': keep-alive\n\n');
const NO_LINE_BREAK = /^[^\r\n]*$/;

/** Format one event per the EventSource spec: multi-line data as several `data:` lines. */
export function formatEvent(message: string | SseMessage): string {
  const m: SseMessage = typeof message === 'string' ? { data: message } : message;
  let out = '';
  if (m.event !== undefined) {
    if (!NO_LINE_BREAK.test(m.event)) throw new DrupeError('DRUPE_ERR_SSE_FIELD', 'An SSE event name must not contain CR or LF');
    out += `event: ${m.event}\n`;
  }
  if (m.id !== undefined) {
    if (!NO_LINE_BREAK.test(m.id) || m.id.includes('\0')) throw new DrupeError('DRUPE_ERR_SSE_FIELD', 'An SSE id must not contain CR, LF or NUL');
    out += `id: ${m.id}\n`;
  }
  if (m.retry !== undefined) {
    if (!Number.isInteger(m.retry) || m.retry < 0) throw new DrupeError('DRUPE_ERR_SSE_FIELD', 'An SSE retry must be a non-negative integer');
    out += `retry: ${m.retry}\n`;
  }
  const data = typeof m.data === 'string' ? m.data : JSON.stringify(m.data) ?? '';
  // Most data is one line: no split (a regular-expression split per event costs as much as the rest).
  if (NO_LINE_BREAK.test(data)) return `${out}data: ${data}\n\n`;
  for (const line of data.split(/\r\n|\r|\n/)) out += `data: ${line}\n`;
  return out + '\n';
}

/**
 * A server-sent-events body: `text/event-stream`, no caching, streamed, a
 * heartbeat comment when idle (written only when the socket has taken the
 * previous chunk, like every chunk), and an in-band `event: stream-error`
 * if it fails after it started (`errorEvent`, `onError`).
 * The client's `Last-Event-ID` is `request.lastEventId`.
 *
 * @example
 *   @expose() async *ticks() {}   // or:
 *   @expose() feed({ request }: Context) {
 *     return sse((async function* () { yield { event: 'tick', data: { at: Date.now() }, id: '1' }; })());
 *   }
 */
export class SseBody implements SelfShapingBody {
  readonly events: Iterable<string | SseMessage> | AsyncIterable<string | SseMessage>;
  readonly options: SseOptions;

  constructor(events: Iterable<string | SseMessage> | AsyncIterable<string | SseMessage>, options: SseOptions = {}) {
    this.events = events;
    this.options = options;
  }

  /** Set the response up for an event stream (the handler's own headers win). */
  [shapeSelf]({ response }: Context): BodyShape {
    response.stream = true;
    if (!response.headers.has('content-type')) response.headers.set('Content-Type', 'text/event-stream;charset=utf-8');
    if (!response.headers.has('cache-control')) response.headers.set('Cache-Control', 'no-cache');
    const event = this.options.errorEvent ?? SSE_ERROR_EVENT;
    const onError = this.options.onError ?? (() => ({ event, data: 'The stream failed' }));
    response.onStreamError ??= (err) => {
      const m = onError(err);
      return m === undefined ? undefined : formatEvent(m);
    };
    return { kind: 'chunks', source: new SseSource(this.events, this.options) };
  }
}

export function sse(events: Iterable<string | SseMessage> | AsyncIterable<string | SseMessage>, options?: SseOptions): SseBody {
  return new SseBody(events, options);
}

type Step = { done: true } | { done: false; chunk: Buffer };
const DONE: Step = { done: true };

class SseSource implements ChunkSource {
  #it: Iterator<string | SseMessage> | AsyncIterator<string | SseMessage>;
  #heartbeat: number;
  #preface: Buffer | undefined;
  #pending: Promise<Step> | undefined;
  #done = false;
  /** One heartbeat timer for the stream, re-armed at each pull rather than made anew per event. */
  #timer: NodeJS.Timeout | undefined;
  /** The writer waiting for a chunk: the heartbeat answers it when no event came in time. */
  #waiting: { resolve: (chunk: Buffer | null) => void; reject: (err: unknown) => void } | null = null;
  /** What a pull produced while no one waited (a heartbeat had answered the writer first). */
  #early: { step: Step } | { error: unknown } | undefined;

  constructor(events: Iterable<string | SseMessage> | AsyncIterable<string | SseMessage>, options: SseOptions) {
    const asyncIt = (events as Partial<AsyncIterable<string | SseMessage>>)[Symbol.asyncIterator];
    this.#it = typeof asyncIt === 'function' ? asyncIt.call(events) : (events as Iterable<string | SseMessage>)[Symbol.iterator]();
    this.#heartbeat = options.heartbeat ?? 15_000;
    if (options.retry !== undefined) this.#preface = Buffer.from(formatEvent({ data: '', retry: options.retry }).replace(/data: \n/, ''));
  }

  next(): Promise<Buffer | null> {
    const preface = this.#preface;
    if (preface === undefined) return this.#next();
    // The retry field goes out with the first event (or heartbeat), so nothing
    // commits before the events started: an error before them answers as buffered (S1).
    this.#preface = undefined;
    return this.#next().then((chunk) => (chunk === null ? preface : Buffer.concat([preface, chunk])));
  }

  #next(): Promise<Buffer | null> {
    if (this.#heartbeat <= 0) return (this.#pending ??= this.#pull()).then(this.#taken);
    const early = this.#early;
    if (early !== undefined) {
      this.#early = undefined;
      return 'error' in early ? Promise.reject(early.error) : Promise.resolve(this.#taken(early.step));
    }
    if (this.#pending === undefined) {
      // One reaction per pull, however many heartbeats go out while it is pending (an idle stream holds nothing more).
      const pending = this.#pull();
      this.#pending = pending;
      pending.then(this.#arrived, this.#failed);
    }
    // Asked for only once the socket took the last chunk, so heartbeats never pile up behind a slow reader.
    if (this.#timer === undefined) this.#timer = setTimeout(this.#beat, this.#heartbeat);
    else this.#timer.refresh();
    return new Promise((resolve, reject) => {
      this.#waiting = { resolve, reject };
    });
  }

  #arrived = (step: Step): void => {
    const waiting = this.#waiting;
    if (waiting === null) {
      this.#early = { step };
      return;
    }
    this.#waiting = null;
    waiting.resolve(this.#taken(step));
  };

  #failed = (error: unknown): void => {
    this.#stopTimer();
    this.#pending = undefined;
    const waiting = this.#waiting;
    if (waiting === null) {
      this.#early = { error };
      return;
    }
    this.#waiting = null;
    waiting.reject(error);
  };

  #taken = (step: Step): Buffer | null => {
    this.#pending = undefined;
    if (step.done) {
      this.#stopTimer();
      return null;
    }
    return step.chunk;
  };

  #beat = (): void => {
    const waiting = this.#waiting;
    if (waiting === null) return;
    this.#waiting = null;
    waiting.resolve(HEARTBEAT);
  };

  /** A live timer would hold the process for a heartbeat after the stream ended. */
  #stopTimer(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** The next event as a chunk: one reaction on the producer's promise, no async function around it. */
  #pull(): Promise<Step> {
    let next: IteratorResult<string | SseMessage> | Promise<IteratorResult<string | SseMessage>>;
    try {
      next = this.#it.next();
    } catch (err) {
      this.#done = true;
      return Promise.reject(err);
    }
    return Promise.resolve(next).then(this.#toStep, this.#producerFailed);
  }

  #producerFailed = (err: unknown): never => {
    this.#done = true;
    throw err;
  };

  #toStep = (r: IteratorResult<string | SseMessage>): Step | Promise<Step> => {
    if (r.done === true) {
      this.#done = true;
      return DONE;
    }
    try {
      return { done: false, chunk: Buffer.from(formatEvent(r.value), 'utf8') };
    } catch (err) {
      // A bad event (CR/LF in event or id) ends the stream: the producer is still suspended at its yield, so let its finally run.
      return this.#finish().catch(() => undefined).then(() => { throw err; });
    }
  };

  /** The writer stops early (the client left, or the response failed). */
  close(): Promise<void> {
    // A writer still waiting (the client left while the events were idle) ends now, not at the next event.
    const waiting = this.#waiting;
    this.#waiting = null;
    waiting?.resolve(null);
    return this.#finish();
  }

  async #finish(): Promise<void> {
    this.#stopTimer();
    if (this.#done) return;
    this.#done = true;
    this.#pending?.catch(() => undefined);
    await this.#it.return?.();
  }
}
