// serveStream / StreamBody: an already-open Readable of known size, sent as
// it is read; readableSource (body.ts) turns it into the writer's chunks.
import type { Readable } from 'node:stream';
import { discardSelf, readableSource, shapeSelf, type BodyShape, type SelfShapingBody } from './body.js';
import type { Context } from '../http/request.js';
import { BodyTypeError } from '../lib/errors.js';
import { dispositionOf, preconditions, setEntityHeaders } from './entity-headers.js';

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

const EMPTY = Buffer.alloc(0);

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
    throw new BodyTypeError(`serveStream needs the stream's exact size in bytes, got ${String(options.size)}`);
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
      if (preconditions(ctx, v, o.size) === 'not-modified') {
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
