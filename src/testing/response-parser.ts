/**
 * Incremental HTTP/1.x response parser used by `drupe/testing`, and
 * `parseResponses`, its one-shot form.
 *
 * The parser is fed bytes as they arrive and reports, through optional hooks,
 * each response head, each piece of body, the end of each HTTP chunk and the
 * end of each message, so callers can observe framing exactly as sent.
 */
import { findHeadEnd, isChunked, joinFields, parseContentLength, parseFieldLines } from './http-fields.js';

export type Framing = 'content-length' | 'chunked' | 'close' | 'none';

export interface ParsedResponse {
  status: number;
  reason: string;
  httpVersion: string;
  /** Lower-case names; repeated headers joined with ', ', except set-cookie joined with '\n'. */
  headers: Record<string, string>;
  /** As sent, in order. */
  rawHeaders: Array<[string, string]>;
  /** The raw status line and header block, including the blank line that ends it (latin1). */
  head: string;
  /** The body, de-chunked when chunked. */
  body: Buffer;
  /** For chunked framing, one item per HTTP chunk as framed by the server (a truncated last chunk as received); otherwise empty. */
  chunks: Buffer[];
  framing: Framing;
  /** chunked: terminator seen; content-length: all bytes present; close: the server closed cleanly after it; none: true. */
  complete: boolean;
  trailers: Record<string, string>;
}

export interface ParserHooks {
  /** A head was parsed (interim 1xx heads included). The body is not filled yet. */
  onHead?(res: ParsedResponse): void;
  /** A piece of body bytes (de-chunked); for content-length and close framing one piece per `feed()`. */
  onBody?(res: ParsedResponse, data: Buffer): void;
  /** The data of one HTTP chunk is complete. */
  onChunkEnd?(res: ParsedResponse): void;
  /** The message ended, completely or not (see `complete`). */
  onEnd?(res: ParsedResponse): void;
}

type State =
  | 'head' | 'body-length' | 'body-close'
  | 'chunk-size' | 'chunk-data' | 'chunk-data-end' | 'trailers'
  | 'upgraded' | 'done' | 'error';

const EMPTY = Buffer.alloc(0);

export class ResponseParser {
  /** Responses that ended, in order (interim 1xx responses included). */
  readonly responses: ParsedResponse[] = [];
  /** Set when the bytes stopped making sense; parsing stops there. */
  error: string | undefined;

  private buf: Buffer = EMPTY;
  private state: State = 'head';
  private cur: ParsedResponse | undefined;
  private bodyParts: Buffer[] = [];
  private chunkParts: Buffer[] = [];
  private rawTrailers: Array<[string, string]> = [];
  private remaining = 0;
  private finalIndex = 0;

  /** `methods[i]` is the request method of the i-th final (non-1xx) response, so HEAD responses are read without a body. */
  constructor(private readonly methods: readonly string[] = [], private readonly hooks: ParserHooks = {}) {}

  /** Bytes left unparsed (after an upgrade, or an incomplete head). */
  get rest(): Buffer {
    return this.buf;
  }

  feed(data: Buffer): void {
    if (this.state === 'done' || this.state === 'error') return;
    this.buf = this.buf.length === 0 ? data : Buffer.concat([this.buf, data]);
    while (this.step()) { /* keep going while progress is made */ }
  }

  /** The connection ended: `clean` when the server closed it normally (FIN), false on reset or when the client gave up. */
  finish(clean: boolean): void {
    switch (this.state) {
      case 'head':
        if (this.buf.some((b) => b !== 13 && b !== 10)) this.error = 'connection ended inside a response head';
        break;
      case 'body-close':
        this.endMessage(clean);
        break;
      case 'body-length': case 'chunk-size': case 'chunk-data': case 'chunk-data-end': case 'trailers':
        if (this.chunkParts.length > 0) this.endChunk();
        this.endMessage(false);
        break;
      default:
        break;
    }
    if (this.state !== 'error') this.state = 'done';
  }

  private fail(message: string): false {
    this.error = message;
    this.state = 'error';
    return false;
  }

  private readLine(): string | undefined {
    const nl = this.buf.indexOf(10);
    if (nl < 0) return undefined;
    const end = nl > 0 && this.buf[nl - 1] === 13 ? nl - 1 : nl;
    const line = this.buf.subarray(0, end).toString('latin1');
    this.buf = this.buf.subarray(nl + 1);
    return line;
  }

  private take(max: number): Buffer {
    const n = Math.min(max, this.buf.length);
    const piece = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return piece;
  }

