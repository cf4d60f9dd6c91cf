import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { Readable } from 'node:stream';

/** What the multipart parser knows about one received file. */
export interface UploadedFileInit {
  name: string;
  filename: string;
  type: string;
  size: number;
  /** The content, when it stayed in memory. */
  data?: Buffer | undefined;
  /** The temp file holding the content, when it was spooled to disk. */
  path?: string | undefined;
}

/**
 * A file sent in a `multipart/form-data` body; it appears in `params` under
 * its field name. Small files stay in memory, large ones wait in a temp file
 * that is deleted when the request ends — read it (or copy it) before then.
 *
 * @example
 *   const avatar = params.avatar;
 *   if (avatar instanceof UploadedFile) await writeFile(dest, await avatar.bytes());
 */
export class UploadedFile {
  /** The form field name. */
  readonly name: string;
  /** The file name the client sent; untrusted, never use it as a path as-is. */
  readonly filename: string;
  /** The part's Content-Type (`text/plain` when the client sent none). */
  readonly type: string;
  /** Size in bytes. */
  readonly size: number;
  /** The temp file on disk when the upload was spooled, else undefined. */
  readonly path: string | undefined;
  readonly #data: Buffer | undefined;

  constructor(init: UploadedFileInit) {
    if ((init.data === undefined) === (init.path === undefined)) {
      throw new TypeError('UploadedFile needs exactly one of data or path');
    }
    this.name = init.name;
    this.filename = init.filename;
    this.type = init.type;
    this.size = init.size;
    this.path = init.path;
    this.#data = init.data;
  }

  /** The whole content (read from disk for a spooled file). */
  async bytes(): Promise<Buffer> {
    return this.#data ?? readFile(this.path as string);
  }

  /** The content decoded as UTF-8. */
  async text(): Promise<string> {
    return (await this.bytes()).toString('utf8');
  }

  /** A fresh stream of the content each call; spooled files are streamed from disk. */
  stream(): Readable {
    if (this.#data !== undefined) return Readable.from([this.#data], { objectMode: false });
    return createReadStream(this.path as string);
  }
}
