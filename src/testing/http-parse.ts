/**
 * Incremental HTTP/1.x response parser and text/event-stream parser used by
 * `drupe/testing`. Self-contained: depends on nothing else in Drupe.
 *
 * The parser is fed bytes as they arrive and reports, through optional hooks,
 * each response head, each piece of body, the end of each HTTP chunk and the
 * end of each message, so callers can observe framing exactly as sent.
 */

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

/** Index just past the blank line that ends a head (CRLF CRLF, tolerating bare LF), or -1. */
export function findHeadEnd(buf: Buffer): number {
  const crlf = buf.indexOf('\r\n\r\n');
  const lf = buf.indexOf('\n\n');
  const a = crlf < 0 ? Infinity : crlf + 4;
  const b = lf < 0 ? Infinity : lf + 2;
  const end = Math.min(a, b);
  return end === Infinity ? -1 : end;
}

/** Parse `name: value` lines (obs-fold continuation lines are joined). Returns an error message on a malformed line. */
export function parseFieldLines(lines: readonly string[], into: Array<[string, string]>): string | undefined {
  for (const line of lines) {
    if ((line.startsWith(' ') || line.startsWith('\t')) && into.length > 0) {
      const last = into[into.length - 1]!;
      last[1] = `${last[1]} ${line.trim()}`.trim();
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) return `malformed header line ${JSON.stringify(line)}`;
    into.push([line.slice(0, colon).trimEnd(), line.slice(colon + 1).trim()]);
  }
  return undefined;
}

/** Lower-case names; repeats joined with ', ' (set-cookie with '\n'). */
export function joinFields(raw: ReadonlyArray<readonly [string, string]>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [rawName, value] of raw) {
    const name = rawName.toLowerCase();
    const prev = out[name];
    out[name] = prev === undefined ? value : `${prev}${name === 'set-cookie' ? '\n' : ', '}${value}`;
  }
  return out;
}

/** A Content-Length value ("5" or a list of identical values "5, 5"); undefined when invalid. */
function parseContentLength(value: string): number | undefined {
  const parts = value.split(',').map((s) => s.trim());
  if (!parts.every((p) => /^\d+$/.test(p) && p === parts[0])) return undefined;
  const n = Number(parts[0]);
  return Number.isSafeInteger(n) ? n : undefined;
}

function isChunked(transferEncoding: string): boolean {
  const codings = transferEncoding.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
  return codings[codings.length - 1] === 'chunked';
}

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

/**
 * The request methods found in bytes a client sends (request lines, skipping
 * bodies framed by Content-Length or chunked). Stops at the first thing it
 * cannot follow.
 */
export function requestMethods(bytes: Buffer): string[] {
  const methods: string[] = [];
  let buf = bytes;
  for (;;) {
    let start = 0;
    while (start < buf.length && (buf[start] === 13 || buf[start] === 10)) start++;
    buf = buf.subarray(start);
    const end = findHeadEnd(buf);
    if (end < 0) return methods;
    const lines = buf.subarray(0, end).toString('latin1').split(/\r?\n/).filter((l) => l !== '');
    const m = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+) \S+ HTTP\/\d/.exec(lines[0] ?? '');
    if (!m) return methods;
    methods.push(m[1]!);
    const raw: Array<[string, string]> = [];
    parseFieldLines(lines.slice(1), raw);
    const headers = joinFields(raw);
    buf = buf.subarray(end);
    if (headers['transfer-encoding'] !== undefined && isChunked(headers['transfer-encoding'])) {
      for (;;) { // skip chunks, then trailers
        const nl = buf.indexOf(10);
        if (nl < 0) return methods;
        const size = parseInt(buf.subarray(0, nl).toString('latin1').trim(), 16);
        buf = buf.subarray(nl + 1);
        if (Number.isNaN(size)) return methods;
        if (size === 0) break;
        buf = buf.subarray(size);
        const crlf = buf.indexOf(10);
        if (crlf < 0) return methods;
        buf = buf.subarray(crlf + 1);
      }
      for (;;) {
        const nl = buf.indexOf(10);
        if (nl < 0) return methods;
        const empty = nl === 0 || (nl === 1 && buf[0] === 13);
        buf = buf.subarray(nl + 1);
        if (empty) break;
      }
    } else if (headers['content-length'] !== undefined) {
      const n = parseContentLength(headers['content-length']);
      if (n === undefined) return methods;
      buf = buf.subarray(n);
    }
  }
}

