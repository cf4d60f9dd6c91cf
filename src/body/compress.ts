import zlib from 'node:zlib';
import { promisify } from 'node:util';
import type { ChunkSource } from './body.js';

/** The content codings Drupe can produce. */
export type Coding = 'br' | 'gzip' | 'deflate';
export const CODINGS: readonly Coding[] = ['br', 'gzip', 'deflate'];

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9a-z]+$/;
const QVALUE = /^q=(0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$/i;

/**
 * `Accept-Encoding` as coding → q (lower-case names; `x-gzip` counts as
 * `gzip`). Entries with an invalid q are ignored; for a coding listed twice
 * the first entry counts. Null when the header is absent.
 */
export function parseAcceptEncoding(header: string | undefined): Map<string, number> | null {
  if (header === undefined) return null;
  const out = new Map<string, number>();
  for (const item of header.split(',')) {
    const parts = item.split(';');
    let coding = parts[0]!.trim().toLowerCase();
    if (coding === '' || !TOKEN.test(coding)) continue;
    if (coding === 'x-gzip') coding = 'gzip';
    let q = 1;
    let valid = true;
    for (let i = 1; i < parts.length; i++) {
      const p = parts[i]!.trim();
      if (p === '') continue;
      const m = QVALUE.exec(p.replace(/\s*=\s*/, '='));
      if (m === null) {
        if (/^q\s*=/i.test(p)) valid = false; // a malformed weight: ignore the entry
        continue;
      }
      q = Number(m[1]);
    }
    if (valid && !out.has(coding)) out.set(coding, q);
  }
  return out;
}

export interface Negotiated {
  readonly coding: Coding;
  /** The client refused the uncompressed form (`identity;q=0`, or `*;q=0` without identity). */
  readonly identityRefused: boolean;
}

/**
 * Pick a coding (RFC 9110 §12.5.3): the highest q above 0 among `offered`,
 * ties going to the earlier one in `offered` (br, gzip, deflate by default);
 * a coding not named gets the q of `*`, or none. `identity` named with a
 * higher q than every coding wins (no compression). No header: none.
 */
export function negotiate(header: string | undefined, offered: readonly string[]): Negotiated | null {
  const accept = parseAcceptEncoding(header);
  if (accept === null) return null;
  const star = accept.get('*');
  let best: Coding | null = null;
  let bestQ = 0;
  for (const c of offered) {
    if (!(CODINGS as readonly string[]).includes(c)) continue;
    const q = accept.get(c) ?? star ?? 0;
    if (q > bestQ) {
      best = c as Coding;
      bestQ = q;
    }
  }
  if (best === null) return null;
  const identity = accept.get('identity');
  if (identity !== undefined && identity > bestQ) return null;
  return { coding: best, identityRefused: (identity ?? star ?? 1) === 0 };
}

export interface CompressOptions {
  /** zlib level for gzip and deflate (-1 … 9). */
  readonly level: number;
  /** Brotli quality (0 … 11). */
  readonly brotliQuality: number;
}

function zlibOptions(coding: Coding, o: CompressOptions, sizeHint?: number): zlib.ZlibOptions | zlib.BrotliOptions {
  if (coding !== 'br') return { level: o.level };
  const params: Record<number, number> = {
    [zlib.constants.BROTLI_PARAM_QUALITY]: o.brotliQuality,
    [zlib.constants.BROTLI_PARAM_MODE]: zlib.constants.BROTLI_MODE_TEXT,
  };
  if (sizeHint !== undefined) params[zlib.constants.BROTLI_PARAM_SIZE_HINT] = sizeHint;
  return { params };
}

const SYNC_LIMIT = 64 * 1024;
const gzipAsync = promisify(zlib.gzip);
const deflateAsync = promisify(zlib.deflate);
const brotliAsync = promisify(zlib.brotliCompress);

/** A whole buffered body compressed; small ones at once, bigger ones on the thread pool. */
export function compressBytes(data: Buffer, coding: Coding, o: CompressOptions): Buffer | Promise<Buffer> {
  const opts = zlibOptions(coding, o, data.length);
  if (data.length <= SYNC_LIMIT) {
    if (coding === 'gzip') return zlib.gzipSync(data, opts);
    if (coding === 'deflate') return zlib.deflateSync(data, opts);
    return zlib.brotliCompressSync(data, opts);
  }
  if (coding === 'gzip') return gzipAsync(data, opts);
  if (coding === 'deflate') return deflateAsync(data, opts);
  return brotliAsync(data, opts as zlib.BrotliOptions);
}

type Compressor = zlib.Gzip | zlib.Deflate | zlib.BrotliCompress;

function createCompressor(coding: Coding, o: CompressOptions): Compressor {
  const opts = zlibOptions(coding, o);
  if (coding === 'gzip') return zlib.createGzip(opts);
  if (coding === 'deflate') return zlib.createDeflate(opts);
  return zlib.createBrotliCompress(opts);
}

const EMPTY = Buffer.alloc(0);

/**
 * Bytes that continue a compressed stream cut right after a flush, so a
 * last in-band chunk (an SSE error event) still reads after a failure —
 * while the stream stays unfinished (no gzip trailer, no last brotli
 * meta-block), as truncated as the HTTP framing around it (S5).
 * `started`: the stream's header already went out.
 */
export function continuation(coding: Coding, data: Buffer, started: boolean): Buffer {
  const C = zlib.constants;
  if (!started) {
    // Nothing compressed went out yet: a whole stream start, flushed, never finished.
    if (coding === 'gzip') return zlib.gzipSync(data, { finishFlush: C.Z_SYNC_FLUSH });
    if (coding === 'deflate') return zlib.deflateSync(data, { finishFlush: C.Z_SYNC_FLUSH });
    return zlib.brotliCompressSync(data, { finishFlush: C.BROTLI_OPERATION_FLUSH });
  }
  // After a sync flush a deflate stream is at a block boundary, and blocks from a fresh
  // compressor refer to nothing before them: raw deflate blocks append cleanly.
  if (coding !== 'br') return zlib.deflateRawSync(data, { finishFlush: C.Z_SYNC_FLUSH });
  // Brotli is byte-aligned after a flush; append uncompressed meta-blocks (RFC 7932 §9.2):
  // ISLAST=0, MNIBBLES=4, MLEN-1 in 16 bits, ISUNCOMPRESSED=1, padding to the byte.
  const parts: Buffer[] = [];
  for (let i = 0; i < data.length; i += 65536) {
    const piece = data.subarray(i, i + 65536);
    const v = ((piece.length - 1) << 3) | (1 << 19);
    parts.push(Buffer.from([v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff]), piece);
  }
  return Buffer.concat(parts);
}

/**
 * A chunk source compressed on the fly: each chunk is compressed and
 * FLUSHED (Z_SYNC_FLUSH / BROTLI_OPERATION_FLUSH) before it is handed on,
 * so what the producer yields reaches the client at once (S9). The end of
 * the inner source ends the compressed stream (its trailer is the last
 * chunk); a failure of the inner source passes through, leaving the
 * compressed stream unfinished; closing releases the compressor.
 */
export class CompressingSource implements ChunkSource {
  readonly #inner: ChunkSource;
  readonly #coding: Coding;
  readonly #flushKind: number;
  #z: Compressor | undefined;
  #out: Buffer[] = [];
  #ended = false;
  #closed = false;
  /** Some compressed bytes were handed on (the stream's header is out). */
  started = false;
  /** Everything handed on ended at a flush point (false while the compressor works, or after it failed). */
  clean = true;

  constructor(inner: ChunkSource, coding: Coding, options: CompressOptions) {
    this.#inner = inner;
    this.#coding = coding;
    this.#flushKind = coding === 'br' ? zlib.constants.BROTLI_OPERATION_FLUSH : zlib.constants.Z_SYNC_FLUSH;
    const z = createCompressor(coding, options);
    z.on('data', (d: Buffer) => this.#out.push(d));
    z.on('error', () => undefined); // surfaced by #run
    this.#z = z;
  }

  get coding(): Coding {
    return this.#coding;
  }

  async next(): Promise<Buffer | null> {
    if (this.#ended) return null;
    const chunk = await this.#inner.next();
    if (this.#closed) return null;
    if (chunk === null) {
      const z = this.#z!;
      const tail = await this.#run((done) => {
        z.once('end', done);
        z.end();
      });
      this.#ended = true;
      this.#z = undefined;
      return tail;
    }
    if (chunk.length === 0) return EMPTY;
    const z = this.#z!;
    const out = await this.#run((done) => {
      z.write(chunk);
      z.flush(this.#flushKind, done);
    });
    this.started = true;
    return out;
  }

  /** Drive the compressor and collect what it emitted; rejects if it fails or is closed meanwhile. */
  #run(start: (done: () => void) => void): Promise<Buffer> {
    const z = this.#z!;
    this.clean = false;
    return new Promise<Buffer>((resolve, reject) => {
      const fail = (err?: unknown): void => {
        z.off('error', fail);
        z.off('close', onClose);
        reject(err instanceof Error ? err : new Error('The compressor was closed'));
      };
      const onClose = (): void => fail();
      z.once('error', fail);
      z.once('close', onClose);
      start(() => {
        z.off('error', fail);
        z.off('close', onClose);
        // Output of this step was pushed before its callback; wait until every bit of it was emitted.
        const settle = (): void => {
          if (z.destroyed && z.readableLength > 0) return reject(new Error('The compressor was closed'));
          if (z.readableLength > 0) return void setImmediate(settle);
          const out = this.#out.length === 1 ? this.#out[0]! : Buffer.concat(this.#out);
          this.#out = [];
          this.clean = true;
          resolve(out);
        };
        settle();
      });
    });
  }

  close(): void | Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#z?.destroy();
    this.#z = undefined;
    return this.#inner.close();
  }
}
