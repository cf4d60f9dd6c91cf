import { bufferedShape, shapeSelf, WrappingBody, type BodyShape, type ChunkSource, type Encode } from '../body/body.js';
import { kSettings, type Context } from '../http/request.js';
import { CODINGS, CompressingSource, compressBytes, continuation, negotiate, type Coding, type CompressOptions } from '../body/compress.js';
import { mediaType } from '../lib/media-type.js';
import { addVary } from '../http/vary.js';
import type { Headers } from '../http/headers.js';
import { fullRepresentation } from '../body/conditional.js';
import { optionError, type ToolBehaviour } from '../core/tool.js';
import { isThenable } from '../lib/thenable.js';

export interface GzipOptions {
  /** zlib level for gzip and deflate, -1 (zlib's default, 6) … 9. */
  level: number;
  /** Brotli quality, 0 … 11. */
  brotli_quality: number;
  /** Bodies shorter than this many bytes (buffered, files, a declared Content-Length) are sent as they are. */
  min_size: number;
  /** Media types to compress; `*` matches any run of characters (`text/*`). */
  mime_types: readonly string[];
  /** The codings offered, most preferred first (at equal q). */
  encodings: readonly string[];
}

interface Prepared extends CompressOptions {
  readonly minSize: number;
  readonly types: readonly RegExp[];
  readonly encodings: readonly string[];
}

function bad(option: string, expects: string, value: unknown): never {
  throw optionError('gzip', option, expects, value);
}

/** Options checked and compiled once per route: the levels, the media-type patterns as regular expressions. */
function prepare(o: Readonly<GzipOptions>): Prepared {
  if (!Number.isInteger(o.level) || o.level < -1 || o.level > 9) bad('level', 'an integer -1 … 9', o.level);
  if (!Number.isInteger(o.brotli_quality) || o.brotli_quality < 0 || o.brotli_quality > 11) bad('brotli_quality', 'an integer 0 … 11', o.brotli_quality);
  if (!Number.isInteger(o.min_size) || o.min_size < 0) bad('min_size', 'a byte count', o.min_size);
  if (!Array.isArray(o.mime_types) || !o.mime_types.every((t) => typeof t === 'string')) bad('mime_types', 'a list of media types', o.mime_types);
  if (!Array.isArray(o.encodings) || !o.encodings.every((e) => (CODINGS as readonly unknown[]).includes(e))) {
    bad('encodings', `a list of ${CODINGS.join(', ')}`, o.encodings);
  }
  const types = o.mime_types.map((t) => new RegExp('^' + t.trim().toLowerCase().split('*').map((s) => s.replace(/[.+?^${}()|[\]\\/]/g, '\\$&')).join('.*') + '$'));
  return { level: o.level, brotliQuality: o.brotli_quality, minSize: o.min_size, types, encodings: o.encodings };
}

const DEFAULT_TYPE = 'text/html';

/**
 * Whether to compress this response, and with what; sets the headers that
 * go with the answer (`Vary`, and for a compressed one `Content-Encoding`,
 * a weak ETag, no Content-Length or Accept-Ranges). `size`: the body's
 * length when known (buffered, a file, a declared Content-Length), for `min_size`.
 */
function decide(ctx: Context, p: Prepared, json: boolean, size: number | undefined): Coding | null {
  const { response } = ctx;
  const h = response.headers;
  const status = response.status;
  // A 304, or a byte range of the identity form: no compression, but the headers its 200 would carry.
  if (status === 206 || status === 304) return asItsFull(ctx, p);
  // No body (204), or not a final response.
  if (status < 200 || status === 204 || h.has('content-range')) return null;
  const chosen = chooseFor(ctx, p, h.get('content-type') ?? (json ? 'application/json' : DEFAULT_TYPE), h.get('content-encoding'), size);
  if (chosen === undefined) return null;
  addVary(h, 'Accept-Encoding');
  if (chosen === null) return null;
  h.set('Content-Encoding', chosen);
  if (h.has('content-length')) h.delete('content-length');
  // Ranges of the compressed form are not offered (a Range request gets the identity form, 206).
  if (h.has('accept-ranges')) h.delete('accept-ranges');
  weakenETag(h);
  return chosen;
}

