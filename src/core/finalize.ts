import { Buffer } from 'node:buffer';
import { bufferedShape, JsonBody, shapeOf, type BodyShape, type ChunkSource, type Encode } from '../body/body.js';
import { CONTENT_TYPE, kFraming, type Headers } from '../http/headers.js';
import { declaredLength, type Ready } from '../http/writer.js';
import { DrupeError } from '../lib/errors.js';
import { charsetOf, encodingFor } from '../lib/media-type.js';
import { isThenable } from '../lib/thenable.js';
import { isBodyless } from '../lib/status.js';
import type { RequestContext } from './request-context.js';

/**
 * Turn the body into something the writer can send. Buffered: all of it
 * now (B1). Streamed: the first chunk, so that nothing is committed before
 * the producer has shown it works (S1).
 */
export function finalize(ctx: RequestContext): Ready | Promise<Ready> {
  const { response } = ctx;
  if (response.status < 200) {
    // node would send it as an interim head, and the client would take the next response for this one's.
    throw new DrupeError('DRUPE_ERR_INVALID_STATUS', `Status ${response.status} is an interim (1xx) status, not a final one: use 200-599`);
  }
  // The common case, a UTF-8 string: no shaping, no encoding here, no promise.
  if (typeof response.body === 'string' && !response.committed && (response.headers.size === 0 || encoderForType(response.headers.get('content-type')) === utf8)) {
    return { kind: 'bytes', data: response.body };
  }
  // json(value) with no Content-Type of the handler's: JSON text is UTF-8, sent as a string the same way.
  if (response.body instanceof JsonBody && !response.committed && (response.headers[kFraming] & CONTENT_TYPE) === 0) {
    const data = JSON.stringify(response.body.value) ?? 'null';
    // No header at all, and no hook left to read them: the type goes into the writer's one-literal head, with no header map.
    const hooks = ctx.plan?.hooks;
    if (response.headers.size === 0 && !isBodyless(response.status) && !hooks?.on_end_resource && !hooks?.on_end_request) return { kind: 'bytes', data, type: 'application/json' };
    response.headers.set('Content-Type', 'application/json');
    return { kind: 'bytes', data };
  }
  return finalizeShaped(ctx);
}

const NO_MORE: ChunkSource = { next: () => null, close: () => undefined };

/**
 * Not async: a body whose shape and first chunk are at hand (a generator, a
 * string or bytes in an unusual charset) is ready at once, with no promise
 * for the pipeline to wait on — and no suspended frame while it would.
 */
function finalizeShaped(ctx: RequestContext): Ready | Promise<Ready> {
  const shaped = shapeOf(ctx.response.body, ctx, encoderFor(ctx.response.headers));
  return isThenable(shaped) ? Promise.resolve(shaped).then((shape) => readyFor(ctx, shape)) : readyFor(ctx, shaped);
}

function readyFor(ctx: RequestContext, shape: BodyShape): Ready | Promise<Ready> {
  const { response } = ctx;
  if (shape.kind === 'bytes' && response.committed) return { kind: 'stream', source: NO_MORE, first: shape.data };
  if (shape.kind === 'bytes') {
    if (shape.json && (response.headers[kFraming] & CONTENT_TYPE) === 0) response.headers.set('Content-Type', 'application/json');
    return { kind: 'bytes', data: shape.data };
  }
  if (shape.length !== undefined && !response.stream) {
    // A body of known length (a file) goes out as it is read, never whole in memory (B7).
    response.headers.set('Content-Length', shape.length);
    return { kind: 'stream', source: shape.source, first: undefined };
  }
  if (!response.stream) return bufferedShape(shape.source, ctx.plan!.settings.maxBuffered);
  ctx.streamed = true;
  declaredLength(ctx); // a malformed Content-Length is a 500 now, while an error page can still be sent
  // HEAD too runs the producer to its commit point, so its status and headers are GET's (S7).
  const policy = ctx.plan!.settings.streamCommit;
  const source = shape.source;
  if (policy === 'immediately') return { kind: 'stream', source, first: undefined };
  const first = source.next();
  if (!isThenable(first)) return { kind: 'stream', source, first };
  if (policy === 'first-chunk') return first.then((chunk) => ({ kind: 'stream', source, first: chunk }));
  return raceFirstChunk(source, first, policy);
}

/** `response.stream_commit: N`: wait up to N ms for the first chunk, then commit anyway. */
async function raceFirstChunk(source: ChunkSource, first: Promise<Buffer | null>, ms: number): Promise<Ready> {
  let timer: NodeJS.Timeout | undefined;
  const late = Symbol('late');
  let winner: Buffer | null | typeof late;
  try {
    winner = await Promise.race([first, new Promise<typeof late>((resolve) => { timer = setTimeout(resolve, ms, late); })]);
  } finally {
    clearTimeout(timer); // a generator that throws must not leave the timer running
  }
  if (winner !== late) return { kind: 'stream', source, first: winner };
  first.catch(() => undefined); // handled by the writer once committed
  return { kind: 'stream', source, first };
}

/**
 * How strings become bytes: the charset of the response's Content-Type
 * (UTF-8 by default), looked up when each string is encoded, so a
 * Content-Type a generator sets before it yields applies to what it yields (B3).
 * Two closures over one context, no helper closure: a streamed response
 * keeps its encoder for as long as it streams.
 */
function encoderFor(headers: Headers): Encode {
  let type: string | undefined | null = null; // null: not looked up yet
  let encode: Encode = utf8;
  const encoder: Encode = (s) => {
    // No Content-Type of the handler's yet: the default's charset, UTF-8, with no lookup.
    if ((headers[kFraming] & CONTENT_TYPE) === 0) return utf8(s);
    const t = headers.get('content-type');
    if (t !== type) encode = encoderForType((type = t));
    return encode(s);
  };
  // For the writer: UTF-8 text left a string, which node encodes as it writes.
  encoder.text = (s) => {
    if ((headers[kFraming] & CONTENT_TYPE) === 0) return s;
    const t = headers.get('content-type');
    if (t !== type) encode = encoderForType((type = t));
    return encode === utf8 ? s : encode(s);
  };
  return encoder;
}

function encoderForType(contentType: string | undefined): Encode {
  const charset = charsetOf(contentType);
  if (charset === undefined || charset === 'utf-8' || charset === 'utf8') return utf8;
  const enc = encodingFor(charset);
  if (enc === undefined) throw new DrupeError('DRUPE_ERR_CHARSET', `Cannot encode the response in charset '${charset}'`);
  return (s) => Buffer.from(s, enc);
}

const utf8: Encode = (s) => Buffer.from(s, 'utf8');