  private step(): boolean {
    switch (this.state) {
      case 'head': {
        let start = 0; // a client should ignore empty lines before a status line
        while (start < this.buf.length && (this.buf[start] === 13 || this.buf[start] === 10)) start++;
        if (start > 0) this.buf = this.buf.subarray(start);
        const end = findHeadEnd(this.buf);
        if (end < 0) return false;
        const head = this.buf.subarray(0, end).toString('latin1');
        this.buf = this.buf.subarray(end);
        return this.startMessage(head);
      }
      case 'body-length': {
        if (this.buf.length === 0) return false;
        const piece = this.take(this.remaining);
        this.remaining -= piece.length;
        this.addBody(piece);
        if (this.remaining === 0) this.endMessage(true);
        return true;
      }
      case 'body-close':
        if (this.buf.length > 0) this.addBody(this.take(this.buf.length));
        return false;
      case 'chunk-size': {
        const line = this.readLine();
        if (line === undefined) return false;
        const m = /^([0-9a-fA-F]+)[ \t]*(?:;.*)?$/.exec(line.trim());
        if (!m || m[1]!.length > 13) return this.fail(`malformed chunk size line ${JSON.stringify(line)}`);
        const size = parseInt(m[1]!, 16);
        if (size === 0) {
          this.state = 'trailers';
        } else {
          this.remaining = size;
          this.state = 'chunk-data';
        }
        return true;
      }
      case 'chunk-data': {
        if (this.buf.length === 0) return false;
        const piece = this.take(this.remaining);
        this.remaining -= piece.length;
        this.chunkParts.push(piece);
        this.addBody(piece);
        if (this.remaining === 0) {
          this.endChunk();
          this.state = 'chunk-data-end';
        }
        return true;
      }
      case 'chunk-data-end': {
        const line = this.readLine();
        if (line === undefined) return false;
        if (line !== '') return this.fail('chunk data not followed by CRLF');
        this.state = 'chunk-size';
        return true;
      }
      case 'trailers': {
        const line = this.readLine();
        if (line === undefined) return false;
        if (line === '') {
          this.cur!.trailers = joinFields(this.rawTrailers);
          this.endMessage(true);
          return true;
        }
        const err = parseFieldLines([line], this.rawTrailers);
        return err === undefined ? true : this.fail(`in trailers: ${err}`);
      }
      default:
        return false;
    }
  }

  private startMessage(head: string): boolean {
    const lines = head.split(/\r?\n/);
    while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
    const statusLine = lines[0] ?? '';
    const m = /^HTTP\/(\d+(?:\.\d+)?) (\d{3})(?: (.*))?$/.exec(statusLine);
    if (!m) return this.fail(`malformed status line ${JSON.stringify(statusLine)}`);
    const rawHeaders: Array<[string, string]> = [];
    const err = parseFieldLines(lines.slice(1), rawHeaders);
    if (err !== undefined) return this.fail(err);
    const headers = joinFields(rawHeaders);
    const status = Number(m[2]);
    const method = (this.methods[this.finalIndex] ?? 'GET').toUpperCase();

    let framing: Framing;
    let length = 0;
    if (status < 200 || status === 204 || status === 304 || method === 'HEAD' || (method === 'CONNECT' && status < 300)) {
      framing = 'none';
    } else if (headers['transfer-encoding'] !== undefined) {
      framing = isChunked(headers['transfer-encoding']) ? 'chunked' : 'close';
    } else if (headers['content-length'] !== undefined) {
      const n = parseContentLength(headers['content-length']);
      if (n === undefined) return this.fail(`invalid Content-Length ${JSON.stringify(headers['content-length'])}`);
      framing = 'content-length';
      length = n;
    } else {
      framing = 'close';
    }

    const res: ParsedResponse = {
      status, reason: m[3] ?? '', httpVersion: m[1]!, headers, rawHeaders, head,
      body: EMPTY, chunks: [], framing, complete: false, trailers: {},
    };
    this.cur = res;
    this.bodyParts = [];
    this.chunkParts = [];
    this.rawTrailers = [];
    this.hooks.onHead?.(res);

    const upgraded = status === 101 || (method === 'CONNECT' && status >= 200 && status < 300);
    if (framing === 'none' || (framing === 'content-length' && length === 0)) {
      this.endMessage(true);
    } else if (framing === 'content-length') {
      this.remaining = length;
      this.state = 'body-length';
    } else if (framing === 'chunked') {
      this.state = 'chunk-size';
    } else {
      this.state = 'body-close';
    }
    if (upgraded) {
      this.state = 'upgraded'; // what follows is another protocol
      return false;
    }
    return true;
  }

  private addBody(piece: Buffer): void {
    this.bodyParts.push(piece);
    this.hooks.onBody?.(this.cur!, piece);
  }

  private endChunk(): void {
    this.cur!.chunks.push(Buffer.concat(this.chunkParts));
    this.chunkParts = [];
    this.hooks.onChunkEnd?.(this.cur!);
  }

  private endMessage(complete: boolean): void {
    const res = this.cur!;
    res.complete = complete;
    res.body = Buffer.concat(this.bodyParts);
    this.bodyParts = [];
    this.cur = undefined;
    this.responses.push(res);
    if (res.status >= 200 || res.status === 101) this.finalIndex++;
    this.state = 'head';
    this.hooks.onEnd?.(res);
  }
}

export interface ParseOptions {
  /** The request method of each final response, in order, so HEAD responses are read without a body. */
  methods?: string[];
  /** The server closed the connection cleanly after these bytes (completes a close-delimited body). */
  closed?: boolean;
}

/**
 * Parse as many responses as the bytes hold, in order, interim 1xx responses
 * included. 204/304 responses (and 1xx) are read without a body; pass
 * `methods` for HEAD. A response cut short is returned with `complete: false`;
 * parsing stops at bytes that do not make sense (see `parseResponsesDetailed`).
 */
export function parseResponses(bytes: Buffer, options: ParseOptions = {}): ParsedResponse[] {
  return parseResponsesDetailed(bytes, options).responses;
}

/** Like `parseResponses`, also telling where parsing stopped and why. */
export function parseResponsesDetailed(bytes: Buffer, options: ParseOptions = {}): { responses: ParsedResponse[]; error?: string; rest: Buffer } {
  const parser = new ResponseParser(options.methods ?? []);
  parser.feed(bytes);
  parser.finish(options.closed ?? false);
  const out: { responses: ParsedResponse[]; error?: string; rest: Buffer } = { responses: parser.responses, rest: parser.rest };
  if (parser.error !== undefined) out.error = parser.error;
  return out;
}