export interface SseEvent {
  event?: string;
  data: string;
  id?: string;
  retry?: number;
  comment?: string;
}

/**
 * A text/event-stream parser following the WHATWG rules: lines end with CRLF,
 * LF or CR (also when split across chunks); `data` lines are joined with '\n';
 * an event is dispatched on a blank line; a field without a colon has an empty
 * value; one space after the colon is dropped; `retry` must be all digits; an
 * `id` containing NUL is ignored; an unterminated block at the end is dropped.
 *
 * For testing, `id` and `retry` are reported on the block where they appear
 * (not carried over), and a block that only sets `id`/`retry` (which a browser
 * applies without dispatching) is reported too, with `data: ''`.
 */
export class SseParser {
  private readonly decoder = new TextDecoder('utf-8');
  private pending = '';
  private data: string[] = [];
  private sawData = false;
  private event: string | undefined;
  private id: string | undefined;
  private retry: number | undefined;

  constructor(private readonly options: { comments?: boolean } = {}) {}

  push(chunk: Buffer | Uint8Array | string): SseEvent[] {
    const text = typeof chunk === 'string' ? chunk : this.decoder.decode(chunk, { stream: true });
    return this.lines(this.pending + text, false);
  }

  /** End of stream: flush; an unterminated block is discarded, per the spec. */
  end(): SseEvent[] {
    const out = this.lines(this.pending + this.decoder.decode(), true);
    this.pending = '';
    this.reset();
    return out;
  }

  private lines(text: string, final: boolean): SseEvent[] {
    const out: SseEvent[] = [];
    const eol = /[\r\n]/g;
    let pos = 0;
    for (;;) {
      eol.lastIndex = pos;
      const m = eol.exec(text);
      if (!m) break;
      const i = m.index;
      let next = i + 1;
      if (text[i] === '\r') {
        if (i + 1 === text.length && !final) break; // a following LF may be in the next chunk
        if (text[i + 1] === '\n') next = i + 2;
      }
      this.line(text.slice(pos, i), out);
      pos = next;
    }
    this.pending = text.slice(pos);
    return out;
  }

  private line(line: string, out: SseEvent[]): void {
    if (line === '') {
      this.dispatch(out);
      return;
    }
    const colon = line.indexOf(':');
    let field = line;
    let value = '';
    if (colon >= 0) {
      field = line.slice(0, colon);
      value = line.slice(colon + 1);
      if (value.startsWith(' ')) value = value.slice(1);
    }
    if (colon === 0) {
      if (this.options.comments) out.push({ data: '', comment: value });
      return;
    }
    switch (field) {
      case 'event': this.event = value; break;
      case 'data': this.data.push(value); this.sawData = true; break;
      case 'id': if (!value.includes('\0')) this.id = value; break;
      case 'retry': if (/^\d+$/.test(value)) this.retry = Number(value); break;
      default: break; // unknown fields are ignored
    }
  }

  private dispatch(out: SseEvent[]): void {
    if (this.sawData || this.id !== undefined || this.retry !== undefined) {
      const ev: SseEvent = { data: this.data.join('\n') };
      if (this.event !== undefined && this.event !== '') ev.event = this.event;
      if (this.id !== undefined) ev.id = this.id;
      if (this.retry !== undefined) ev.retry = this.retry;
      out.push(ev);
    }
    this.reset();
  }

  private reset(): void {
    this.data = [];
    this.sawData = false;
    this.event = undefined;
    this.id = undefined;
    this.retry = undefined;
  }
}

/** Parse a whole text/event-stream text at once. */
export function parseEventStream(text: string | Buffer, options: { comments?: boolean } = {}): SseEvent[] {
  const p = new SseParser(options);
  return [...p.push(text), ...p.end()];
}
