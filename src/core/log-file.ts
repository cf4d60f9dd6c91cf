import { appendFileSync, createWriteStream, type WriteStream } from 'node:fs';

/**
 * A log file written through a WriteStream (never blocking the event loop),
 * appended to, and reopened on demand so logrotate can move it away.
 */
export class LogFile {
  readonly path: string;
  #stream: WriteStream;
  /** The streams reopen() ended, until they have written what they held. */
  #old: Promise<void>[] = [];

  constructor(path: string) {
    this.path = path;
    this.#stream = this.#open();
  }

  #open(): WriteStream {
    const stream = createWriteStream(this.path, { flags: 'a' });
    stream.on('error', (err) => process.stderr.write(`drupe: cannot write log file ${this.path}: ${err.message}\n`));
    return stream;
  }

  readonly write = (text: string): void => {
    if (!this.#stream.writableEnded) {
      this.#stream.write(text);
      return;
    }
    // A request that ends after close() (a producer that ignored its signal) still gets its line.
    try {
      appendFileSync(this.path, text);
    } catch (err) {
      process.stderr.write(`drupe: cannot write log file ${this.path}: ${(err as Error).message}\n`);
    }
  };

  /** Start a new file at the same path (after logrotate renamed the old one); what was queued goes to the old one. */
  reopen(): void {
    if (this.#stream.writableEnded) return;
    this.#old.push(finished(this.#stream));
    this.#stream = this.#open();
  }

  /** Resolves once everything written, before a reopen() too, has reached the files. */
  async end(): Promise<void> {
    await Promise.all([finished(this.#stream), ...this.#old]);
    this.#old = [];
  }
}

/** End a stream; resolves once it has written what it held (or failed, which its 'error' listener reports). */
function finished(stream: WriteStream): Promise<void> {
  return new Promise<void>((resolve) => {
    if (stream.writableFinished || stream.destroyed) resolve();
    else {
      stream.once('close', resolve);
      stream.end();
    }
  });
}
