import type { IncomingMessage } from 'node:http';
import type { Http2ServerRequest } from 'node:http2';
import { Transform, type TransformCallback } from 'node:stream';
import { ClientGoneError, HTTPError } from '../lib/errors.js';
import { isH2 } from './h2-stream.js';

export function tooLarge(limit: number, onWire = false): HTTPError {
  const what = onWire ? ', chunk framing and extensions included' : '';
  return new HTTPError(413, `Request body too large (limit ${limit} bytes${what})`, { Connection: 'close' });
}

/**
 * How far past the limit the bytes read from the socket may go while a
 * chunked body arrives: node reads up to 64 KiB at a time, so the read that
 * ends a body may carry the start of the next pipelined request.
 */
const READ_AHEAD = 64 * 1024;

/** Where each chunked request's body began in its socket's byte count. */
const bodyStarts = new WeakMap<IncomingMessage, number>();

/**
 * Note where a chunked request's body begins on its socket, when the
 * request is taken up: node goes on parsing a body nobody reads yet (until
 * 16 KiB of data are buffered), and what it read then counts too.
 */
export function markChunkedBody(req: IncomingMessage): void {
  bodyStarts.set(req, req.socket.bytesRead);
}

/** The socket byte count a chunked body is counted from (now, if it was not marked); -1 for a body of declared length. */
function wireStart(req: IncomingMessage, chunked: boolean): number {
  return chunked ? (bodyStarts.get(req) ?? req.socket.bytesRead) : -1;
}

/**
 * For a chunked body, whether what the socket delivered since `start`
 * (data, chunk-size lines, chunk extensions) has gone past `limit`. node's
 * parser bounds an extension per chunk (16 KiB) but neither counts them
 * over a body nor shows them: the socket's byte count is what does.
 */
function wireExceeds(req: IncomingMessage, start: number, limit: number): boolean {
  return req.socket.bytesRead - start > limit + READ_AHEAD;
}

/**
 * A 415 for a body in a Content-Encoding other than identity: Drupe does
 * not decode request bodies, and reading one as if it were plain would
 * hand the handler compressed bytes as text. undefined when acceptable.
 */
export function undecodedEncoding(contentEncoding: string | undefined): HTTPError | undefined {
  if (contentEncoding === undefined) return undefined;
  for (const part of contentEncoding.split(',')) {
    const coding = part.trim().toLowerCase();
    if (coding !== '' && coding !== 'identity') {
      return new HTTPError(415, `Unsupported Content-Encoding '${coding}' of the request body (send it unencoded)`, { 'Accept-Encoding': 'identity' });
    }
  }
  return undefined;
}

/**
 * Read the whole request body, counting the bytes actually received (not
 * what Content-Length claims) and stopping past `limit` with a 413; a
 * `chunked` body also by what it took on the wire (`wireExceeds`).
 */
export function readBody(req: IncomingMessage, limit: number, chunked: boolean, keep = true): Promise<Buffer> {
  return readBodyAs(req, limit, chunked, keep, asIs);
}

/** The bytes as they are: `readBodyAs`'s `finish` for the raw body. */
export const asIs = (body: Buffer): Buffer => body;

/**
 * `readBody`, with `finish` turning the bytes into the result as the last
 * chunk arrives (what it throws rejects): a parser run there costs no
 * promise of its own between the socket and the code awaiting the value.
 */
export function readBodyAs<T>(req: IncomingMessage, limit: number, chunked: boolean, keep: boolean, finish: (body: Buffer) => T): Promise<T> {
  return new Promise((resolve, reject) => readBodyInto(req, limit, chunked, keep, { finish, done: resolve, failed: reject }));
}

/** Where a body read ends: `finish` makes the result of the bytes, then `done` or `failed` hears it, once. */
export interface BodySink<T> {
  finish(body: Buffer): T;
  done(value: T): void;
  failed(err: unknown): void;
}

