import http2, { type ClientHttp2Stream, type IncomingHttpHeaders, type IncomingHttpStatusHeader } from 'node:http2';
import { DEFAULT_TIMEOUT_MS, toBuffer } from './defaults.js';
import { h2Connect, type H2ConnectOptions, type H2Session } from './h2-session.js';
import { asTheyArrive } from './arrivals.js';
import { eventsOf, type SseEvent } from './sse-parser.js';
import type { BodyChunk } from './stream-request.js';

export interface H2RequestOptions extends H2ConnectOptions {
  method?: string;
  path?: string;
  /** Extra request fields (lower-case names); `:authority` defaults to `host:port`. */
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Stop reading DATA as soon as the response headers arrive: flow control then holds the server (`resume()` reads on). */
  paused?: boolean;
  /** Reset the stream (RST_STREAM(CANCEL)) when this aborts. */
  signal?: AbortSignal;
}

/**
 * How a stream ended, as the frames said: END_STREAM (the body is
 * complete), RST_STREAM with its error code (`name`: node's constant,
 * e.g. 'NGHTTP2_INTERNAL_ERROR'), the server's GOAWAY, or the connection
 * closing under it with neither.
 */
export type H2StreamEnd =
  | { readonly kind: 'END_STREAM' }
  | { readonly kind: 'RST_STREAM'; readonly code: number; readonly name: string }
  | { readonly kind: 'GOAWAY'; readonly code: number }
  | { readonly kind: 'CLOSED' };

export interface H2Result {
  body: Buffer;
  /** true only after END_STREAM. */
  complete: boolean;
  end: H2StreamEnd;
  chunks: BodyChunk[];
  trailers: Record<string, string | string[]>;
}

export interface H2Response {
  status: number;
  /** Response fields, pseudo-fields excluded, lower-case. */
  headers: Record<string, string | string[]>;
  /** The connection the stream is on. */
  connection: H2Session;
  /** DATA as it arrives (from the first, on every call), one item per read; ends when the stream ends, however it ended. */
  chunks(): AsyncIterable<BodyChunk>;
  /** Stop reading: no WINDOW_UPDATE for this stream once its window is used up. */
  pause(): void;
  resume(): void;
  /** Send RST_STREAM (default CANCEL), as a browser does when a tab is closed. */
  reset(code?: number): void;
  /** Drop the whole TCP connection. */
  disconnect(): void;
  /** Wait for the end of the stream. */
  done(): Promise<H2Result>;
  /** UTF-8 body after done(). */
  text(): Promise<string>;
  /** Parse text/event-stream as it arrives. */
  events(options?: { comments?: boolean }): AsyncIterable<SseEvent>;
}

/** RST_STREAM and GOAWAY error codes by number (RFC 9113 §7), named as node's constants. */
const CODE_NAMES = new Map<number, string>();
for (const [name, code] of Object.entries(http2.constants as unknown as Record<string, unknown>)) {
  if (typeof code === 'number' && /^NGHTTP2_(NO_ERROR|PROTOCOL_ERROR|INTERNAL_ERROR|FLOW_CONTROL_ERROR|SETTINGS_TIMEOUT|STREAM_CLOSED|FRAME_SIZE_ERROR|REFUSED_STREAM|CANCEL|COMPRESSION_ERROR|CONNECT_ERROR|ENHANCE_YOUR_CALM|INADEQUATE_SECURITY|HTTP_1_1_REQUIRED)$/.test(name)) CODE_NAMES.set(code, name);
}

/**
 * One request on HTTP/2, its frames reported as they arrive. `target`: a
 * port on 127.0.0.1, a `http://host:port` URL (each opens its own
 * connection, closed when the stream ends), or an `H2Session` from
 * `h2Connect` to share one connection between streams. Resolves at the
 * response headers.
 */
export async function h2Request(target: number | string | H2Session, options: H2RequestOptions = {}): Promise<H2Response> {
  const own = typeof target === 'number' || typeof target === 'string';
  const connection = own ? await h2Connect(target, options) : target;
  return new Promise<H2Response>((resolve, reject) => {
    new Exchange(connection, own, options, resolve, reject);
  });
}

class Exchange implements H2Response {
  status = 0;
  headers: Record<string, string | string[]> = {};
  readonly connection: H2Session;
  readonly #stream: ClientHttp2Stream;
  readonly #own: boolean;
  readonly #timeoutMs: number;
  readonly #items: BodyChunk[] = [];
  readonly #waiters = new Set<() => void>();
  readonly #sentAt = performance.now();
  #bytes = 0;
  #endStream = false;
  #end: H2StreamEnd | undefined;
  #trailers: Record<string, string | string[]> = {};

