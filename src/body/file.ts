import { randomBytes } from 'node:crypto';
import { constants as fsConstants, read as readCallback } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { createRequire } from 'node:module';
import { discardSelf, readableSource, shapeSelf, type BodyShape, type ChunkSource, type SelfShapingBody } from './body.js';
import type { Context } from '../http/request.js';
import { DrupeError, HTTPError, NotFound } from '../lib/errors.js';
import { evaluateConditions, ifRangeAllows, parseHttpDate, toNotModified, type Validators } from './conditional.js';
import { contentRange, multipartLayout, parseRange, type ByteRange } from './range.js';

export interface ServeFileOptions {
  /** The Content-Type to send; by default from the file's extension (`application/octet-stream` when unknown). */
  contentType?: string;
  /** Send a `Content-Disposition` of this type (with `name`, or the file's own name). */
  disposition?: 'inline' | 'attachment';
  /** The file name the client should see; alone, it implies `disposition: 'inline'`. */
  name?: string;
}

export interface ServeStreamOptions {
  /** The exact number of bytes the stream will produce (sent as Content-Length and enforced). */
  size: number;
  contentType?: string;
  disposition?: 'inline' | 'attachment';
  name?: string;
  /** A validator for conditional requests: sent as Last-Modified. */
  lastModified?: Date | number;
  /** A validator for conditional requests: sent as ETag (`"…"` or `W/"…"`; a bare value is quoted). */
  etag?: string;
}

/** How much of the file one chunk holds. */
const CHUNK = 64 * 1024;
const EMPTY = Buffer.alloc(0);
// Non-blocking and no controlling terminal: opening a FIFO or a device must not hang or have side effects.
const OPEN_FLAGS = fsConstants.O_RDONLY | (fsConstants.O_NONBLOCK ?? 0) | (fsConstants.O_NOCTTY ?? 0);

/** Internal: open a path the way files are served (errors as they come). */
export function openForReading(path: string): Promise<FileHandle> {
  return open(path, OPEN_FLAGS);
}

/**
 * A file handle nobody sent (the handler threw after `serveFile`, an error
 * page replaced the body) is closed when its body is collected, never leaked.
 */
const unsent = new FinalizationRegistry<FileHandle>((fh) => {
  fh.close().catch(() => undefined);
});

// mime-db is a few MB once parsed: loaded on the first file served, not at start-up (idle RSS).
const load = createRequire(import.meta.url);
let mime: typeof import('mime-types') | undefined;

/** The Content-Type for a file name, from the mime-db database (text types with `charset=utf-8`). */
export function typeForName(name: string): string {
  mime ??= load('mime-types') as typeof import('mime-types');
  return mime.contentType(basename(name)) || 'application/octet-stream';
}

/**
 * `Content-Disposition` with an ASCII `filename` and, for any other name,
 * RFC 5987/6266's `filename*=UTF-8''…` that modern clients prefer.
 */
