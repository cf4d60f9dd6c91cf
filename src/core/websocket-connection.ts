import type { WebSocket as WsSocket, RawData } from 'ws';
import { RequestAbortedError } from '../lib/errors.js';

/** A message as the handler receives it: text frames as strings, binary frames as bytes. */
export type WebSocketMessage = string | Buffer;

/** How a WebSocket session ended: the close code and reason (1006: the connection dropped without a close frame). */
export interface WebSocketClose {
  readonly code: number;
  readonly reason: string;
}

/**
 * Past this many bytes queued for the client, `send()` waits until its
 * message has gone to the kernel: a client that never reads holds at most
 * this plus one message in memory (HOSTILE 50).
 */
export const SEND_HIGH_WATER = 64 * 1024;
/** Received messages the handler has not taken yet: past this, the socket stops reading (TCP then slows the client down, HOSTILE 50). */
const RECEIVE_QUEUE = 16;

const DONE: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined });

/** The close code ws sends for each protocol error it detects (RFC 6455 §7.4.1; HOSTILE 47–49): anything else is 1002. */
const ERROR_CLOSE_CODES: Readonly<Record<string, number>> = {
  WS_ERR_UNSUPPORTED_MESSAGE_LENGTH: 1009,
  WS_ERR_INVALID_UTF8: 1007,
};

/**
 * The handler's side of a WebSocket: messages in as an async iterable,
 * `send()` out with backpressure, `close()`. One reader at a time.
 *
 * @example
 *   echo: exposed.websocket(async (socket) => {
 *     for await (const message of socket) await socket.send(message);
 *   })
 */
export class WebSocketConnection implements AsyncIterable<WebSocketMessage, undefined> {
  readonly #ws: WsSocket;
  readonly #queue: WebSocketMessage[] = [];
  /** The reader waiting for a message. */
  #waiting: ((result: IteratorResult<WebSocketMessage, undefined>) => void) | undefined;
  #paused = false;
  #close: WebSocketClose | undefined;
  /** The close code of a protocol error ws found in the client's frames (ws sends it; the client may never answer). */
  #errorCode: number | undefined;
  readonly #closed: Promise<WebSocketClose>;
  /** The subprotocol agreed in the handshake ('' for none). */
  readonly protocol: string;

  /** @internal Drupe creates it when the handshake is done. */
  constructor(ws: WsSocket) {
    this.#ws = ws;
    this.protocol = ws.protocol;
    ws.on('message', (data: RawData, isBinary: boolean) => this.#received(data, isBinary));
    ws.on('error', (err: Error & { code?: string }) => {
      this.#errorCode ??= ERROR_CLOSE_CODES[err.code ?? ''] ?? 1002;
    });
    this.#closed = new Promise((resolve) => {
      ws.once('close', (code: number, reason: Buffer) => {
        this.#close = { code: this.#errorCode ?? code, reason: reason.toString('utf8') };
        this.#ended();
        resolve(this.#close);
      });
    });
  }

  #received(data: RawData, isBinary: boolean): void {
    const bytes = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
    const message = isBinary ? bytes : bytes.toString('utf8');
    const waiting = this.#waiting;
    if (waiting !== undefined) {
      this.#waiting = undefined;
      waiting({ done: false, value: message });
      return;
    }
    this.#queue.push(message);
    if (this.#queue.length >= RECEIVE_QUEUE && !this.#paused) {
      this.#paused = true;
      this.#ws.pause();
    }
  }

  #ended(): void {
    const waiting = this.#waiting;
    this.#waiting = undefined;
    waiting?.(DONE);
  }

  // One promise per message and no async generator: a message already queued is handed over at once.
  #next(): Promise<IteratorResult<WebSocketMessage, undefined>> {
    if (this.#queue.length > 0) {
      const value = this.#queue.shift()!;
      if (this.#paused && this.#queue.length < RECEIVE_QUEUE / 2) {
        this.#paused = false;
        this.#ws.resume();
      }
      return Promise.resolve({ done: false, value });
    }
    if (this.#close !== undefined) return Promise.resolve(DONE);
    if (this.#waiting !== undefined) return Promise.reject(new Error('A WebSocket has one reader at a time'));
    return new Promise((resolve) => { this.#waiting = resolve; });
  }

  /** The next message, or undefined once the socket has closed and every message received was taken. */
  async receive(): Promise<WebSocketMessage | undefined> {
    return (await this.#next()).value;
  }

  [Symbol.asyncIterator](): AsyncIterator<WebSocketMessage, undefined> {
    // Breaking out of the loop leaves the socket open: the handler may still send, or read again.
    return { next: () => this.#next(), return: () => Promise.resolve(DONE) };
  }

  /**
   * Send a text (string) or binary message. Resolves at once while little
   * is queued for the client; past `SEND_HIGH_WATER` bytes it resolves
   * when this message has gone to the kernel, so a slow client slows the
   * handler down. Rejects with a `RequestAbortedError` once the socket is
   * closing or closed.
   */
  send(data: string | Uint8Array): Promise<void> {
    const ws = this.#ws;
    if (ws.readyState !== ws.OPEN) return Promise.reject(closedError());
    if (ws.bufferedAmount + (typeof data === 'string' ? data.length : data.byteLength) <= SEND_HIGH_WATER) {
      ws.send(data, { binary: typeof data !== 'string' });
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      ws.send(data, { binary: typeof data !== 'string' }, (err) => (err ? reject(closedError()) : resolve()));
    });
  }

  /** Start the closing handshake (1000 unless given); `closed` resolves when it is done. */
  close(code = 1000, reason = ''): void {
    if (this.#ws.readyState === this.#ws.CONNECTING || this.#ws.readyState === this.#ws.OPEN) this.#ws.close(code, reason);
  }

  /** Resolves with the close code and reason when the socket has closed, whoever closed it. */
  get closed(): Promise<WebSocketClose> {
    return this.#closed;
  }

  /** The close code and reason once closed; undefined while open. */
  get closeInfo(): WebSocketClose | undefined {
    return this.#close;
  }

  /** Bytes queued for the client, not yet handed to the kernel. */
  get bufferedAmount(): number {
    return this.#ws.bufferedAmount;
  }

  /** Whether messages can still be sent. */
  get open(): boolean {
    return this.#ws.readyState === this.#ws.OPEN;
  }
}

function closedError(): RequestAbortedError {
  return new RequestAbortedError('DRUPE_CLIENT_CLOSED', 'The WebSocket is closed');
}
