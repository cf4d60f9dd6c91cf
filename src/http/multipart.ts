// multipart/form-data through busboy: a well-kept parser for a format with
// many sharp edges (boundaries split across chunks, RFC 5987 file names),
// a runtime dependency for this one job (docs/architecture.md, "Runtime dependencies", says why).
import { randomBytes } from 'node:crypto';
import { createWriteStream, type WriteStream } from 'node:fs';
import { unlink } from 'node:fs/promises';
import { once } from 'node:events';
import { finished } from 'node:stream/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { createRequire } from 'node:module';
import type busboyType from 'busboy';
import { HTTPError } from '../lib/errors.js';

// Loaded on the first multipart body, not at start-up (idle RSS).
const load = createRequire(import.meta.url);
let busboy: typeof busboyType | undefined;
import { UploadedFile } from './upload.js';
import { addParam, type Params } from './form.js';

export interface MultipartLimits {
  /** Fields + files; one more is a 413. */
  maxParts: number;
  /** Bytes per file. */
  maxFileSize: number;
  /** Bytes per non-file field value. */
  maxFieldSize: number;
  /** Files over this many bytes go to a temp file; smaller ones stay in memory. */
  spoolThreshold: number;
}

const tooLarge = (): HTTPError => new HTTPError(413, 'Uploaded file too large');
const tooMany = (n: number): HTTPError => new HTTPError(413, `Too many multipart parts (limit ${n})`);
const multipartType = /^multipart\/form-data[ \t]*(;|$)/i;

/**
 * Parse the multipart body read from `source` into `into`. Every temp file
 * created is pushed onto `tempFiles` at once (the caller removes them when the
 * request ends); on rejection the ones this call made are already deleted.
 */
export function parseMultipartInto(
  into: Params,
  source: Readable,
  contentType: string,
  limits: MultipartLimits,
  tempFiles: string[],
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (!multipartType.test(contentType)) {
      reject(new HTTPError(415, 'Expected a multipart/form-data body'));
      return;
    }
    let bb: busboyType.Busboy;
    try {
      busboy ??= load('busboy') as typeof busboyType;
      bb = busboy({
        headers: { 'content-type': contentType },
        defParamCharset: 'utf8', // raw UTF-8 file names (what browsers send) decode as such, not as latin1
        limits: {
          // busboy reports a limit when a count or size *reaches* it, so an
          // upload of exactly the limit would be refused: give it one more.
          parts: limits.maxParts + 1,
          fields: limits.maxParts,
          fileSize: limits.maxFileSize + 1,
          fieldSize: limits.maxFieldSize + 1,
        },
      });
    } catch (err) {
      reject(new HTTPError(400, `Malformed multipart/form-data: ${(err as Error).message}`));
      return;
    }

    let settled = false;
    let sourceEnded = false;
    let parts = 0;
    const pending: Promise<void>[] = [];
    const created: string[] = [];
    // Values in body order; a file's slot is filled when it has been read. They go
    // into `into` only on success, so repeated keys keep their order even when a
    // spooled file finishes after the fields behind it, and a failure adds nothing.
    const entries: { key: string; value: string | UploadedFile | undefined }[] = [];
    const isSettled = (): boolean => settled;

    const finish = (): void => {
      void Promise.all(pending).then(() => {
        if (settled) return;
        settled = true;
        for (const { key, value } of entries) if (value !== undefined) addParam(into, key, value);
        resolve();
      });
    };

    const fail = (err: unknown): void => {
      if (settled) return;
      settled = true;
      // Stop reading now: a source fed by promises could otherwise pump on
      // before any tick runs. Pausing is all we do to it; it belongs to the caller.
      source.unpipe(bb);
      source.pause();
      // busboy emits limit events from inside its own write loop, which goes on
      // touching its state after the emit: destroy it on the next tick.
      process.nextTick(() => {
        bb.destroy(); // also errors the file stream in progress, ending its reader
        // Let each file reader close and unlink its own file, then remove the
        // finished ones too, so nothing this call made outlives the rejection.
        void Promise.allSettled(pending)
          .then(() => removeTempFiles(created))
          .catch(() => undefined)
          .then(() => reject(err));
      });
    };

    const countPart = (): boolean => {
      if (++parts <= limits.maxParts) return true;
      fail(tooMany(limits.maxParts));
      return false;
    };

    bb.on('field', (name, value, info) => {
      if (settled || !countPart()) return;
      if (info.valueTruncated) {
        fail(new HTTPError(413, `Form field too large (limit ${limits.maxFieldSize} bytes)`));
        return;
      }
      if (typeof name === 'string') entries.push({ key: name, value });
    });

    bb.on('file', (name, stream, info) => {
      // busboy.destroy() errors the current file stream: never let that go uncaught.
      // (A reader below sees the error through its iterator anyway.)
      stream.on('error', () => undefined);
      if (settled || !countPart() || typeof name !== 'string') {
        stream.resume(); // busboy waits for every file stream to be drained
        return;
      }
      stream.on('limit', () => fail(tooLarge()));
      const meta = { name, filename: info.filename ?? '', type: info.mimeType };
      const slot: (typeof entries)[number] = { key: name, value: undefined };
      entries.push(slot);
      const job = receiveFile(stream, limits, isSettled, (path) => {
        tempFiles.push(path);
        created.push(path);
      }).then(
        (got) => {
          slot.value = new UploadedFile({ ...meta, ...got });
        },
        (err: unknown) => fail(err),
      );
      pending.push(job);
    });

    bb.on('partsLimit', () => fail(tooMany(limits.maxParts)));
    bb.on('fieldsLimit', () => fail(tooMany(limits.maxParts)));
    bb.on('filesLimit', () => fail(tooMany(limits.maxParts)));
    // Stays attached after settling: destroy() itself may emit an error.
    bb.on('error', (err: unknown) => {
      fail(new HTTPError(400, `Malformed multipart/form-data: ${err instanceof Error ? err.message : String(err)}`));
    });
    bb.on('finish', finish);

    // The source's own errors (a 413 from the body-size guard, a client abort) go out unchanged.
    source.on('error', fail);
    source.on('end', () => {
      sourceEnded = true;
    });
    source.on('close', () => {
      if (!sourceEnded) fail(new HTTPError(400, 'Request body ended early'));
    });
    source.pipe(bb);
  });
}

