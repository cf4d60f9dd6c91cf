/**
 * Range requests (RFC 9110 §14): parsing `Range: bytes=…` against a known
 * size, and the layout of a `multipart/byteranges` body.
 */

/** A byte range, both ends inclusive. */
export interface ByteRange {
  readonly start: number;
  readonly end: number;
}

/**
 * `ignore`: send the full representation (no Range, another unit, a
 * syntactically invalid header, or one past our bounds); `unsatisfiable`:
 * 416; `ranges`: 206 with these parts, in the order asked.
 */
export type RangeResult =
  | { readonly kind: 'ignore' }
  | { readonly kind: 'unsatisfiable' }
  | { readonly kind: 'ranges'; readonly ranges: readonly ByteRange[] };

/** At most this many ranges per request; more (or overlapping ones) get the full body with 200. */
export const MAX_RANGES = 16;

const IGNORE: RangeResult = { kind: 'ignore' };
const SPEC = /^(\d*)-(\d*)$/;

/**
 * Parse a Range header for a representation of `size` bytes.
 *
 * Bounds (so one request cannot fan out into thousands of parts, or make
 * the server send the same bytes many times): more than `max` range specs,
 * or satisfiable ranges that overlap, and the header is ignored — the
 * client gets the whole body with 200, which RFC 9110 §14.2 allows.
 */
export function parseRange(value: string | undefined, size: number, max = MAX_RANGES): RangeResult {
  if (value === undefined) return IGNORE;
  const eq = value.indexOf('=');
  if (eq < 0 || value.slice(0, eq).trim().toLowerCase() !== 'bytes') return IGNORE;
  const specs = value.slice(eq + 1).split(',');
  if (specs.length > max * 4) return IGNORE;
  const ranges: ByteRange[] = [];
  let count = 0;
  for (const raw of specs) {
    const spec = raw.trim();
    if (spec === '') continue; // an empty list element (RFC 9110 §5.6.1)
    if (++count > max) return IGNORE;
    const m = SPEC.exec(spec);
    if (m === null) return IGNORE;
    const [, a, b] = m as unknown as [string, string, string];
    if (a === '') {
      if (b === '') return IGNORE;
      const suffix = Number(b);
      if (suffix === 0 || size === 0) continue; // unsatisfiable member
      ranges.push({ start: Math.max(0, size - suffix), end: size - 1 });
      continue;
    }
    const start = Number(a);
    const last = b === '' ? Infinity : Number(b);
    if (last < start) return IGNORE; // first-pos > last-pos: invalid, the whole header is ignored
    if (start >= size) continue; // unsatisfiable member
    ranges.push({ start, end: Math.min(last, size - 1) });
  }
  if (count === 0) return IGNORE;
  if (ranges.length === 0) return { kind: 'unsatisfiable' };
  if (ranges.length > 1) {
    const sorted = ranges.slice().sort((x, y) => x.start - y.start);
    for (let i = 1; i < sorted.length; i++) if (sorted[i]!.start <= sorted[i - 1]!.end) return IGNORE;
  }
  return { kind: 'ranges', ranges };
}

/** `bytes 0-99/1234` */
export function contentRange(r: ByteRange, size: number): string {
  return `bytes ${r.start}-${r.end}/${size}`;
}

/** One part of a multipart/byteranges body: its header block, then bytes start..end of the file. */
export interface MultipartPart {
  readonly head: Buffer;
  readonly range: ByteRange;
}

export interface MultipartLayout {
  readonly parts: readonly MultipartPart[];
  /** The closing delimiter. */
  readonly tail: Buffer;
  /** The exact body length: every head, every range, the tail. */
  readonly length: number;
}

/**
 * The layout of a `multipart/byteranges; boundary=…` body (RFC 9110
 * §14.6, RFC 2046): each part is `--boundary`, its Content-Type and
 * Content-Range, a blank line, the bytes; parts are separated by CRLF and
 * the body ends with `CRLF--boundary--CRLF`.
 */
export function multipartLayout(ranges: readonly ByteRange[], size: number, contentType: string | undefined, boundary: string): MultipartLayout {
  let length = 0;
  const parts = ranges.map((range, i) => {
    let text = `${i === 0 ? '' : '\r\n'}--${boundary}\r\n`;
    if (contentType !== undefined) text += `Content-Type: ${contentType}\r\n`;
    text += `Content-Range: ${contentRange(range, size)}\r\n\r\n`;
    const head = Buffer.from(text, 'latin1');
    length += head.length + (range.end - range.start + 1);
    return { head, range };
  });
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`, 'latin1');
  length += tail.length;
  return { parts, tail, length };
}