/**
 * What this client's 200 gets: a coding, null for identity, undefined when
 * the body is not gzip's to negotiate (already encoded, a type outside
 * `mime_types`, smaller than `min_size`): the same bytes for every client, so no Vary.
 */
function chooseFor(ctx: Context, p: Prepared, contentType: string, encoding: string | undefined, size: number | undefined): Coding | null | undefined {
  if (encoding !== undefined && encoding.trim().toLowerCase() !== 'identity') return undefined; // already encoded
  if (!p.types.some((re) => re.test(mediaType(contentType)))) return undefined;
  const chosen = negotiate(ctx.request.headers['accept-encoding'], p.encodings);
  // Too small to be worth it (unless the client refused identity: then it gets what it asked for).
  if (size !== undefined && size < p.minSize && chosen?.identityRefused !== true) return undefined;
  return chosen === null ? null : chosen.coding;
}

/**
 * A 304 or 206 made from a 200 a body helper knew (a file, tools.etags):
 * the `Vary` that 200 would carry, and for a 304 to a client that gets the
 * compressed form, the weak ETag it got with it (RFC 9110 §15.3.7, §15.4.5).
 * A 206 is a range of the identity form: its strong ETag stays.
 */
function asItsFull(ctx: Context, p: Prepared): null {
  const { response } = ctx;
  const full = fullRepresentation(response);
  if (full === undefined) return null;
  const chosen = chooseFor(ctx, p, full.type ?? DEFAULT_TYPE, full.encoding, full.length);
  if (chosen === undefined) return null;
  addVary(response.headers, 'Accept-Encoding');
  if (chosen !== null && response.status === 304) weakenETag(response.headers);
  return null;
}

/** Another representation: the uncompressed one's strong validator would be a lie. */
function weakenETag(h: Headers): void {
  const etag = h.get('etag');
  if (etag !== undefined && !etag.startsWith('W/')) h.set('ETag', 'W/' + etag);
}

/** A Content-Length the handler declared on a body of unknown length, for `min_size`. */
function declaredSize(h: Headers): number | undefined {
  const v = h.get('content-length');
  return v !== undefined && /^\d{1,15}$/.test(v) ? Number(v) : undefined;
}

/** A failed compressed stream's last in-band chunk (`onStreamError`), compressed to continue the stream. */
function compressErrorChunk(ctx: Context, source: CompressingSource): void {
  const previous = ctx.response.onStreamError;
  if (previous === undefined) return;
  ctx.response.onStreamError = (err) => {
    const last = previous(err);
    if (last === undefined || last.length === 0) return last;
    if (!source.clean) return undefined; // the compressor itself failed: cut without it
    const data = typeof last === 'string' ? Buffer.from(last, 'utf8') : Buffer.from(last.buffer, last.byteOffset, last.byteLength);
    return continuation(source.coding, data, source.started);
  };
}

/**
 * A streamed body whose coding is chosen when its first chunk arrives —
 * after a generator had its chance to set Content-Type or status (B3/S1) —
 * unless the headers went out first (then it passes through unchanged).
 */
class DeferredSource implements ChunkSource {
  readonly #ctx: Context;
  readonly #p: Prepared;
  #inner: ChunkSource;
  #decided = false;
  #closed = false;

  constructor(ctx: Context, p: Prepared, inner: ChunkSource) {
    this.#ctx = ctx;
    this.#p = p;
    this.#inner = inner;
  }

  next(): Buffer | null | Promise<Buffer | null> {
    return this.#decided ? this.#inner.next() : this.#first();
  }

