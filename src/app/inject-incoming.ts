import type { Buffer } from 'node:buffer';
import type { IncomingHttpHeaders } from 'node:http';
import { Readable } from 'node:stream';

/** What the pipeline reads of a connection: the peer, TLS or not, and bytes received (the chunked-body bound). */
interface InjectSocket {
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly encrypted: boolean;
  bytesRead: number;
}

/**
 * An injected request presented as the node request the pipeline reads
 * (`IncomingMessage`'s fields and a Readable body), so `app.inject` runs
 * the very pipeline a socket's request does, through the same bounded
 * body readers. The body is in hand: it is pushed whole at the first read.
 */
export class InjectIncoming extends Readable {
  readonly method: string;
  readonly url: string;
  readonly httpVersion = '1.1';
  readonly httpVersionMajor = 1;
  readonly httpVersionMinor = 1;
  readonly headers: IncomingHttpHeaders;
  readonly rawHeaders: string[];
  readonly socket: InjectSocket;
  /** The whole body arrived (node's meaning): a body reader tells a cut body from a complete one by it. */
  complete: boolean;
  #body: Buffer | null;

  constructor(method: string, url: string, headers: IncomingHttpHeaders, rawHeaders: string[], body: Buffer | null, socket: InjectSocket) {
    super();
    this.method = method;
    this.url = url;
    this.headers = headers;
    this.rawHeaders = rawHeaders;
    this.#body = body;
    this.complete = body === null;
    this.socket = socket;
  }

  override _read(): void {
    const body = this.#body;
    if (body !== null) {
      this.#body = null;
      this.socket.bytesRead += body.length;
      this.push(body);
      return;
    }
    this.complete = true;
    this.push(null);
  }

  /** The exchange is over: let go of whatever of the body was not read. */
  discard(): void {
    if (!this.destroyed && !this.complete) this.destroy();
  }
}