  constructor(connection: H2Session, own: boolean, options: H2RequestOptions, resolve: (r: H2Response) => void, reject: (err: Error) => void) {
    this.connection = connection;
    this.#own = own;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const what = `${options.method ?? 'GET'} ${options.path ?? '/'}`;
    const body = options.body === undefined ? undefined : toBuffer(options.body);
    const stream = connection.session.request({ ':method': options.method ?? 'GET', ':path': options.path ?? '/', ...options.headers }, { endStream: body === undefined });
    this.#stream = stream;
    // node pushes the end of the readable side both on END_STREAM and when the stream closes for any
    // other reason; only the first, seen before the stream is closed, is an END_STREAM.
    const push = stream.push.bind(stream);
    stream.push = (chunk: unknown, encoding?: BufferEncoding): boolean => {
      if (chunk === null && !stream.closed) this.#endStream = true;
      return push(chunk, encoding);
    };
    let settled = false;
    const timer = setTimeout(() => {
      if (settled) return;
      settled = true;
      stream.close(http2.constants.NGHTTP2_CANCEL);
      reject(new Error(`drupe/testing: no HTTP/2 response headers within ${this.#timeoutMs} ms (${what})`));
    }, this.#timeoutMs);
    stream.on('response', (headers: IncomingHttpHeaders & IncomingHttpStatusHeader) => {
      this.status = Number(headers[':status']);
      this.headers = fields(headers);
      if (options.paused) stream.pause();
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(this);
    });
    stream.on('data', (data: Buffer) => {
      this.#bytes += data.length;
      this.#items.push({ data, at: performance.now() - this.#sentAt });
      this.#notify();
    });
    stream.on('trailers', (headers: IncomingHttpHeaders) => { this.#trailers = fields(headers); });
    stream.on('error', () => undefined); // the end says what happened
    stream.on('close', () => {
      this.#end = this.#howItEnded();
      if (this.#own) connection.disconnect();
      this.#notify();
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      const end = this.#end;
      reject(new Error(`drupe/testing: the stream ended (${end.kind}${'name' in end ? ` ${end.name}` : ''}) before its response headers (${what})`));
    });
    const signal = options.signal;
    if (signal !== undefined) {
      if (signal.aborted) this.reset();
      else signal.addEventListener('abort', () => this.reset(), { once: true });
    }
    if (body !== undefined) stream.end(body);
  }

  #howItEnded(): H2StreamEnd {
    if (this.#endStream) return { kind: 'END_STREAM' };
    const { goaway, closed } = this.connection.state;
    const id = this.#stream.id ?? 0;
    const code = this.#stream.rstCode ?? 0;
    // A GOAWAY ends this stream when the server never took it up, or tore the connection down with
    // its error code (node then closes every stream with that code), or the connection is gone.
    if (goaway !== undefined && (id > goaway.lastStreamId || (goaway.code !== 0 && code === goaway.code) || closed)) return { kind: 'GOAWAY', code: goaway.code };
    if (closed) return { kind: 'CLOSED' };
    return { kind: 'RST_STREAM', code, name: CODE_NAMES.get(code) ?? `code ${code}` };
  }

  #notify(): void {
    for (const waiter of [...this.#waiters]) waiter();
  }

  #waitUntil(ready: () => boolean, what: string): Promise<void> {
    if (ready()) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const check = (): void => {
        if (!ready()) return;
        cleanup();
        resolve();
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`drupe/testing: timed out after ${this.#timeoutMs} ms waiting for ${what} (${this.#items.length} DATA reads, ${this.#bytes} bytes so far)`));
      }, this.#timeoutMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        this.#waiters.delete(check);
      };
      this.#waiters.add(check);
    });
  }

  chunks(): AsyncGenerator<BodyChunk, void, undefined> {
    return asTheyArrive(this.#items, () => this.#end !== undefined, (ready, w) => this.#waitUntil(ready, w), 'the next DATA');
  }

  events(options: { comments?: boolean } = {}): AsyncGenerator<SseEvent, void, undefined> {
    return eventsOf(this.chunks(), options);
  }

  pause(): void {
    this.#stream.pause();
  }

  resume(): void {
    this.#stream.resume();
  }

  reset(code: number = http2.constants.NGHTTP2_CANCEL): void {
    if (!this.#stream.closed) this.#stream.close(code);
  }

  disconnect(): void {
    this.connection.disconnect();
  }

  async done(): Promise<H2Result> {
    // A paused stream would never end: what is left is read now.
    this.#stream.resume();
    await this.#waitUntil(() => this.#end !== undefined, 'the end of the stream');
    const end = this.#end!;
    return { body: Buffer.concat(this.#items.map((c) => c.data)), complete: end.kind === 'END_STREAM', end, chunks: [...this.#items], trailers: this.#trailers };
  }

  async text(): Promise<string> {
    return (await this.done()).body.toString('utf8');
  }
}

function fields(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (!name.startsWith(':') && value !== undefined) out[name] = value;
  }
  return out;
}
