import { Buffer } from 'node:buffer';
import type { IncomingHttpHeaders } from 'node:http';
import { Readable } from 'node:stream';

/** The client's address as a web runtime tells it (undefined when it does not). */
export interface FetchRemote {
  readonly address: string | undefined;
  readonly port: number | undefined;
}

/** What the pipeline reads of a connection: the peer, TLS or not, and bytes received (the chunked-body bound). */
interface FetchSocket {
  readonly remoteAddress: string | undefined;
  readonly remotePort: number | undefined;
  readonly encrypted: boolean;
  bytesRead: number;
}

/** Connection-level request fields a web Request may still carry: framing is the runtime's, never the client's. */
const DROPPED = new Set(['host', 'transfer-encoding', 'connection', 'keep-alive', 'upgrade', 'proxy-connection']);

/**
 * A web `Request` presented as the node request the pipeline reads
 * (`IncomingMessage`'s fields and a Readable body), so `app.fetch` runs the
 * very pipeline `app.listener` does. The body is read from
 * `request.body` only as the pipeline reads it (one web chunk per
 * `_read`), through the same bounded readers as a socket's.
 *
 * Host is the request URL's (a runtime builds the URL from the Host
 * header or `:authority`; an edge runtime's URL is the one the client
 * asked for). A body of unknown length is announced as chunked, the one
 * framing the pipeline reads without a declared length.
 */
export class FetchIncoming extends Readable {
  readonly method: string;
  readonly url: string;
  readonly httpVersion = '1.1';
  readonly httpVersionMajor = 1;
  readonly httpVersionMinor = 1;
  readonly headers: IncomingHttpHeaders;
  readonly rawHeaders: string[];
  readonly socket: FetchSocket;
  /** The whole body arrived (node's meaning): a body reader tells a cut body from a complete one by it. */
  complete: boolean;
  readonly #body: ReadableStream<Uint8Array> | null;
  #reader: ReadableStreamDefaultReader<Uint8Array> | undefined;

  constructor(request: globalThis.Request, url: URL, remote: FetchRemote) {
    super();
    this.method = request.method;
    this.url = url.pathname + url.search;
    this.#body = request.body;
    this.complete = this.#body === null;
    this.socket = { remoteAddress: remote.address, remotePort: remote.port, encrypted: url.protocol === 'https:', bytesRead: 0 };
    const headers: IncomingHttpHeaders = { host: url.host };
    const raw = ['Host', url.host];
    let hasLength = false;
    for (const [name, value] of request.headers) {
      if (DROPPED.has(name)) continue;
      if (name === 'content-length') {
        if (this.#body === null) continue;
        hasLength = true;
      }
      if (name === 'set-cookie') continue; // a request has none; node would make it an array
      headers[name] = value;
      raw.push(name, value);
    }
    if (this.#body !== null && !hasLength) {
      headers['transfer-encoding'] = 'chunked';
      raw.push('transfer-encoding', 'chunked');
    }
    this.headers = headers;
    this.rawHeaders = raw;
  }

  override _read(): void {
    if (this.#body === null) {
      this.push(null);
      return;
    }
    this.#reader ??= this.#body.getReader();
    this.#reader.read().then(({ done, value }) => {
      if (this.destroyed) return;
      if (done) {
        this.complete = true;
        this.push(null);
        return;
      }
      this.socket.bytesRead += value.byteLength;
      this.push(Buffer.from(value.buffer, value.byteOffset, value.byteLength));
    }, (err: unknown) => this.destroy(err instanceof Error ? err : new Error(String(err))));
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    // A body nobody will read is cancelled, so the runtime stops receiving it.
    if (!this.complete && this.#body !== null) {
      const cancelling = this.#reader !== undefined ? this.#reader.cancel() : this.#body.locked ? undefined : this.#body.cancel();
      cancelling?.catch(() => undefined);
    }
    callback(err);
  }

  /** The exchange is over: let go of whatever of the body was not read. */
  discard(): void {
    if (!this.destroyed && !this.complete) this.destroy();
  }
}
