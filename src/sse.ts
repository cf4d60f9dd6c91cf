import { DrupeError } from './errors.js';
import { shapeSelf, type BodyShape, type ChunkSource, type SelfShapingBody } from './body.js';
import type { Context } from './context.js';

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
  /** The event sent in-band when the stream fails after it started; return undefined to send none. */
  onError?: (err: unknown) => SseMessage | undefined;
}

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
  for (const line of data.split(/\r\n|\r|\n/)) out += `data: ${line}\n`;
  return out + '\n';
}

/**
 * A server-sent-events body: `text/event-stream`, no caching, streamed, a
 * heartbeat comment when idle (written only when the socket has taken the
 * previous chunk, like every chunk), and an `event: error` if it fails.
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
    const onError = this.options.onError ?? (() => ({ event: 'error', data: 'The stream failed' }));
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

class SseSource implements ChunkSource {
  #it: Iterator<string | SseMessage> | AsyncIterator<string | SseMessage>;
  #heartbeat: number;
  #preface: Buffer | undefined;
  #pending: Promise<Step> | undefined;
  #done = false;

  constructor(events: Iterable<string | SseMessage> | AsyncIterable<string | SseMessage>, options: SseOptions) {
    const asyncIt = (events as Partial<AsyncIterable<string | SseMessage>>)[Symbol.asyncIterator];
    this.#it = typeof asyncIt === 'function' ? asyncIt.call(events) : (events as Iterable<string | SseMessage>)[Symbol.iterator]();
    this.#heartbeat = options.heartbeat ?? 15_000;
    if (options.retry !== undefined) this.#preface = Buffer.from(formatEvent({ data: '', retry: options.retry }).replace(/data: \n/, ''));
  }

  async next(): Promise<Buffer | null> {
    const chunk = await this.#next();
    const preface = this.#preface;
    if (preface === undefined) return chunk;
    // The retry field goes out with the first event (or heartbeat), so nothing
    // commits before the events started: an error before them answers as buffered (S1).
    this.#preface = undefined;
    return chunk === null ? preface : Buffer.concat([preface, chunk]);
  }

  async #next(): Promise<Buffer | null> {
    this.#pending ??= this.#pull();
    let step: Step | Buffer;
    if (this.#heartbeat > 0) {
      let timer: NodeJS.Timeout | undefined;
      try {
        step = await Promise.race([this.#pending, new Promise<Buffer>((resolve) => { timer = setTimeout(resolve, this.#heartbeat, HEARTBEAT); })]);
      } finally {
        clearTimeout(timer); // also when the events fail: a live timer would hold the process for a heartbeat
      }
    } else {
      step = await this.#pending;
    }
    if (step === HEARTBEAT) return HEARTBEAT;
    this.#pending = undefined;
    return (step as Step).done ? null : (step as { chunk: Buffer }).chunk;
  }

  async #pull(): Promise<Step> {
    let r: IteratorResult<string | SseMessage>;
    try {
      r = await this.#it.next();
    } catch (err) {
      this.#done = true;
      throw err;
    }
    if (r.done) {
      this.#done = true;
      return { done: true };
    }
    try {
      return { done: false, chunk: Buffer.from(formatEvent(r.value), 'utf8') };
    } catch (err) {
      // A bad event (CR/LF in event or id) ends the stream: the producer is still suspended at its yield, so let its finally run.
      await this.close().catch(() => undefined);
      throw err;
    }
  }

  async close(): Promise<void> {
    if (this.#done) return;
    this.#done = true;
    this.#pending?.catch(() => undefined);
    await this.#it.return?.();
  }
}
