import type { IncomingMessage } from 'node:http';
import { Transform, type TransformCallback } from 'node:stream';
import { ClientGoneError, HTTPError } from '../lib/errors.js';

export function tooLarge(limit: number): HTTPError {
  return new HTTPError(413, `Request body too large (limit ${limit} bytes)`, { Connection: 'close' });
}

/**
 * Read the whole request body, counting the bytes actually received (not
 * what Content-Length claims) and stopping past `limit` with a 413.
 */
export function readBody(req: IncomingMessage, limit: number, keep = true): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        done();
        req.pause();
        reject(tooLarge(limit));
        return;
      }
      if (keep) chunks.push(chunk);
    };
    const onEnd = (): void => { done(); resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)); };
    const onError = (err: Error): void => { done(); reject(new ClientGoneError(err)); };
    const onClose = (): void => { if (!req.complete) { done(); reject(new ClientGoneError()); } };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}

/** The body as a stream that fails with a 413 once more than `limit` bytes arrived. */
export function limitedBody(req: IncomingMessage, limit: number): Transform {
  let size = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback) {
      size += chunk.length;
      if (size > limit) {
        req.unpipe(counter);
        req.pause();
        cb(tooLarge(limit));
        return;
      }
      cb(null, chunk);
    },
  });
  req.on('error', (err) => counter.destroy(new ClientGoneError(err)));
  req.on('close', () => { if (!req.complete) counter.destroy(new ClientGoneError()); });
  req.pipe(counter);
  return counter;
}

/** Read and discard a body nobody read, so the connection can be reused — but never more than `limit` bytes. */
export async function drainBody(req: IncomingMessage, limit: number): Promise<void> {
  await readBody(req, limit, false);
}