export function contentDisposition(type: 'inline' | 'attachment', name: string): string {
  const plain = /^[\x20-\x7e]*$/.test(name) && !/["\\%]/.test(name);
  if (plain) return `${type}; filename="${name}"`;
  // eslint-disable-next-line no-control-regex
  const fallback = name.replace(/[^\x20-\x7e]|["\\%]/g, '_');
  const wellFormed = typeof (name as { toWellFormed?: () => string }).toWellFormed === 'function'
    ? (name as unknown as { toWellFormed(): string }).toWellFormed()
    : name;
  const encoded = encodeURIComponent(wellFormed).replace(/['()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
  return `${type}; filename="${fallback}"; filename*=UTF-8''${encoded}`;
}

function dispositionOf(options: { disposition?: 'inline' | 'attachment' | undefined; name?: string | undefined }, fallbackName: string | undefined): string | undefined {
  if (options.disposition === undefined && options.name === undefined) return undefined;
  const name = options.name ?? fallbackName;
  const type = options.disposition ?? 'inline';
  return name === undefined || name === '' ? type : contentDisposition(type, name);
}

/** Internal: the `code` of a file-system error, if any. */
export function errCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null ? (err as { code?: string }).code : undefined;
}

/** Set the headers every file-like body sends (the handler's own Content-Type wins unless `contentType` is given). */
function setEntityHeaders(ctx: Context, o: { contentType: string | undefined; typeName: string | undefined; etag: string | undefined; lastModified: number | undefined; disposition: string | undefined }): Validators {
  const h = ctx.response.headers;
  if (o.contentType !== undefined) h.set('Content-Type', o.contentType);
  // The MIME database is consulted only when no Content-Type is given.
  else if (!h.has('content-type')) h.set('Content-Type', o.typeName === undefined ? 'application/octet-stream' : typeForName(o.typeName));
  if (o.lastModified !== undefined && !h.has('last-modified')) h.set('Last-Modified', new Date(o.lastModified).toUTCString());
  if (o.etag !== undefined && !h.has('etag')) h.set('ETag', o.etag);
  if (o.disposition !== undefined) h.set('Content-Disposition', o.disposition);
  return { etag: h.get('etag'), lastModified: parseHttpDate(h.get('last-modified')) ?? o.lastModified };
}

function is2xx(status: number): boolean {
  return status >= 200 && status < 300;
}

/**
 * Preconditions first (RFC 9110 §13.2.2), only for a response that would be
 * a 2xx: 'not-modified' means the response became a 304 (the caller sends
 * no body); a failed precondition throws a 412.
 */
function preconditions(ctx: Context, v: Validators): 'not-modified' | 'proceed' {
  const { request, response } = ctx;
  if (!is2xx(response.status)) return 'proceed';
  const outcome = evaluateConditions(request.method, request.headers, v);
  if (outcome === 'precondition-failed') throw new HTTPError(412, 'Precondition Failed');
  if (outcome === 'not-modified') {
    toNotModified(response);
    return 'not-modified';
  }
  return 'proceed';
}

/**
 * A file to send: opened and stat'ed already (so a missing file was a 404
 * before anything was committed), never read into memory (B7). Answers
 * conditional requests and Range itself. Send it once.
 *
 * @example
 *   @expose() async report() { return serveFile('/srv/report.pdf', { disposition: 'attachment' }); }
 */
export class FileBody implements SelfShapingBody {
  /** The absolute path that was opened. */
  readonly path: string;
  readonly size: number;
  /** Modification time, ms since the epoch. */
  readonly mtime: number;
  /** The validator sent as ETag: strong, from size and mtime (nginx's style). */
  readonly etag: string;
  readonly options: Readonly<ServeFileOptions>;
  #fh: FileHandle | undefined;

  /** Internal: use `serveFile()`. */
  constructor(path: string, fh: FileHandle, size: number, mtime: number, options: ServeFileOptions) {
    this.path = path;
    this.#fh = fh;
    this.size = size;
    this.mtime = mtime;
    this.etag = `"${size.toString(16)}-${Math.floor(mtime).toString(16)}"`;
    this.options = options;
    unsent.register(this, fh, this);
  }

  #take(): FileHandle {
    const fh = this.#fh;
    if (fh === undefined) throw new DrupeError('DRUPE_ERR_BODY_TYPE', 'This file body was already sent: call serveFile() for each response');
    this.#fh = undefined;
    unsent.unregister(this);
    return fh;
  }

  /** Close the file without sending it (when a handler decides not to return it after all). */
  async close(): Promise<void> {
    if (this.#fh !== undefined) await this.#take().close().catch(() => undefined);
  }

  /** Dropped unsent (an error page replaced it): close the file now. */
  [discardSelf](): Promise<void> {
    return this.close();
  }

  async [shapeSelf](ctx: Context): Promise<BodyShape> {
    const fh = this.#take();
    let owned = true;
    try {
      const { request, response } = ctx;
      const size = this.size;
      const v = setEntityHeaders(ctx, {
        contentType: this.options.contentType,
        typeName: this.options.name ?? this.path,
        etag: this.etag,
        lastModified: this.mtime,
        disposition: dispositionOf(this.options, basename(this.path)),
      });
      response.headers.set('Accept-Ranges', 'bytes');
      if (preconditions(ctx, v) === 'not-modified') return { kind: 'bytes', data: EMPTY, json: false };

      let pieces: Piece[] = [{ start: 0, end: size - 1 }];
      let length = size;
      const rangeHeader = request.headers.range;
      if (request.method === 'GET' && response.status === 200 && rangeHeader !== undefined && ifRangeAllows(request.headers, v)) {
        const r = parseRange(rangeHeader, size);
        if (r.kind === 'unsatisfiable') {
          throw new HTTPError(416, 'Range Not Satisfiable', { 'Content-Range': `bytes */${size}` });
        }
        if (r.kind === 'ranges' && r.ranges.length === 1) {
          const only = r.ranges[0]!;
          response.status = 206;
          response.headers.set('Content-Range', contentRange(only, size));
          pieces = [only];
          length = only.end - only.start + 1;
        } else if (r.kind === 'ranges') {
          const boundary = randomBytes(12).toString('hex');
          const layout = multipartLayout(r.ranges, size, response.headers.get('content-type'), boundary);
          response.status = 206;
          response.headers.set('Content-Type', `multipart/byteranges; boundary=${boundary}`);
          pieces = [];
          for (const part of layout.parts) pieces.push(part.head, part.range);
          pieces.push(layout.tail);
          length = layout.length;
        }
      }
      response.headers.set('Content-Length', length);
      owned = false;
      return { kind: 'chunks', source: new FileSource(fh, pieces), length };
    } finally {
      if (owned) await fh.close().catch(() => undefined);
    }
  }
}

/** A run of bytes: literal bytes (multipart headers), or a range of the file. */
type Piece = Buffer | ByteRange;

/**
 * One positioned read. `FileHandle.read` costs about 19 k instructions a
 * call in node 20 (an async wrapper with a rest-argument spread, a result
 * object whose `then` is looked up when it resolves); with the callback read
 * a 1 MiB file costs 0.3 M instructions less to send. It bypasses
 * the handle's count of pending operations, so FileSource.close waits for
 * its own pending read before closing the handle.
 */
function readAt(fd: number, buf: Buffer, length: number, position: number): Promise<number> {
  return new Promise((resolve, reject) => {
    readCallback(fd, buf, 0, length, position, (err, bytesRead) => (err === null ? resolve(bytesRead) : reject(err)));
  });
}

// Read buffers the writer has handed back (ChunkSource.release), for the next reads. A new
// 64 KiB buffer per chunk is memory outside V8's heap that V8 answers with young-generation
// collections (about every 30 MiB sent, measured); with them the old generation kept filling (with promoted
// objects of requests in flight, most likely) and serving files kept triggering full
// collections. Bounded: at most 1 MiB kept.
const spareBuffers: Buffer[] = [];
const SPARE_MAX = 16;
const poolMemory = new WeakSet<ArrayBufferLike>();

function readBuffer(): Buffer {
  const spare = spareBuffers.pop();
  if (spare !== undefined) return spare;
  const buf = Buffer.allocUnsafeSlow(CHUNK);
  poolMemory.add(buf.buffer);
  return buf;
}

/** Reads ranges of an open file at their positions, one chunk per pull; closes the file at the end or on close(). */
class FileSource implements ChunkSource {
  #fh: FileHandle;
  #pieces: Piece[];
  #i = 0;
  #pos: number;
  #closed = false;
  /** The read in flight: the file must not be closed under it (its descriptor could be reused meanwhile). */
  #reading: Promise<number> | undefined;

  constructor(fh: FileHandle, pieces: Piece[]) {
    this.#fh = fh;
    this.#pieces = pieces;
    this.#pos = pieces.length > 0 && !Buffer.isBuffer(pieces[0]) ? (pieces[0] as ByteRange).start : 0;
  }

  async next(): Promise<Buffer | null> {
    for (;;) {
      if (this.#closed) return null;
      const piece = this.#pieces[this.#i];
      if (piece === undefined) {
        await this.close();
        return null;
      }
      if (Buffer.isBuffer(piece)) {
        this.#advance();
        return piece;
      }
      const left = piece.end - this.#pos + 1;
      if (left <= 0) {
        this.#advance();
        continue;
      }
      const want = Math.min(CHUNK, left);
      const buf = readBuffer();
      let bytesRead: number;
      try {
        this.#reading = readAt(this.#fh.fd, buf, want, this.#pos);
        bytesRead = await this.#reading;
        this.#reading = undefined;
        if (bytesRead === 0 && !this.#closed) throw new Error(`The file ended early (it shrank while being sent): ${left} bytes missing`);
      } catch (err) {
        // A failed read ends the body: release the file whoever handles the error.
        await this.close();
        throw err;
      }
      if (this.#closed) return null;
      this.#pos += bytesRead;
      return bytesRead === CHUNK ? buf : buf.subarray(0, bytesRead);
    }
  }

  release(chunk: Buffer): void {
    // Only this source's read buffers (not the literal multipart pieces), whole again.
    if (spareBuffers.length < SPARE_MAX && poolMemory.has(chunk.buffer)) {
      spareBuffers.push(chunk.length === CHUNK ? chunk : Buffer.from(chunk.buffer, 0, CHUNK));
    }
  }

  #advance(): void {
    this.#i++;
    const next = this.#pieces[this.#i];
    if (next !== undefined && !Buffer.isBuffer(next)) this.#pos = next.start;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#reading !== undefined) await this.#reading.catch(() => undefined);
    await this.#fh.close().catch(() => undefined);
  }
}

/**
 * Send a file: opens and stats it now, so a missing file or a directory is
 * a 404 and a file the process may not read is a 403 while the handler can
 * still react. Sets Content-Type (from the extension), Last-Modified, ETag,
 * Accept-Ranges and, when asked, Content-Disposition; answers conditional
 * requests (304/412) and Range (206, multipart/byteranges, 416).
 *
 * @example
 *   @expose() async download({ args }: Context) {
 *     return serveFile(`/srv/files/${safeName(args[0])}`, { disposition: 'attachment' });
 *   }
 */
export async function serveFile(path: string, options: ServeFileOptions = {}): Promise<FileBody> {
  if (typeof path !== 'string' || path === '' || path.includes('\0')) throw new NotFound();
  const abs = resolve(path);
  let fh: FileHandle;
  try {
    fh = await openForReading(abs);
  } catch (err) {
    throw fileError(err);
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new NotFound();
    return new FileBody(abs, fh, st.size, st.mtimeMs, { ...options });
  } catch (err) {
    await fh.close().catch(() => undefined);
    throw fileError(err);
  }
}

/** A file-system error as an HTTP answer: missing → 404, forbidden → 403, anything else as it is (a 500). */
function fileError(err: unknown): unknown {
  switch (errCode(err)) {
    case 'ENOENT': case 'ENOTDIR': case 'EISDIR': case 'ENAMETOOLONG': case 'ELOOP':
      return new NotFound();
    case 'EACCES': case 'EPERM':
      return new HTTPError(403, 'Forbidden');
    default:
      return err;
  }
}

/**
 * A body from an already-open stream of known size (a blob from storage, a
 * decrypted file): sent with Content-Length (enforced) and never read into
 * memory. Conditional requests are answered when `etag` or `lastModified`
 * is given; Range is not offered (a stream cannot seek). The stream is
 * destroyed on every path that does not send it (HEAD, 304, errors).
 *
 * @example
 *   return serveStream(bucket.download(key), { size: meta.size, contentType: meta.type, etag: meta.hash });
 */
export function serveStream(stream: Readable, options: ServeStreamOptions): StreamBody {
  if (!Number.isSafeInteger(options.size) || options.size < 0) {
    stream.destroy();
    throw new DrupeError('DRUPE_ERR_BODY_TYPE', `serveStream needs the stream's exact size in bytes, got ${String(options.size)}`);
  }
  return new StreamBody(stream, options);
}

export class StreamBody implements SelfShapingBody {
  readonly stream: Readable;
  readonly options: Readonly<ServeStreamOptions>;

  constructor(stream: Readable, options: ServeStreamOptions) {
    this.stream = stream;
    this.options = options;
  }

  /** Dropped unsent: destroy the stream. */
  [discardSelf](): void {
    this.stream.destroy();
  }

  [shapeSelf](ctx: Context): BodyShape {
    const o = this.options;
    try {
      const etag = o.etag === undefined ? undefined : /^(W\/)?"/.test(o.etag) ? o.etag : `"${o.etag}"`;
      const lastModified = o.lastModified === undefined ? undefined : typeof o.lastModified === 'number' ? o.lastModified : o.lastModified.getTime();
      const v = setEntityHeaders(ctx, {
        contentType: o.contentType,
        typeName: o.name,
        etag,
        lastModified,
        disposition: dispositionOf(o, undefined),
      });
      if (preconditions(ctx, v) === 'not-modified') {
        this.stream.destroy();
        return { kind: 'bytes', data: EMPTY, json: false };
      }
      ctx.response.headers.set('Content-Length', o.size);
      return { kind: 'chunks', source: readableSource(this.stream), length: o.size };
    } catch (err) {
      this.stream.destroy();
      throw err;
    }
  }
}
