import { Buffer } from 'node:buffer';

/**
 * Response header fields by lowercase name, as node's client gives them:
 * `set-cookie` is always a list, every other field a string (repeated ones
 * joined with ', '). The common fields are typed as strings.
 */
export interface InjectHeaders {
  readonly [name: string]: string | readonly string[] | undefined;
  readonly 'set-cookie'?: readonly string[];
  readonly 'content-type'?: string;
  readonly 'content-length'?: string;
  readonly 'content-encoding'?: string;
  readonly 'cache-control'?: string;
  readonly location?: string;
  readonly etag?: string;
  readonly 'last-modified'?: string;
  readonly vary?: string;
  readonly allow?: string;
  readonly 'www-authenticate'?: string;
}

/**
 * What `app.inject(options)` answers: the response as the writer wrote it.
 * `chunks` are the body's writes in order, one per chunk a streamed body
 * produced (a buffered body is one chunk, or none); `completed` says the
 * response ended as framed, `truncated` (its opposite) that it was cut
 * after commit — the app failed mid-stream, or the injection's signal
 * aborted it — as a client would see a body stop short.
 */
export class InjectResult {
  readonly status: number;
  /** The reason phrase: the response's own, else the standard one. */
  readonly statusMessage: string;
  /** The head's fields as written, [name, value, name, value, …]. */
  readonly rawHeaders: readonly string[];
  readonly chunks: readonly Buffer[];
  /** The body was streamed (written chunk by chunk), not sent in one piece with its length. */
  readonly streamed: boolean;
  readonly completed: boolean;
  #headers: InjectHeaders | undefined;
  #bytes: Buffer | undefined;

  constructor(status: number, statusMessage: string, rawHeaders: readonly string[], chunks: readonly Buffer[], streamed: boolean, completed: boolean) {
    this.status = status;
    this.statusMessage = statusMessage;
    this.rawHeaders = rawHeaders;
    this.chunks = chunks;
    this.streamed = streamed;
    this.completed = completed;
  }

  get truncated(): boolean {
    return !this.completed;
  }

  get headers(): InjectHeaders {
    return (this.#headers ??= headersOf(this.rawHeaders));
  }

  /** The whole body's bytes (what arrived, for a truncated one). */
  get bytes(): Buffer {
    if (this.#bytes !== undefined) return this.#bytes;
    const chunks = this.chunks;
    return (this.#bytes = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks as Buffer[]));
  }

  /** The body as UTF-8 text. */
  get body(): string {
    return this.bytes.toString('utf8');
  }

  /** The body parsed as JSON (a SyntaxError when it is not JSON). */
  json<T = unknown>(): T {
    return JSON.parse(this.body) as T;
  }
}

function headersOf(raw: readonly string[]): InjectHeaders {
  const headers: Record<string, string | string[]> = {};
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    const value = raw[i + 1]!;
    const had = headers[name];
    if (name === 'set-cookie') {
      if (had === undefined) headers[name] = [value];
      else (had as string[]).push(value);
    } else if (name === '__proto__') Object.defineProperty(headers, name, { value, enumerable: true, writable: true, configurable: true });
    else headers[name] = had === undefined ? value : `${had as string}, ${value}`;
  }
  return headers as InjectHeaders;
}
