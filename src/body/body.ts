import { Buffer } from 'node:buffer';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { BodyTypeError, DrupeError } from '../lib/errors.js';
import type { Chunk, ChunkSource } from '../http/chunk-source.js';
import { isThenable } from '../lib/thenable.js';
import type { Context } from '../http/request.js';

export type { Chunk, ChunkSource } from '../http/chunk-source.js';

/**
 * A JSON response body; sets `Content-Type: application/json` unless the
 * handler chose another.
 *
 * @example
 *   @expose() user() { return json({ id: 7, name: 'Ann' }); }
 */
export class JsonBody {
  constructor(readonly value: unknown) {}
}

export function json(value: unknown): JsonBody {
  return new JsonBody(value);
}

/** How strings become bytes: by the response's charset as it is when each string is encoded (B3). */
export interface Encode {
  (s: string): Buffer;
  /**
   * Optional: the string itself when that charset is UTF-8, for a consumer
   * that writes strings (node encodes them as it writes, with no Buffer of
   * their own); otherwise its bytes.
   */
  text?(s: string): Buffer | string;
}

const UTF8: Encode = (s) => Buffer.from(s, 'utf8');

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return `a ${typeof v} (${String(v)})`;
  if (typeof v === 'function') return 'a function';
  if (typeof v === 'symbol') return 'a symbol';
  if (isThenable(v)) return 'a Promise (await it inside an async generator instead)';
  if (typeof v === 'object') {
    const name = (v as object).constructor?.name;
    return name && name !== 'Object' ? `a ${name}` : 'a plain object';
  }
  return typeof v;
}

/** A chunk as bytes; a string is encoded by the response charset. */
export function toChunk(value: unknown, encode: Encode): Buffer {
  if (typeof value === 'string') return encode(value);
  return bytesOf(value);
}

function bytesOf(value: unknown): Buffer {
  if (value instanceof Uint8Array) return Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  throw new BodyTypeError(`A body chunk must be a string or bytes, got ${describe(value)}`);
}

/** An iterator's values as chunks: a generator, an iterable, or a Readable (readableSource). */
class IteratorSource implements ChunkSource {
  #it: Iterator<unknown> | AsyncIterator<unknown>;
  #encode: Encode;
  #done = false;
  /** Whether `it` is an async iterator: known once, so no chunk asks whether its result is a promise. */
  #async: boolean;
  #destroy: (() => void) | undefined;

  /** `destroy`: stop the producer at once on close (a Readable), rather than after its pending next() settles (S6). */
  constructor(it: Iterator<unknown> | AsyncIterator<unknown>, async: boolean, encode: Encode, destroy?: () => void) {
    this.#it = it;
    this.#async = async;
    this.#encode = encode;
    this.#destroy = destroy;
  }

