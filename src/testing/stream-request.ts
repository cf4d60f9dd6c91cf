import net from 'node:net';
import { DEFAULT_HOST, DEFAULT_TIMEOUT_MS, toBuffer } from './defaults.js';
import { ResponseParser, type Framing, type ParsedResponse } from './response-parser.js';
import { asTheyArrive } from './arrivals.js';
import { eventsOf, type SseEvent } from './sse-parser.js';

export interface StreamRequestOptions {
  method?: string;
  path?: string;
  /** Host defaults to `host:port`; Content-Length is added for a body unless Content-Length or Transfer-Encoding is given (then the body is sent as is). */
  headers?: Record<string, string>;
  body?: string | Buffer;
  httpVersion?: '1.1' | '1.0';
  host?: string;
  /** Bound on each wait (the head, each chunk, done()). Default 5000. */
  timeoutMs?: number;
  /** Destroy the socket once this many BODY bytes arrived. */
  disconnectAfterBytes?: number;
  /** Destroy the socket once this many body chunks arrived (HTTP chunks when chunked, else socket reads). */
  disconnectAfterChunks?: number;
  /** Stop reading (socket.pause()) right after the head arrives. */
  paused?: boolean;
}

export interface BodyChunk {
  data: Buffer;
  /** ms since the request was sent. */
  at: number;
}

export interface StreamResult {
  body: Buffer;
  complete: boolean;
  aborted: boolean;
  chunks: BodyChunk[];
  trailers: Record<string, string>;
}

export interface StreamingResponse {
  status: number;
  reason: string;
  headers: Record<string, string>;
  rawHeaders: Array<[string, string]>;
  head: string;
  httpVersion: string;
  framing: Framing;
  /** Interim 1xx responses received before this one (e.g. 100 Continue). */
  interim: ParsedResponse[];
  /** Body chunks as they arrive (from the first, on every call); one item per HTTP chunk when chunked, else per socket read. Ends when the response ends, complete or not. */
  chunks(): AsyncIterable<BodyChunk>;
  pause(): void;
  resume(): void;
  /** Destroy the socket now. */
  disconnect(): void;
  /** Wait for the end; complete = chunked terminator / all content-length bytes / clean close; aborted = it ended before that. */
  done(): Promise<StreamResult>;
  /** UTF-8 body after done(). */
  text(): Promise<string>;
  /** Parse text/event-stream as it arrives; comment lines become `{ data: '', comment }` items only with `comments`. */
  events(options?: { comments?: boolean }): AsyncIterable<SseEvent>;
}

/** A streaming client: one request on its own connection, read chunk by chunk. Resolves once the status line and headers arrived. */
export function streamRequest(port: number, options: StreamRequestOptions = {}): Promise<StreamingResponse> {
  return new Promise<StreamingResponse>((resolve, reject) => {
    new Stream(port, options, resolve, reject);
  });
}

function buildRequestHead(port: number, host: string, options: StreamRequestOptions, body: Buffer | undefined): Buffer {
  const headers: Array<[string, string]> = Object.entries(options.headers ?? {});
  const has = (name: string): boolean => headers.some(([n]) => n.toLowerCase() === name);
  if (!has('host')) headers.unshift(['Host', `${host.includes(':') ? `[${host}]` : host}:${port}`]);
  if (body !== undefined && !has('content-length') && !has('transfer-encoding')) {
    headers.push(['Content-Length', String(body.length)]);
  }
  const lines = [`${options.method ?? 'GET'} ${options.path ?? '/'} HTTP/${options.httpVersion ?? '1.1'}`];
  for (const [n, v] of headers) lines.push(`${n}: ${v}`);
  return Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
}

class Stream implements StreamingResponse {
  status = 0;
  reason = '';
  headers: Record<string, string> = {};
  rawHeaders: Array<[string, string]> = [];
  head = '';
  httpVersion = '';
  framing: Framing = 'none';
  interim: ParsedResponse[] = [];

  private readonly socket: net.Socket;
  private readonly parser: ResponseParser;
  private readonly timeoutMs: number;
  private readonly items: BodyChunk[] = [];
  private readonly waiters = new Set<() => void>();
  private final: ParsedResponse | undefined;
  private pendingChunk: Buffer[] = [];
  private bodyBytes = 0;
  private sentAt = 0;
  private finished = false;
  private complete = false;
  private trailers: Record<string, string> = {};
  private headSettled = false;
  private headTimer: NodeJS.Timeout | undefined;
  private sendBody: (() => void) | undefined;

  constructor(
    port: number,
    private readonly options: StreamRequestOptions,
    private readonly onHead: (res: StreamingResponse) => void,
    private readonly onHeadError: (err: Error) => void,
  ) {
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const host = options.host ?? DEFAULT_HOST;
    const method = options.method ?? 'GET';
    this.parser = new ResponseParser([method], {
      onHead: (res) => this.handleHead(res),
      onBody: (res, data) => this.handleBody(res, data),
      onChunkEnd: (res) => this.handleChunkEnd(res),
      onEnd: (res) => this.handleEnd(res),
    });
    const body = options.body === undefined ? undefined : toBuffer(options.body);
    const head = buildRequestHead(port, host, options, body);
    const expectContinue = /100-continue/i.test(Object.entries(options.headers ?? {}).find(([n]) => n.toLowerCase() === 'expect')?.[1] ?? '');

    this.headTimer = setTimeout(() => {
      this.failHead(new Error(`drupe/testing: no response head within ${this.timeoutMs} ms (${method} ${options.path ?? '/'})`));
    }, this.timeoutMs);

    this.socket = net.connect({ port, host, allowHalfOpen: true });
    this.socket.setNoDelay(true);
    this.socket.unref();
    this.socket.on('connect', () => {
      this.sentAt = performance.now();
      if (body === undefined || body.length === 0) {
        this.socket.write(head);
      } else if (!expectContinue) {
        this.socket.write(Buffer.concat([head, body]));
      } else {
        // Send the body on 100 Continue, or after a second without an answer; not at all after a final response.
        this.socket.write(head);
        const timer = setTimeout(() => this.sendBody?.(), Math.min(1000, this.timeoutMs));
        this.sendBody = () => {
          clearTimeout(timer);
          this.sendBody = undefined;
          if (!this.finished && this.final === undefined && this.socket.writable) this.socket.write(body);
        };
      }
    });
    this.socket.on('data', (chunk: Buffer) => {
      if (this.finished) return;
      this.parser.feed(chunk);
      if (this.parser.error !== undefined) this.abort(new Error(`drupe/testing: ${this.parser.error}`));
    });
    this.socket.on('end', () => this.connectionEnded(true));
    this.socket.on('error', (err) => this.connectionEnded(false, err));
    this.socket.on('close', () => this.connectionEnded(false));
  }

