import { shapeSelf, WrappingBody, type BodyShape, type ChunkSource, type Encode } from '../body/body.js';
import type { Context } from '../http/request.js';
import { isThenable } from '../lib/thenable.js';

/**
 * The body of a response as it went out, collected for tools.caching
 * (CherryPy's `tee_output`): whole when it was buffered, chunk by chunk
 * as the writer pulls a streamed one — never delaying or holding a chunk
 * back from the client.
 */
export class Collected {
  /** The body, once it ended cleanly and fitted `maxobj_size`. */
  body: Buffer | undefined = undefined;
  #chunks: Buffer[] | null = [];
  #size = 0;

  constructor(readonly limit: number, readonly onStream: () => void) {}

  whole(data: Buffer): void {
    if (data.length <= this.limit) this.body = data;
    this.#chunks = null;
  }

  /** A chunk on its way to the client; past `limit` the rest is not kept. */
  add(chunk: Buffer): void {
    if (this.#chunks === null) return;
    this.#size += chunk.length;
    if (this.#size > this.limit) this.#chunks = null;
    else this.#chunks.push(chunk);
  }

  /** The stream ended cleanly: what was kept is the body. */
  ended(): void {
    if (this.#chunks !== null) this.body = Buffer.concat(this.#chunks, this.#size);
    this.#chunks = null;
  }

  /** The stream failed or was cut: nothing is the body. */
  failed(): void {
    this.#chunks = null;
    this.body = undefined;
  }
}

/** A streamed body passed through as it is, each chunk also kept by a `Collected`. */
class TeeSource implements ChunkSource {
  readonly #inner: ChunkSource;
  readonly #into: Collected;
  #done = false;

  constructor(inner: ChunkSource, into: Collected) {
    this.#inner = inner;
    this.#into = into;
  }

  // Chunks are asked for as bytes (no utf8Text), and `release` is not passed on:
  // a kept chunk must never be handed back to its source for reuse.
  next(): Buffer | null | Promise<Buffer | null> {
    let c: Buffer | null | Promise<Buffer | null>;
    try {
      c = this.#inner.next();
    } catch (err) {
      this.#fail();
      throw err;
    }
    if (!isThenable(c)) return this.#take(c);
    return c.then((x) => this.#take(x), (err: unknown) => {
      this.#fail();
      throw err;
    });
  }

  #take(c: Buffer | null): Buffer | null {
    if (this.#done) return c;
    if (c === null) {
      this.#done = true;
      this.#into.ended();
    } else this.#into.add(c);
    return c;
  }

  #fail(): void {
    if (this.#done) return;
    this.#done = true;
    this.#into.failed();
  }

  close(): void | Promise<void> {
    this.#fail(); // closed before its end: the client left, or the writer gave up
    return this.#inner.close();
  }
}

/** The outermost body of a response tools.caching may store: shapes the body the other tools made, and collects it. */
export class TeeBody extends WrappingBody {
  readonly #into: Collected;

  constructor(inner: unknown, into: Collected) {
    super(inner);
    this.#into = into;
  }

  async [shapeSelf](ctx: Context, encode: Encode): Promise<BodyShape> {
    const shape = await this.innerShape(ctx, encode);
    if (shape.kind === 'bytes') {
      this.#into.whole(shape.data);
      return shape;
    }
    // Sent as it is produced or read (a stream, a file): the waiting requests need not wait for a slow reader.
    // A body of unknown length not streamed is read whole before anything is sent: they wait for it.
    if (ctx.response.stream || shape.length !== undefined) this.#into.onStream();
    const source = new TeeSource(shape.source, this.#into);
    return shape.length === undefined ? { kind: 'chunks', source } : { kind: 'chunks', source, length: shape.length };
  }
}
