/** A body, one chunk at a time: what the writer pulls from. */
export interface ChunkSource {
  /** The next chunk (empty chunks included), or null at the end. */
  next(): Buffer | null | Promise<Buffer | null>;
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