  // -- parser hooks --------------------------------------------------------

  private handleHead(res: ParsedResponse): void {
    if (this.final !== undefined || res.status < 200 && res.status !== 101) return;
    this.final = res;
    this.status = res.status;
    this.reason = res.reason;
    this.headers = res.headers;
    this.rawHeaders = res.rawHeaders;
    this.head = res.head;
    this.httpVersion = res.httpVersion;
    this.framing = res.framing;
    if (this.options.paused) this.socket.pause();
    this.settleHead();
  }

  private handleBody(res: ParsedResponse, data: Buffer): void {
    if (res !== this.final || this.finished) return;
    this.bodyBytes += data.length;
    if (res.framing === 'chunked') this.pendingChunk.push(data);
    else this.addItem(data);
    const limit = this.options.disconnectAfterBytes;
    if (limit !== undefined && this.bodyBytes >= limit) this.disconnect();
  }

  private handleChunkEnd(res: ParsedResponse): void {
    if (res !== this.final || this.finished) return;
    this.flushChunk();
  }

  private handleEnd(res: ParsedResponse): void {
    if (res.status < 200 && res.status !== 101) {
      this.interim.push(res);
      if (res.status === 100) this.sendBody?.();
      return;
    }
    if (res !== this.final || this.finished) return;
    this.trailers = res.trailers;
    this.end(res.complete);
  }

  // -- state ----------------------------------------------------------------

  private addItem(data: Buffer): void {
    this.items.push({ data, at: performance.now() - this.sentAt });
    this.notify();
    const limit = this.options.disconnectAfterChunks;
    if (limit !== undefined && this.items.length >= limit) this.disconnect();
  }

  private flushChunk(): void {
    if (this.pendingChunk.length === 0) return;
    const data = Buffer.concat(this.pendingChunk);
    this.pendingChunk = [];
    this.addItem(data);
  }

  private settleHead(): void {
    if (this.headSettled) return;
    this.headSettled = true;
    clearTimeout(this.headTimer);
    this.onHead(this);
  }

  private failHead(err: Error): void {
    if (this.headSettled) return;
    this.headSettled = true;
    clearTimeout(this.headTimer);
    this.end(false);
    this.onHeadError(err);
  }

  private abort(err: Error): void {
    if (!this.headSettled) this.failHead(err);
    else this.end(false);
  }

  private connectionEnded(clean: boolean, err?: Error): void {
    if (this.finished) return;
    this.parser.finish(clean); // completes a close-delimited body, or ends a cut-short one
    if (this.finished) return;
    const received = this.parser.rest.length > 0 ? ` after ${JSON.stringify(this.parser.rest.toString('latin1').slice(0, 200))}` : '';
    const why = err ? `${err.message}` : 'connection closed';
    this.abort(new Error(`drupe/testing: ${why} before a response head arrived${received}`));
  }

  private end(complete: boolean): void {
    if (this.finished) return;
    if (!complete) this.flushChunk(); // a truncated last chunk, as received
    this.finished = true;
    this.complete = complete;
    this.sendBody = undefined;
    this.socket.destroy();
    this.notify();
  }

  private notify(): void {
    for (const waiter of [...this.waiters]) waiter();
  }

  private waitUntil(ready: () => boolean, what: string): Promise<void> {
    if (ready()) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const check = (): void => {
        if (!ready()) return;
        cleanup();
        resolve();
      };
      const timer = setTimeout(() => {
        cleanup();
        this.disconnect();
        reject(new Error(`drupe/testing: timed out after ${this.timeoutMs} ms waiting for ${what} (${this.items.length} chunks, ${this.bodyBytes} body bytes so far)`));
      }, this.timeoutMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
    });
  }

  // -- public ---------------------------------------------------------------

  chunks(): AsyncGenerator<BodyChunk, void, undefined> {
    return asTheyArrive(this.items, () => this.finished, (ready, w) => this.waitUntil(ready, w), 'the next body chunk');
  }

  events(options: { comments?: boolean } = {}): AsyncGenerator<SseEvent, void, undefined> {
    return eventsOf(this.chunks(), options);
  }

  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  disconnect(): void {
    this.end(false);
  }

  async done(): Promise<StreamResult> {
    await this.waitUntil(() => this.finished, 'the end of the response');
    return {
      body: Buffer.concat(this.items.map((c) => c.data)),
      complete: this.complete,
      aborted: !this.complete,
      chunks: [...this.items],
      trailers: this.trailers,
    };
  }

  async text(): Promise<string> {
    return (await this.done()).body.toString('utf8');
  }
}
