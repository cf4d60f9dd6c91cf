/** A chunk as a source hands it out: bytes, or UTF-8 text left as a string (see `next(utf8Text)`). */
export type Chunk = Buffer | string;

/** A body, one chunk at a time: what the writer pulls from. */
export interface ChunkSource {
  /** The next chunk (empty chunks included), or null at the end; a pending one as a native Promise (the writer tests `instanceof Promise`). */
  next(): Buffer | null | Promise<Buffer | null>;
  /**
   * The same, for a consumer that writes strings itself (the writer): with
   * `utf8Text`, a string whose charset is UTF-8 may come back as the string,
   * which node encodes as it writes it, with no Buffer of its own. A source
   * may ignore the flag and hand out bytes.
   */
  next(utf8Text: boolean): Chunk | null | Promise<Chunk | null>;
  /** Stop early: an iterator's `return()`, a stream's destroy or cancel. Safe to call twice. */
  close(): void | Promise<void>;
  /**
   * Optional: the socket is done with `chunk`, so its memory may be reused.
   * The writer calls it for chunks it wrote itself, once each, after node
   * reports the write complete; a consumer that passes chunks on (a
   * compressing tool) never does, so a source must not count on it.
   */
  release?(chunk: Buffer): void;
}