  async #first(): Promise<Buffer | null> {
    const chunk = await this.#inner.next();
    this.#decided = true;
    if (this.#closed) return null; // closed while the first chunk was on its way: no compressor to leak
    const { response } = this.#ctx;
    const coding = response.committed || chunk === null ? null : decide(this.#ctx, this.#p, false, declaredSize(response.headers));
    if (coding === null) return chunk;
    const source = new CompressingSource(new Prepended(chunk!, this.#inner), coding, this.#p);
    compressErrorChunk(this.#ctx, source);
    this.#inner = source;
    return source.next();
  }

  close(): void | Promise<void> {
    this.#closed = true;
    return this.#inner.close();
  }
}

/** A source with one chunk already pulled put back in front. */
class Prepended implements ChunkSource {
  #first: Buffer | undefined;
  readonly #rest: ChunkSource;

  constructor(first: Buffer, rest: ChunkSource) {
    this.#first = first;
    this.#rest = rest;
  }

  next(): Buffer | null | Promise<Buffer | null> {
    const f = this.#first;
    if (f === undefined) return this.#rest.next();
    this.#first = undefined;
    return f;
  }

  close(): void | Promise<void> {
    return this.#rest.close();
  }
}

/** The handler's body, compressed when the client and the response allow it. */
class CompressedBody extends WrappingBody {
  readonly #p: Prepared;

  constructor(inner: unknown, p: Prepared) {
    super(inner);
    this.#p = p;
  }

  async [shapeSelf](ctx: Context, encode: Encode): Promise<BodyShape> {
    let shape = await this.innerShape(ctx, encode);
    const { request, response } = ctx;
    if (response.committed) return shape;
    if (shape.kind === 'chunks' && shape.length === undefined && !response.stream) {
      // Buffered: the pipeline would materialize it anyway. Doing it here lets the decision
      // see the headers a generator set and the real size, and gives a correct Content-Length.
      const bytes = bufferedShape(shape.source, request[kSettings].maxBuffered);
      shape = isThenable(bytes) ? await bytes : bytes;
    }
    if (shape.kind === 'bytes') {
      // HEAD too: it gets the GET's headers and length (B6).
      const coding = decide(ctx, this.#p, shape.json, shape.data.length);
      if (coding === null) return shape;
      const data = compressBytes(shape.data, coding, this.#p);
      return { kind: 'bytes', data: isThenable<Buffer>(data) ? await data : data, json: shape.json };
    }
    // Decide now when nothing more can change the headers before commit: a body of known
    // length (a file: its headers are set) or a commit before the first chunk. A streamed HEAD
    // is pulled to its first chunk like GET (S7), so it decides there too, on the same headers.
    const now = shape.length !== undefined || request[kSettings].streamCommit === 'immediately';
    if (!now) return { kind: 'chunks', source: new DeferredSource(ctx, this.#p, shape.source) };
    const coding = decide(ctx, this.#p, false, shape.length ?? declaredSize(response.headers));
    if (coding === null) return shape;
    // The compressed length is unknown: stream it (chunked) rather than hold a whole file in memory (B7).
    response.stream = true;
    const source = new CompressingSource(shape.source, coding, this.#p);
    compressErrorChunk(ctx, source);
    return { kind: 'chunks', source };
  }
}

/**
 * `tools.gzip`: compress response bodies with brotli, gzip or deflate, as
 * the client's `Accept-Encoding` allows (q-values honoured; br, then gzip,
 * then deflate at equal q). Buffered bodies are compressed whole and get a
 * correct Content-Length; streamed ones are compressed chunk by chunk and
 * flushed after every chunk, so an SSE event reaches the browser at once.
 * Skipped: small bodies (`min_size`), media types outside `mime_types`,
 * responses already encoded, 204/206/304.
 *
 * @example
 *   new App(root, { '/': { 'tools.gzip.on': true, 'tools.gzip.mime_types': ['text/*', 'application/json'] } });
 */
export const gzip: ToolBehaviour<GzipOptions, Prepared> = {
  defaults: {
    level: 6,
    brotli_quality: 4,
    min_size: 256,
    mime_types: [
      'text/*', 'application/json', 'application/javascript', 'text/javascript', 'image/svg+xml',
      'application/xml', 'text/event-stream', 'application/x-ndjson', 'application/problem+json',
    ],
    encodings: ['br', 'gzip', 'deflate'],
  },
  prepare,
  run({ response }, p) {
    if (response.committed || response.body === undefined || response.body === null) return;
    response.body = new CompressedBody(response.body, p);
  },
};
