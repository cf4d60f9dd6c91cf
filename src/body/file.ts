// serveFile / FileBody: a file opened before anything is committed, sent by
// position with Range and conditional requests answered.
import { randomBytes } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { discardSelf, shapeSelf, type BodyShape, type SelfShapingBody } from './body.js';
import type { Context } from '../http/request.js';
import { BodyTypeError, HTTPError, NotFound } from '../lib/errors.js';
import { ifRangeAllows, noteFullRepresentation } from './conditional.js';
import { dispositionOf, preconditions, setEntityHeaders } from './entity-headers.js';
import { FileSource, type Piece } from './file-source.js';
import { contentRange, multipartLayout, parseRange } from './range.js';

export interface ServeFileOptions {
  /** The Content-Type to send; by default from the file's extension (`application/octet-stream` when unknown). */
  contentType?: string;
  /** Send a `Content-Disposition` of this type (with `name`, or the file's own name). */
  disposition?: 'inline' | 'attachment';
  /** The file name the client should see; alone, it implies `disposition: 'inline'`. */
  name?: string;
}

const EMPTY = Buffer.alloc(0);
// Non-blocking and no controlling terminal: opening a FIFO or a device must not hang or have side effects.
const OPEN_FLAGS = fsConstants.O_RDONLY | (fsConstants.O_NONBLOCK ?? 0) | (fsConstants.O_NOCTTY ?? 0);

/**
 * Internal: open a path the way files are served. Errors come as they are,
 * except a lack of descriptors (the process's or the system's): that is a
 * passing overload, not a fault of the file, so a 503 the client may retry.
 */
export function openForReading(path: string): Promise<FileHandle> {
  return open(path, OPEN_FLAGS).catch(overloaded);
}

/** Seconds a client is told to wait when no descriptor was free. */
const RETRY_AFTER_S = '1';

function overloaded(err: unknown): never {
  const code = errCode(err);
  if (code === 'EMFILE' || code === 'ENFILE') throw new HTTPError(503, 'No file descriptor is free to open the file', { 'Retry-After': RETRY_AFTER_S });
  throw err;
}

/**
 * A file handle nobody sent (the handler threw after `serveFile`, an error
 * page replaced the body) is closed when its body is collected, never leaked.
 */
const unsent = new FinalizationRegistry<FileHandle>((fh) => {
  fh.close().catch(() => undefined);
});

/** Internal: the `code` of a file-system error, if any. */
export function errCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null ? (err as { code?: string }).code : undefined;
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
    if (fh === undefined) throw new BodyTypeError('This file body was already sent: call serveFile() for each response');
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
      if (preconditions(ctx, v, size) === 'not-modified') return { kind: 'bytes', data: EMPTY, json: false };

      let pieces: Piece[] = [{ start: 0, end: size - 1 }];
      let length = size;
      const rangeHeader = request.headers.range;
      if (request.method === 'GET' && response.status === 200 && rangeHeader !== undefined && ifRangeAllows(request.headers, v)) {
        const r = parseRange(rangeHeader, size);
        if (r.kind === 'unsatisfiable') {
          throw new HTTPError(416, 'Range Not Satisfiable', { 'Content-Range': `bytes */${size}` });
        }
        if (r.kind === 'ranges') noteFullRepresentation(response, { type: response.headers.get('content-type'), length: size, encoding: response.headers.get('content-encoding') });
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

/** Internal: the body of a file a tool opened and checked itself (tools.staticdir), as serveFile would make it. */
export function openedFileBody(path: string, fh: FileHandle, st: { size: number; mtimeMs: number }, options: ServeFileOptions): FileBody {
  return new FileBody(path, fh, st.size, st.mtimeMs, options);
}

/** A file-system error as an HTTP answer: missing → 404, forbidden → 403, an HTTPError (openForReading's 503) or anything else as it is (a 500). */
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