/** `readBodyAs` for a caller with no promise to settle (json-wait.ts): the result goes to `sink`. */
export function readBodyInto<T>(req: IncomingMessage, limit: number, chunked: boolean, keep: boolean, sink: BodySink<T>): void {
  if (goneBeforeRead(req)) {
    sink.failed(new ClientGoneError());
    return;
  }
  // Most bodies arrive in one chunk: an array only from the second on.
  let first: Buffer | undefined;
  let more: Buffer[] | undefined;
  let size = 0;
  let ended = false;
  const start = wireStart(req, chunked);
  const onData = (chunk: Buffer): void => {
    size += chunk.length;
    if (size > limit || (start >= 0 && wireExceeds(req, start, limit))) {
      stopListening(req, onData, onOver);
      req.pause();
      sink.failed(tooLarge(limit, size <= limit));
      return;
    }
    if (!keep) return;
    if (first === undefined) first = chunk;
    else (more ??= [first]).push(chunk);
  };
  // 'end', 'error' and 'close' in one listener (one closure, not three): only 'error' passes an
  // argument, the client's connection failing; otherwise the body has ended, or the request closed first.
  const onOver = (err?: unknown): void => {
    if (err !== undefined) {
      stopListening(req, onData, onOver);
      sink.failed(new ClientGoneError(err));
    } else if (req.readableEnded) {
      if (ended) return; // the 'close' after 'end'
      ended = true;
      if (isH2(req)) setImmediate(finishUnlessReset, req, sink, first, more);
      else finishRead(sink, first, more);
    } else if (!req.complete) {
      stopListening(req, onData, onOver);
      sink.failed(new ClientGoneError());
    }
  };
  req.on('data', onData);
  req.on('end', onOver);
  req.on('error', onOver);
  req.on('close', onOver);
}

function finishRead<T>(sink: BodySink<T>, first: Buffer | undefined, more: Buffer[] | undefined): void {
  let out: T;
  try { out = sink.finish(more !== undefined ? Buffer.concat(more) : (first ?? Buffer.alloc(0))); } catch (e) { sink.failed(e); return; }
  sink.done(out);
}

/**
 * HTTP/2: node's compatibility request ends its body ('end') both on
 * END_STREAM and on a RST_STREAM in the middle of it; 'aborted' follows the
 * reset within the same read from the socket. So the body is known whole only
 * once that read is over (a `setImmediate`) and the request not aborted.
 */
function isResetMidBody(req: IncomingMessage): boolean {
  return (req as unknown as Partial<Http2ServerRequest>).aborted === true; // a runtime whose compatibility request lacks the flag reads as before
}

/**
 * The client left before anyone read its body: node destroyed an HTTP/1.x
 * request and dropped what it had buffered; an HTTP/2 request was reset
 * (and its body dumped). Listeners added now would wait for events that
 * already happened, and the reader would never settle.
 */
function goneBeforeRead(req: IncomingMessage): boolean {
  return req.destroyed || (isH2(req) && isResetMidBody(req));
}

function finishUnlessReset<T>(req: IncomingMessage, sink: BodySink<T>, first: Buffer | undefined, more: Buffer[] | undefined): void {
  if (isResetMidBody(req)) sink.failed(new ClientGoneError());
  else finishRead(sink, first, more);
}

/**
 * Only a read that stops early takes its listeners off: a body read to its end emits nothing more
 * they would act on (its 'close' comes after 'end' and settles nothing twice), and they go with the request.
 */
function stopListening(req: IncomingMessage, onData: (chunk: Buffer) => void, onOver: (err?: unknown) => void): void {
  req.off('data', onData);
  req.off('end', onOver);
  req.off('error', onOver);
  req.off('close', onOver);
}

/** The body as a stream that fails with a 413 once more than `limit` bytes arrived (counted as `readBody` does). */
export function limitedBody(req: IncomingMessage, limit: number, chunked: boolean): Transform {
  if (goneBeforeRead(req)) {
    const gone = new Transform();
    gone.destroy(new ClientGoneError());
    return gone;
  }
  let size = 0;
  const start = wireStart(req, chunked);
  const counter = new Transform({
    transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback) {
      size += chunk.length;
      if (size > limit || (start >= 0 && wireExceeds(req, start, limit))) {
        req.unpipe(counter);
        req.pause();
        cb(tooLarge(limit, size <= limit));
        return;
      }
      cb(null, chunk);
    },
    // The stream's end is its reader's word that the body was whole: on HTTP/2, not before a reset could follow it (`isResetMidBody`).
    flush: isH2(req) ? (cb: TransformCallback) => setImmediate(() => cb(isResetMidBody(req) ? new ClientGoneError() : null)) : undefined,
  });
  req.on('error', (err) => counter.destroy(new ClientGoneError(err)));
  req.on('close', () => { if (!req.complete) counter.destroy(new ClientGoneError()); });
  req.pipe(counter);
  return counter;
}

/** Read and discard a chunked body nobody read, so the connection can be reused — but never more than `limit` bytes. */
export async function drainBody(req: IncomingMessage, limit: number): Promise<void> {
  await readBody(req, limit, true, false);
}