type Received = { data: Buffer; size: number } | { path: string; size: number };

/**
 * Read one file part: in memory up to spoolThreshold, then into a fresh temp
 * file, honouring the file's backpressure. On failure the temp file is closed
 * and unlinked before the returned promise rejects.
 */
async function receiveFile(
  stream: Readable & { truncated?: boolean },
  limits: MultipartLimits,
  aborted: () => boolean,
  onTempFile: (path: string) => void,
): Promise<Received> {
  const chunks: Buffer[] = [];
  let size = 0;
  let path: string | undefined;
  let out: WriteStream | undefined;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      if (aborted()) throw new Error('multipart parse aborted');
      size += chunk.length;
      if (size > limits.maxFileSize) throw tooLarge();
      if (out !== undefined) {
        await write(out, chunk);
      } else if (size > limits.spoolThreshold) {
        path = join(tmpdir(), `drupe-upload-${randomBytes(16).toString('hex')}`);
        onTempFile(path);
        // 'wx': never follow or reuse an existing path; 0o600: other users can't read uploads.
        out = createWriteStream(path, { flags: 'wx', mode: 0o600 });
        out.on('error', () => undefined); // surfaced through write() / finished()
        chunks.push(chunk);
        await write(out, Buffer.concat(chunks, size));
        chunks.length = 0;
      } else {
        chunks.push(chunk);
      }
    }
    if (stream.truncated === true) throw tooLarge();
    if (out === undefined) return { data: Buffer.concat(chunks, size), size };
    out.end();
    await finished(out); // resolves once the descriptor is closed
    return { path: path as string, size };
  } catch (err) {
    if (out !== undefined) {
      out.destroy();
      await finished(out).catch(() => undefined);
    }
    if (path !== undefined) await removeTempFiles([path]).catch(() => undefined);
    throw err;
  }
}

async function write(out: WriteStream, chunk: Buffer): Promise<void> {
  if (out.errored) throw out.errored;
  if (!out.write(chunk)) await once(out, 'drain'); // rejects if the stream errors meanwhile
}

/** Delete temp files, ignoring ones already gone; tries all, then throws the first other failure. */
export async function removeTempFiles(paths: readonly string[]): Promise<void> {
  const results = await Promise.allSettled(paths.map((p) => unlink(p)));
  for (const r of results) {
    if (r.status === 'rejected' && (r.reason as NodeJS.ErrnoException).code !== 'ENOENT') throw r.reason;
  }
}
