import net from 'node:net';
import { DEFAULT_HOST, DEFAULT_TIMEOUT_MS, toBuffer } from './defaults.js';
import { requestMethods } from './request-methods.js';
import { parseResponsesDetailed, type ParsedResponse } from './response-parser.js';

const DEFAULT_IDLE_MS = 300;

export interface RawRequestOptions {
  /** Default '127.0.0.1'. */
  host?: string;
  /** Stop after this much silence once at least one byte arrived and everything was sent. Default 300. */
  idleMs?: number;
  /** Stop after this long in any case (`timedOut` is then true). Default 5000. */
  timeoutMs?: number;
  /** Half-close (send FIN) after the last item was sent. */
  endAfterSend?: boolean;
  /** Wait this long between array items (each item is written separately either way). */
  delayBetweenMs?: number;
  /** The method of each request, for reading HEAD responses; by default found in the bytes sent. */
  methods?: string[];
}

export interface RawResult {
  bytes: Buffer;
  /** The bytes as latin1. */
  text: string;
  /** The server closed the connection (FIN or reset), as opposed to the client giving up. */
  closedByServer: boolean;
  /** The connection was reset (ECONNRESET/EPIPE) rather than closed cleanly. */
  reset: boolean;
  /** `timeoutMs` elapsed before the server closed or fell silent. */
  timedOut: boolean;
  /** Every HTTP response found in the bytes, parsed in order (pipelining/keep-alive, interim 1xx included). */
  responses: ParsedResponse[];
  /** Why parsing stopped early, when the bytes did not make sense as HTTP responses. */
  parseError?: string;
}

type RawData = string | Buffer | ReadonlyArray<string | Buffer>;

function isItemList(data: RawData): data is ReadonlyArray<string | Buffer> {
  return Array.isArray(data);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Send raw bytes (strings are UTF-8; pass a Buffer for exact bytes) and collect
 * everything the server sends until it closes the socket, or until `idleMs` of
 * silence after at least one byte arrived, or `timeoutMs`.
 * Rejects only when the connection cannot be made.
 */
export function rawRequest(port: number, data: RawData, options: RawRequestOptions = {}): Promise<RawResult> {
  const items = (isItemList(data) ? [...data] : [data]).map(toBuffer);
  const idleMs = options.idleMs ?? DEFAULT_IDLE_MS;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const methods = options.methods ?? requestMethods(Buffer.concat(items));

  return new Promise<RawResult>((resolve, reject) => {
    const socket = net.connect({ port, host: options.host ?? DEFAULT_HOST, allowHalfOpen: true });
    socket.setNoDelay(true);
    socket.unref();
    const received: Buffer[] = [];
    let connected = false;
    let sent = false;
    let settled = false;
    let closedByServer = false;
    let reset = false;
    let idleTimer: NodeJS.Timeout | undefined;
    const overall = setTimeout(() => finish(true), timeoutMs);

    function armIdle(): void {
      if (!sent || received.length === 0 || settled) return;
      if (idleTimer) clearTimeout(idleTimer);
      idleTimer = setTimeout(() => finish(false), idleMs);
    }

    function finish(timedOut: boolean): void {
      if (settled) return;
      settled = true;
      clearTimeout(overall);
      if (idleTimer) clearTimeout(idleTimer);
      socket.destroy();
      const bytes = Buffer.concat(received);
      const parsed = parseResponsesDetailed(bytes, { methods, closed: closedByServer && !reset });
      const result: RawResult = {
        bytes, text: bytes.toString('latin1'), closedByServer, reset, timedOut, responses: parsed.responses,
      };
      if (parsed.error !== undefined) result.parseError = parsed.error;
      resolve(result);
    }

    socket.on('connect', () => {
      connected = true;
      void (async () => {
        for (let i = 0; i < items.length; i++) {
          if (i > 0 && options.delayBetweenMs) await sleep(options.delayBetweenMs);
          if (settled || socket.destroyed || !socket.writable) break;
          socket.write(items[i]!);
        }
        sent = true;
        if (options.endAfterSend && !socket.destroyed && socket.writable) socket.end();
        armIdle();
      })();
    });
    socket.on('data', (chunk: Buffer) => {
      received.push(chunk);
      armIdle();
    });
    socket.on('end', () => {
      closedByServer = true;
      finish(false);
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (!connected) {
        settled = true;
        clearTimeout(overall);
        reject(err);
        return;
      }
      closedByServer = true;
      reset = true;
      finish(false);
    });
    socket.on('close', () => finish(false));
  });
}
