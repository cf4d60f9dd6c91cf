// FileSource: how a FileBody's bytes are read (positioned reads into pooled buffers).
import { read as readCallback } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import type { ChunkSource } from './body.js';
import type { ByteRange } from './range.js';

/** How much of the file one chunk holds. */
const CHUNK = 64 * 1024;

/** A run of bytes: literal bytes (multipart headers), or a range of the file. */
export type Piece = Buffer | ByteRange;

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
export class FileSource implements ChunkSource {
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
