// The text/event-stream side of drupe/testing: streamRequest's events() and parseEventStream.

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

/** The events of a body read chunk by chunk, as they arrive (the stream clients' `events()`). */
export async function* eventsOf(chunks: AsyncIterable<{ readonly data: Buffer }>, options: { comments?: boolean } = {}): AsyncGenerator<SseEvent, void, undefined> {
  const parser = new SseParser(options);
  for await (const { data } of chunks) yield* parser.push(data);
  yield* parser.end();
}