  next(): Buffer | null | Promise<Buffer | null>;
  next(utf8Text: boolean): Chunk | null | Promise<Chunk | null>;
  next(utf8Text = false): Chunk | null | Promise<Chunk | null> {
    let r: IteratorResult<unknown> | Promise<IteratorResult<unknown>>;
    try {
      r = this.#it.next();
    } catch (err) {
      this.#done = true;
      throw err;
    }
    if (!this.#async) return this.#take(r as IteratorResult<unknown>, utf8Text);
    return Promise.resolve(r).then((x) => this.#take(x, utf8Text), (err: unknown) => { this.#done = true; throw err; });
  }

  #take(r: IteratorResult<unknown>, utf8Text: boolean): Chunk | null {
    if (r.done) {
      this.#done = true;
      return null;
    }
    try {
      const v = r.value;
      if (typeof v !== 'string') return bytesOf(v);
      // For a consumer that writes strings, UTF-8 text stays a string.
      const encode = this.#encode;
      return utf8Text && encode.text !== undefined ? encode.text(v) : encode(v);
    } catch (err) {
      // A bad chunk ends the body: the producer is still suspended, so let its finally run.
      const closed = this.close();
      if (isThenable(closed)) closed.catch(() => undefined);
      throw err;
    }
  }

  close(): void | Promise<void> {
    if (this.#done) return;
    this.#done = true;
    this.#destroy?.();
    const ret = this.#it.return?.();
    if (isThenable(ret)) return Promise.resolve(ret).then(() => undefined);
  }
}

/**
 * A Readable as a chunk source. close() destroys it at once, even if it was
 * never read or a read is pending (S6). `encode`: for string chunks (UTF-8
 * unless told otherwise).
 */
export function readableSource(stream: Readable, encode: Encode = UTF8): ChunkSource {
  return new IteratorSource(stream[Symbol.asyncIterator](), true, encode, () => stream.destroy());
}

class WebStreamSource implements ChunkSource {
  #reader: ReadableStreamDefaultReader<unknown>;
  #encode: Encode;
  #done = false;

  constructor(stream: WebReadableStream<unknown>, encode: Encode) {
    this.#reader = (stream as unknown as ReadableStream<unknown>).getReader();
    this.#encode = encode;
  }

  async next(): Promise<Buffer | null> {
    let r: Awaited<ReturnType<ReadableStreamDefaultReader<unknown>['read']>>;
    try {
      r = await this.#reader.read();
    } catch (err) {
      this.#done = true;
      throw err;
    }
    if (r.done) {
      this.#done = true;
      return null;
    }
    try {
      return toChunk(r.value, this.#encode);
    } catch (err) {
      await this.close(); // a bad chunk ends the body: cancel the stream
      throw err;
    }
  }

  async close(): Promise<void> {
    if (this.#done) return;
    this.#done = true;
    await this.#reader.cancel().catch(() => undefined);
  }
}

function isWebStream(v: object): v is WebReadableStream<unknown> {
  return typeof (v as { getReader?: unknown }).getReader === 'function' && typeof (v as { tee?: unknown }).tee === 'function';
}

/**
 * What a handler's return value is, for the writer: bytes at once, or a
 * source of chunks. `length`, when known (a file), lets even a buffered
 * response go out without being read into memory (B7).
 */
export type BodyShape =
  | { readonly kind: 'bytes'; readonly data: Buffer; readonly json: boolean }
  | { readonly kind: 'chunks'; readonly source: ChunkSource; readonly length?: number };

/**
 * The key of a body's own shaping step: bodies that must see the request
 * and response before commit (a file answers Range and conditional
 * requests, an event stream sets its headers) implement it.
 */
export const shapeSelf = Symbol('drupe.shapeSelf');

export interface SelfShapingBody {
  [shapeSelf](ctx: Context, encode: Encode): BodyShape | Promise<BodyShape>;
}

/**
 * The key of a body's release step. A body that holds a resource (an open
 * file) and may be dropped without being shaped — an error page or an
 * InternalRedirect replaced it — releases the resource here. A wrapping
 * body (tools.etags) forwards it to the body it wraps.
 */
export const discardSelf = Symbol('drupe.discardSelf');

/** Release what a body that will not be sent holds; bodies without `[discardSelf]` are left alone. */
export function discardBody(body: unknown): void {
  if (typeof body !== 'object' || body === null) return;
  const release = (body as { [discardSelf]?: unknown })[discardSelf];
  if (typeof release !== 'function') return;
  try {
    const r: unknown = release.call(body);
    if (isThenable(r)) Promise.resolve(r).catch(() => undefined);
  } catch {
    // Releasing is best effort: the body is being dropped anyway.
  }
}

export function isSelfShaping(body: unknown): body is SelfShapingBody {
  return typeof body === 'object' && body !== null && typeof (body as Partial<SelfShapingBody>)[shapeSelf] === 'function';
}

const EMPTY = Buffer.alloc(0);

/**
 * Classify a body (the body types of docs/contract.md). Anything that is not a body type is a
 * coded TypeError saying what to return instead.
 */
export function shapeBody(body: unknown, encode: Encode): BodyShape {
  if (body === undefined || body === null) return { kind: 'bytes', data: EMPTY, json: false };
  if (typeof body === 'string') return { kind: 'bytes', data: encode(body), json: false };
  if (body instanceof Uint8Array) return { kind: 'bytes', data: toChunk(body, encode), json: false };
  if (body instanceof JsonBody) {
    const text = JSON.stringify(body.value);
    return { kind: 'bytes', data: Buffer.from(text === undefined ? 'null' : text, 'utf8'), json: true };
  }
  if (typeof body === 'object') {
    if (body instanceof Readable) return { kind: 'chunks', source: readableSource(body, encode) };
    if (isWebStream(body)) return { kind: 'chunks', source: new WebStreamSource(body, encode) };
    const asyncIt = (body as Partial<AsyncIterable<unknown>>)[Symbol.asyncIterator];
    if (typeof asyncIt === 'function') return { kind: 'chunks', source: new IteratorSource(asyncIt.call(body), true, encode) };
    const it = (body as Partial<Iterable<unknown>>)[Symbol.iterator];
    if (typeof it === 'function') return { kind: 'chunks', source: new IteratorSource(it.call(body), false, encode) };
  }
  const hint = typeof body === 'object' && !isThenable(body)
    ? 'return json(value) (or switch on tools.json_out) to send JSON'
    : 'return a string, bytes, an iterable, a stream, or json(value)';
  throw new BodyTypeError(`A handler returned ${describe(body)}, which is not a response body: ${hint}`);
}

export type BytesShape = Extract<BodyShape, { readonly kind: 'bytes' }>;

/**
 * A buffered response's body of unknown length, read whole (B1) within
 * `limit`, the route's `response.max_buffered_size` (B5): the pipeline, and
 * tools that must see the bytes before commit (gzip, etags), all read it
 * here. Stays synchronous for synchronous sources.
 */
export function bufferedShape(source: ChunkSource, limit: number): BytesShape | Promise<BytesShape> {
  const data = materialize(source, limit);
  return isThenable(data) ? data.then(bytesShape) : bytesShape(data);
}

function bytesShape(data: Buffer): BytesShape {
  return { kind: 'bytes', data, json: false };
}

/** Pull every chunk into one Buffer, refusing past `limit` bytes. */
function materialize(source: ChunkSource, limit: number): Buffer | Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for (;;) {
    const c = source.next();
    if (isThenable(c)) return materializeAsync(source, limit, chunks, size, c);
    if (c === null) return Buffer.concat(chunks, size);
    size += c.length;
    if (size > limit) return overLimit(source, limit);
    chunks.push(c);
  }
}

async function materializeAsync(source: ChunkSource, limit: number, chunks: Buffer[], size: number, pending: Promise<Buffer | null>): Promise<Buffer> {
  for (let c = await pending; c !== null; c = await source.next()) {
    size += c.length;
    if (size > limit) return overLimit(source, limit);
    chunks.push(c);
  }
  return Buffer.concat(chunks, size);
}

function overLimit(source: ChunkSource, limit: number): never {
  void Promise.resolve(source.close()).catch(() => undefined);
  throw new DrupeError(
    'DRUPE_ERR_BODY_TOO_LARGE',
    `The buffered response body passed response.max_buffered_size (${limit} bytes): stream it instead ('response.stream': true)`,
  );
}

/**
 * Shape any body, self-shaping or not. Tools that wrap a body (gzip) shape
 * the inner one with this, then return their own shape.
 */
export function shapeOf(body: unknown, ctx: Context, encode: Encode): BodyShape | Promise<BodyShape> {
  return isSelfShaping(body) ? body[shapeSelf](ctx, encode) : shapeBody(body, encode);
}

/**
 * A tool's body that wraps the handler's (gzip, etags): the inner body is
 * shaped first, and released if the wrapper is replaced before it is sent.
 */
export abstract class WrappingBody implements SelfShapingBody {
  readonly #inner: unknown;

  constructor(inner: unknown) {
    this.#inner = inner;
  }

  /** Replaced before it was sent (an error page): release what the wrapped body holds (an open file). */
  [discardSelf](): void {
    discardBody(this.#inner);
  }

  /** The wrapped body's shape. */
  protected async innerShape(ctx: Context, encode: Encode): Promise<BodyShape> {
    const shaped = shapeOf(this.#inner, ctx, encode);
    return isThenable(shaped) ? ((await shaped) as BodyShape) : shaped;
  }

  abstract [shapeSelf](ctx: Context, encode: Encode): BodyShape | Promise<BodyShape>;
}
